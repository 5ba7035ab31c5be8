"""Shared fixtures: the real dataset from ../shared, tmp project homes, a real MLflow store.

Nothing here is mocked: ``trained_home`` runs the real feature job and trains the real models
into a SQLite MLflow store in a temporary folder, once per test session. The constants and
factories behind them (``DAY``, ``FAST``, ``make_settings``) are in :mod:`tests.support.project`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

from predmaint.settings import Settings
from tests.support.project import DAY, FAST, SHARED_DATA, make_settings

if TYPE_CHECKING:
    from tests.support.recording_api import RecordingApi

warnings.filterwarnings("ignore", category=UserWarning, module="mlflow")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
# MLflow's telemetry thread mutates os.environ while other threads read it (a KeyError in
# `requests`): off in every test process, as in the Makefile and the images.
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["DO_NOT_TRACK"] = "true"
# Tests must never read a developer's .env or a tracking server from the environment.
for _name in list(os.environ):
    if _name.startswith("PREDMAINT_") or _name == "MLFLOW_TRACKING_URI":
        del os.environ[_name]


@pytest.fixture(autouse=True)
def _isolated_mlflow_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """``mlflow.set_tracking_uri`` exports MLFLOW_TRACKING_URI; without this, a test's store would
    leak into the next test's ``Settings()`` (which honours that variable)."""
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def raw_csv() -> Path:
    assert SHARED_DATA.is_file(), (
        f"the real dataset is expected at {SHARED_DATA} (../shared/data/ai4i2020.csv)"
    )
    return SHARED_DATA


@pytest.fixture(scope="session")
def raw_frame(raw_csv: Path) -> pd.DataFrame:
    from predmaint.data.acquire import read_ai4i

    return read_ai4i(raw_csv)


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    def factory(**overrides: Any) -> Settings:
        return make_settings(tmp_path / "home", **overrides)

    return factory


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A project home with features for DAY and a champion trained with default settings.

    Session-scoped and shared: tests must not move its aliases (use ``fresh_trained`` for that).
    """
    from predmaint.features.job import build_features
    from predmaint.workflow import train_and_promote

    settings = make_settings(tmp_path_factory.mktemp("trained"))
    result = build_features(settings, DAY)
    train_and_promote(settings, DAY, result.features_path)
    return settings


@pytest.fixture(scope="module")
def recording_api(
    trained_home: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RecordingApi]:
    """``predmaint serve`` (a subprocess) on ``trained_home``'s champion with an API key and a
    data folder of its own, one per test module: :mod:`tests.support.recording_api`."""
    from tests.support.recording_api import serve_recording

    root = tmp_path_factory.mktemp("recording-api")
    with serve_recording(trained_home.home, root / "data", root / "server.log") as api:
        yield api


@pytest.fixture
def scoring_home(trained_home: Settings, tmp_path: Path) -> Settings:
    """The shared champion and challenger (aliases untouched), with this test's own data folder."""
    return trained_home.model_copy(update={"data_dir": tmp_path / "data"})


@pytest.fixture
def fresh_trained(tmp_path: Path) -> Settings:
    """A private project home with a quickly trained champion (random forest only)."""
    from predmaint.features.job import build_features
    from predmaint.workflow import train_and_promote

    settings = make_settings(tmp_path / "home", models=["random_forest"], **FAST)
    result = build_features(settings, DAY)
    train_and_promote(settings, DAY, result.features_path)
    return settings
