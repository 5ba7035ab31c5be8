"""The embedded store read without MLflow (:mod:`predmaint.models.local_store`) answers what
MLflow's client answers, and ``predmaint infer`` follows every alias move without importing
MLflow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from predmaint.features.job import build_features
from predmaint.models import compiled_cache, drift_reference, local_store
from predmaint.models.registry import act_with_evidence, promote, register, rollback
from predmaint.models.tracking import CHALLENGER, CHAMPION, PREVIOUS_CHAMPION
from predmaint.models.training import train_model
from predmaint.models.versions import champion_info
from predmaint.settings import Settings
from tests.support.fresh_interpreter import infer_script, run_python
from tests.support.project import DAY, FAST, make_settings

WEAK = {"rf_n_estimators": 1, "rf_max_depth_grid": [1], "cv_folds": 2}
#: ``predmaint infer`` in a fresh interpreter; reports which of MLflow's stack it imported.
INFER = infer_script(("mlflow", "sqlalchemy", "alembic"))


@pytest.fixture
def two_versions(tmp_path: Path) -> tuple[Settings, str, str]:
    """v1 (weak) promoted, then v2 (good) promoted over it: v1 is previous-champion."""
    settings = make_settings(tmp_path / "home", models=["random_forest"], **FAST)
    features = build_features(settings, DAY).features_path
    numbers = []
    for overrides in (WEAK, {}):
        candidate = train_model(settings.model_copy(update=overrides), "random_forest", features)
        versions = register(settings, [candidate])
        promote(settings, [candidate], versions)
        numbers.append(versions[candidate.run_id])
    assert champion_info(settings).version == numbers[1]
    return settings, numbers[0], numbers[1]


def _through_mlflow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_store, "store_file", lambda _settings: None)


def test_the_store_read_directly_agrees_with_mlflow(
    two_versions: tuple[Settings, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, v1, v2 = two_versions
    wanted = [(CHAMPION, None), (PREVIOUS_CHAMPION, None), (CHAMPION, v1), (CHAMPION, v2)]
    # the direct read answers each (not a silent fallback to MLflow)
    for alias, version in wanted:
        assert local_store.read_version(settings, alias, version) is not None, (alias, version)
    direct = [champion_info(settings, alias, version) for alias, version in wanted]
    info = direct[0]
    folder = local_store.version_artifacts(settings, info.version)
    run_folder = local_store.run_artifacts(settings, info.run_id)
    assert folder is not None and run_folder is not None
    digests = compiled_cache.version_digests(settings, info)
    reference = drift_reference.load_drift_reference(settings, info)
    # when MLflow's client answers instead
    _through_mlflow(monkeypatch)
    assert [champion_info(settings, alias, version) for alias, version in wanted] == direct
    assert compiled_cache.version_digests(settings, info) == digests is not None
    from_mlflow = drift_reference.load_drift_reference(settings, info)
    assert reference is not None and from_mlflow is not None
    assert reference.to_dict() == from_mlflow.to_dict()


def test_an_unknown_alias_or_schema_is_answered_by_mlflow(
    two_versions: tuple[Settings, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, _v1, v2 = two_versions
    assert local_store.read_version(settings, CHALLENGER, None) is None  # no such alias
    assert local_store.read_version(settings, None, "99") is None
    monkeypatch.setattr(local_store, "SCHEMA_REVISION", "0123456789ab")
    assert local_store.read_version(settings, CHAMPION, None) is None
    assert champion_info(settings).version == v2, "MLflow answered"


def _infer(settings: Settings) -> tuple[dict[str, object], dict[str, object]]:
    answer = run_python(settings, INFER, "infer", "--date", DAY.isoformat(), "--rows", "500")
    report = settings.predictions_dir / f"ds={DAY.isoformat()}" / "report.json"
    return answer, json.loads(report.read_text())


def test_infer_follows_rollback_and_promotion_without_importing_mlflow(
    two_versions: tuple[Settings, str, str],
) -> None:
    settings, v1, v2 = two_versions
    answer, report = _infer(settings)  # compiles v2 and caches it (MLflow loads the pyfunc)
    assert answer["exit"] == 0 and report["model_version"] == v2
    answer, report = _infer(settings)  # a warm cache: the process needs nothing of MLflow
    assert (answer, report["model_version"]) == ({"exit": 0, "loaded": []}, v2)
    assert report["drift"] is not None, "the drift reference was found"
    # when the champion is rolled back, the next process scores with v1
    rollback(settings, reason="test")
    answer, report = _infer(settings)
    assert answer["exit"] == 0 and report["model_version"] == v1
    answer, report = _infer(settings)
    assert (answer, report["model_version"]) == ({"exit": 0, "loaded": []}, v1)
    # and when v2 is promoted again, with v2
    act_with_evidence(settings, "promote", "test", {}, to_version=v2)
    answer, report = _infer(settings)
    assert (answer, report["model_version"]) == ({"exit": 0, "loaded": []}, v2)
