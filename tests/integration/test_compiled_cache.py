"""The compiled cache on a real registry: a version is compiled once, later processes score
with the cached ONNX models (pipeline and failure-mode model) without loading the pyfunc or
importing scikit-learn, and an entry that does not prove itself (bytes changed, probe not
reproduced, older format) is never used."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.models.compiled import ONNX_RUNTIME, PARITY_TOLERANCE, OnnxScorer
from predmaint.models.compiled_cache import cache_dir
from predmaint.models.loading import load_model, load_version
from predmaint.models.mode_scorer import compile_modes
from predmaint.models.tracking import CHALLENGER
from predmaint.models.versions import champion_info
from predmaint.settings import Settings
from tests.support.fresh_interpreter import MARKER, infer_script, run_python
from tests.support.project import DAY

#: What a batch process with a warm cache has no use for (scikit-learn and the pyfunc's
#: deserialiser, the ONNX converter).
NOT_NEEDED = ("sklearn", "skops", "skl2onnx")
#: Runs ``predmaint infer`` in this interpreter, then prints which unneeded packages it imported.
CHECK_INFER = infer_script(NOT_NEEDED)
#: Scores the AI4I file with the challenger loaded from the cache, in a fresh interpreter.
CHECK_CHALLENGER = f"""
import json, sys
import numpy as np
from predmaint.data.acquire import read_ai4i
from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.models.loading import load_version
from predmaint.models.versions import champion_info
from predmaint.settings import Settings
settings = Settings()
challenger = load_version(settings, champion_info(settings, "challenger"))
sensors = read_ai4i(sys.argv[1])[list(SENSOR_COLUMNS)].to_numpy(np.float64)
probability = challenger.bulk_failure_probability(sensors)
np.save(sys.argv[2], probability)
loaded = sorted({{name.split(".")[0] for name in sys.modules}} & set({NOT_NEEDED!r}))
print({MARKER!r} + json.dumps({{"from_cache": challenger.compiled.from_cache,
    "runtime": challenger.scorer.runtime, "threshold": challenger.threshold, "loaded": loaded}}))
"""


def entry(settings: Settings, suffix: str) -> Path:
    """The cache's one file ending in ``suffix`` (``.onnx``: the pipeline's, not the modes')."""
    found = cache_dir(settings).glob(f"*{suffix}")
    (path,) = [p for p in found if suffix.startswith("-") or not p.stem.endswith("-modes")]
    return path


def assert_refused_and_rewritten(settings: Settings, path: Path) -> None:
    """An entry file whose bytes changed: refused, compiled again, rewritten, then used."""
    corrupted = path.read_bytes()[:-10] + b"0123456789"
    path.write_bytes(corrupted)
    assert not load_model(settings).compiled.from_cache
    assert path.read_bytes() != corrupted
    assert load_model(settings).compiled.from_cache, "rewritten and used again"


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
    assert_refused_and_rewritten(fresh_trained, onnx)
    # a probe it does not reproduce (another model's answers): refused too
    recorded = json.loads(meta.read_text())
    meta.write_text(json.dumps(recorded | {"probe_probability": [0.5] * 2000}))
    assert not load_model(fresh_trained).compiled.from_cache
    assert load_model(fresh_trained).compiled.from_cache, "rewritten and used again"


def test_a_batch_process_with_a_warm_cache_imports_no_scikit_learn(
    fresh_trained: Settings,
) -> None:
    # given a champion whose compiled forms (pipeline and mode model) a first process cached
    first = load_model(fresh_trained)
    assert first.mode_scorer is not None, "the champion was trained with a mode model"
    assert first.mode_scorer.runtime == ONNX_RUNTIME
    # when a later `predmaint infer` process scores a day
    answer = run_python(
        fresh_trained, CHECK_INFER, "infer", "--date", DAY.isoformat(), "--rows", "2000"
    )
    # then it scored it without importing scikit-learn, skops or skl2onnx
    assert answer["exit"] == 0, answer
    assert answer["loaded"] == [], f"a warm batch process imported {answer['loaded']}"


