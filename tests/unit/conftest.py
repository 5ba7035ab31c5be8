"""Fixtures of the API's in-process tests: a small compiled model, and apps that serve it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline

from predmaint.api.holder import ServedModel
from predmaint.api.main import create_app
from predmaint.data.columns import SENSOR_COLUMNS, TARGET
from predmaint.features.transformer import PhysicsFeatures
from predmaint.models.compiled import ONNX_RUNTIME, compile_pipeline
from predmaint.models.mode_scorer import compile_modes
from predmaint.models.modes import fit_mode_model
from predmaint.models.versions import ModelVersion
from tests.support.project import make_settings


@pytest.fixture(scope="module")
def served(raw_frame: pd.DataFrame) -> ServedModel:
    """A small compiled forest wrapped as the holder would wrap a registered version."""
    x = raw_frame[list(SENSOR_COLUMNS)].to_numpy(np.float64)
    forest = RandomForestClassifier(n_estimators=10, max_depth=8, random_state=0, n_jobs=1)
    pipeline = Pipeline([("features", PhysicsFeatures()), ("model", forest)])
    pipeline.fit(x, raw_frame[TARGET].to_numpy(int))
    info = ModelVersion("m", "champion", "7", "run", "random_forest", 0.3, {"f1": 0.9}, "src", "t")
    scorer = compile_pipeline(pipeline)
    assert scorer.runtime == ONNX_RUNTIME
    return ServedModel(info, scorer, 0.3, "t", compile_modes(fit_mode_model(raw_frame, seed=0)))


@pytest.fixture
def app_factory(served: ServedModel, tmp_path: Path) -> Callable[..., object]:
    """``create_app`` on a temporary home (settings overridable), serving ``served``."""

    def build(**overrides: Any) -> object:
        app = create_app(make_settings(tmp_path / "home", **overrides))
        app.state.holder.current = served
        return app

    return build
