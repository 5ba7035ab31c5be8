"""Compiled model vs scikit-learn on the whole AI4I dataset, for the versions the API may serve.

The champion must run compiled (ONNX Runtime) and agree with its scikit-learn pipeline within
1e-5 on every one of the 10,000 readings, with the same predictions at its threshold. Any other
registered version is either compiled with the same guarantee or served by scikit-learn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.models.compiled import (
    ONNX_RUNTIME,
    PARITY_TOLERANCE,
    PipelineScorer,
    bulk_probability,
    compile_pipeline,
)
from predmaint.models.loading import load_version
from predmaint.models.versions import champion_info
from predmaint.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dataset(raw_frame: pd.DataFrame) -> np.ndarray:
    return raw_frame[list(SENSOR_COLUMNS)].astype(float).to_numpy()


@pytest.mark.parametrize("alias", ["champion", "challenger"])
def test_compiled_matches_sklearn_on_the_whole_dataset(
    trained_home: Settings, dataset: np.ndarray, alias: str
) -> None:
    # given a registered version and its scikit-learn pipeline
    info = champion_info(trained_home, alias)
    loaded = load_version(trained_home, info)
    classifier = loaded.pyfunc.unwrap_python_model()
    reference = PipelineScorer(classifier.pipeline).probability(dataset)
    # when it is compiled as the API compiles it
    scorer = compile_pipeline(classifier.pipeline)
    if alias == "champion":
        assert scorer.runtime == ONNX_RUNTIME, f"the champion must run compiled: {scorer.detail}"
    got = bulk_probability(scorer, dataset, workers=2, chunk=2500)
    # then every probability agrees within 1e-5, and so does every prediction
    assert len(got) == len(dataset) == 10_000
    gap = np.abs(got - reference)
    assert gap.max() <= PARITY_TOLERANCE, (scorer.runtime, float(gap.max()), int(gap.argmax()))
    threshold = classifier.threshold
    flipped = np.flatnonzero((got >= threshold) != (reference >= threshold))
    assert flipped.size == 0, f"{flipped.size} predictions differ, first rows {flipped[:5]}"
    one = [scorer.probability_one(row) for row in dataset[:200].tolist()]
    assert np.max(np.abs(np.asarray(one) - reference[:200])) <= PARITY_TOLERANCE