def test_the_mode_model_is_cached_beside_the_pipeline_and_proves_itself(
    fresh_trained: Settings, raw_frame: pd.DataFrame
) -> None:
    sensors = raw_frame[list(SENSOR_COLUMNS)].to_numpy(np.float64)[:3000]
    # given a champion compiled once: its mode model, compiled from the pipeline
    first = load_model(fresh_trained)
    assert not first.compiled.from_cache
    expected = compile_modes(first.pyfunc.unwrap_python_model().modes).best_many(sensors)
    modes_onnx, meta = entry(fresh_trained, "-modes.onnx"), entry(fresh_trained, ".json")
    # when a later process loads it: the mode model comes from the cache, without the pyfunc
    later = load_model(fresh_trained)
    assert later.compiled.from_cache and later.mode_scorer is not None
    assert later.mode_scorer.pipeline is None and "pyfunc" not in vars(later)
    codes, probability = later.mode_scorer.best_many(sensors)
    np.testing.assert_array_equal(codes, expected[0])
    np.testing.assert_allclose(probability, expected[1], rtol=0, atol=1e-6)
    # an entry whose mode model's bytes changed is refused, compiled again and rewritten
    assert_refused_and_rewritten(fresh_trained, modes_onnx)
    # so is one whose recorded mode answers the ONNX model does not reproduce
    recorded = json.loads(meta.read_text())
    wrong = np.full((2000, len(recorded["modes"]["classes"])), 0.25).tolist()
    modes_meta = recorded["modes"] | {"probe_probability": wrong}
    meta.write_text(json.dumps(recorded | {"modes": modes_meta}))
    assert not load_model(fresh_trained).compiled.from_cache
    # and one that says the version has no mode model (it has one)
    meta.write_text(json.dumps(recorded | {"modes": None}))
    assert not load_model(fresh_trained).compiled.from_cache
    # and an entry of the format before the mode model was kept
    meta.write_text(json.dumps({k: v for k, v in recorded.items() if k not in ("format", "modes")}))
    assert not load_model(fresh_trained).compiled.from_cache
    assert load_model(fresh_trained).compiled.from_cache, "rewritten and used again"


def test_a_cache_hit_attaches_the_tree_code_without_running_the_pipelines(
    fresh_trained: Settings, raw_frame: pd.DataFrame
) -> None:
    rows = raw_frame[list(SENSOR_COLUMNS)].to_numpy(np.float64)[:500]
    load_model(fresh_trained).compiled  # noqa: B018  (writes the entry)
    # given a version loaded from the cache, with its pyfunc (the API loads it for its trees)
    loaded = load_model(fresh_trained)
    assert loaded.compiled.from_cache
    classifier = loaded.pyfunc.unwrap_python_model()
    expected = classifier.pipeline.predict_proba(rows)[:, 1]
    expected_modes = compile_modes(classifier.modes).probabilities(rows)
    # whose pipelines can no longer score (a forest told to expect 99 features refuses to)
    for pipeline in (classifier.pipeline, classifier.modes):
        pipeline.steps[-1][1].n_features_in_ = 99
    with pytest.raises(ValueError, match="99"):
        classifier.pipeline.predict_proba(rows)
    # when the tree code is attached for single readings
    loaded.attach_tree_code()
    # then it was checked against the probe answers the entry recorded, and answers right
    scorer, modes = loaded.scorer, loaded.mode_scorer
    assert isinstance(scorer, OnnxScorer)
    assert scorer.single is not None and "tree code" in scorer.detail, scorer.detail
    assert modes is not None
    assert modes.single is not None, modes.single_detail
    one = np.array([scorer.probability_one(row) for row in rows.tolist()])
    np.testing.assert_allclose(one, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(
        [modes.single(*row) for row in rows.tolist()], expected_modes, rtol=0, atol=1e-6
    )


@pytest.mark.slow
def test_the_shadow_challenger_scores_compiled_from_the_cache_without_scikit_learn(
    trained_home: Settings, raw_csv: Path, raw_frame: pd.DataFrame, tmp_path: Path
) -> None:
    # given a challenger (the calibrated SVM) that a first process compiled and cached
    info = champion_info(trained_home, CHALLENGER)
    first = load_version(trained_home, info)
    assert first.scorer.runtime == ONNX_RUNTIME, first.scorer.detail
    # when a later process scores the AI4I file with it in bulk
    out = tmp_path / "challenger.npy"
    answer = run_python(trained_home, CHECK_CHALLENGER, str(raw_csv), str(out))
    # then it came from the cache, compiled, without scikit-learn, skops or skl2onnx
    assert answer["from_cache"] and answer["runtime"] == ONNX_RUNTIME, answer
    assert answer["loaded"] == [], f"the challenger's scoring imported {answer['loaded']}"
    assert answer["threshold"] == first.threshold
    # and agrees with the pyfunc within the compiled form's parity bound
    gap = np.abs(np.load(out) - first.failure_probability(raw_frame))
    assert float(gap.max()) <= PARITY_TOLERANCE, f"{info.model_type}: {gap.max():.3g}"
