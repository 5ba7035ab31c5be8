"""The compiled cache on a real registry: a version is compiled once, later processes score
with the cached ONNX model without loading the pyfunc, and an entry that does not prove itself
(bytes changed, probe not reproduced) is never used."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.models.compiled import ONNX_RUNTIME
from predmaint.models.compiled_cache import cache_dir
from predmaint.models.loading import load_model
from predmaint.settings import Settings


def entry(settings: Settings, suffix: str) -> Path:
    (path,) = cache_dir(settings).glob(f"*{suffix}")
    return path


def test_a_version_is_compiled_once_then_served_from_the_cache(
    fresh_trained: Settings, raw_frame: pd.DataFrame
) -> None:
    sensors = raw_frame[list(SENSOR_COLUMNS)].to_numpy(np.float64)
    # given a first process that compiles the champion
    first = load_model(fresh_trained)
    assert not first.compiled.from_cache and first.scorer.runtime == ONNX_RUNTIME
    expected = first.bulk_failure_probability(sensors)
    # when a later process loads it
    later = load_model(fresh_trained)
    probability = later.bulk_failure_probability(sensors)
    # then it scores from the cache, the same probabilities and threshold, without the pyfunc
    assert later.compiled.from_cache
    assert "pyfunc" not in vars(later), "the pyfunc was loaded"
    np.testing.assert_array_equal(probability, expected)
    assert later.threshold == float(first.pyfunc.unwrap_python_model().threshold)
    pyfunc = first.failure_probability(raw_frame)
    assert float(np.max(np.abs(probability - pyfunc))) < 1e-5


def test_an_entry_that_does_not_prove_itself_is_compiled_again(fresh_trained: Settings) -> None:
    load_model(fresh_trained).compiled  # noqa: B018  (writes the entry)
    onnx, meta = entry(fresh_trained, ".onnx"), entry(fresh_trained, ".json")
    # bytes changed: refused, compiled again, and the entry rewritten
    corrupted = onnx.read_bytes()[:-10] + b"0123456789"
    onnx.write_bytes(corrupted)
    assert not load_model(fresh_trained).compiled.from_cache
    assert onnx.read_bytes() != corrupted
    assert load_model(fresh_trained).compiled.from_cache, "rewritten and used again"
    # a probe it does not reproduce (another model's answers): refused too
    recorded = json.loads(meta.read_text())
    meta.write_text(json.dumps(recorded | {"probe_probability": [0.5] * 2000}))
    assert not load_model(fresh_trained).compiled.from_cache
    assert load_model(fresh_trained).compiled.from_cache, "rewritten and used again"
