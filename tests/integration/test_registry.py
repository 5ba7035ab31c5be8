"""Promotion keeps a better champion and replaces a worse one; rollback in both directions."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from predmaint.data.simulate import simulate_readings
from predmaint.errors import ModelNotFoundError
from predmaint.features.job import build_features
from predmaint.models.candidates import CandidateRun
from predmaint.models.registry import (
    check_champion,
    history,
    promote,
    register,
    rollback,
)
from predmaint.models.tracking import CHALLENGER, CHAMPION, PREVIOUS_CHAMPION
from predmaint.models.training import train_model
from predmaint.models.versions import champion_info
from predmaint.settings import Settings
from tests.support.project import DAY, FAST, make_settings

WEAK = {"rf_n_estimators": 1, "rf_max_depth_grid": [1], "cv_folds": 2}


def _aliases(settings: Settings) -> dict[str, str]:
    model = MlflowClient(settings.resolved_tracking_uri).get_registered_model(settings.model_name)
    return {alias: str(version) for alias, version in model.aliases.items()}


def _train(settings: Settings, features: Path, **overrides: object) -> CandidateRun:
    tuned = settings.model_copy(update=overrides)
    return train_model(tuned, "random_forest", features)


def _round(settings: Settings, candidate: CandidateRun):
    versions = register(settings, [candidate])
    return versions[candidate.run_id], promote(settings, [candidate], versions)


@pytest.fixture
def home(tmp_path: Path) -> tuple[Settings, Path]:
    settings = make_settings(tmp_path / "home", models=["random_forest"], **FAST)
    return settings, build_features(settings, DAY).features_path


def test_a_better_candidate_replaces_a_worse_champion(home: tuple[Settings, Path]) -> None:
    settings, features = home
    weak_version, first = _round(settings, _train(settings, features, **WEAK))
    assert first.action == "promoted" and "no champion yet" in first.reason
    good = _train(settings, features)
    good_version, second = _round(settings, good)
    assert second.action == "promoted"
    assert "re-scored on the same test data" in second.reason
    assert _aliases(settings) == {CHAMPION: good_version, PREVIOUS_CHAMPION: weak_version}
    rescored = second.scores[f"champion_v{weak_version}_f1_rescored"]
    assert good.metrics["f1"] > rescored
    tags = (
        MlflowClient(settings.resolved_tracking_uri)
        .get_model_version(settings.model_name, weak_version)
        .tags
    )
    assert tags["last_decision"] == "demoted"


def test_a_worse_candidate_does_not_replace_a_better_champion(home: tuple[Settings, Path]) -> None:
    settings, features = home
    good_version, _ = _round(settings, _train(settings, features))
    weak = _train(settings, features, **WEAK)
    weak_version, decision = _round(settings, weak)
    assert decision.action == "kept"
    assert decision.champion_version == good_version
    assert _aliases(settings) == {CHAMPION: good_version, CHALLENGER: weak_version}
    events = [(e.version, e.action) for e in history(settings)]
    assert (good_version, "kept") in events and (weak_version, "challenger") in events


def test_the_margin_protects_the_champion(home: tuple[Settings, Path]) -> None:
    settings, features = home
    weak_version, _ = _round(settings, _train(settings, features, **WEAK))
    strict = settings.model_copy(update={"promotion_margin": 0.99})
    good = _train(strict, features)
    versions = register(strict, [good])
    decision = promote(strict, [good], versions)
    assert decision.action == "kept" and "margin 0.99" in decision.reason
    assert _aliases(settings)[CHAMPION] == weak_version


def _blind_to_power_failures(settings: Settings, features: Path, tmp: Path) -> Path:
    """Features without any power-failure row: a model trained on them cannot know PWF."""
    frame = pd.read_parquet(features)
    path = tmp / "no_pwf.parquet"
    frame[frame["pwf"] == 0].to_parquet(path, index=False)
    return path


@pytest.fixture
def degraded(home: tuple[Settings, Path], tmp_path: Path) -> tuple[Settings, str, str]:
    """Champion: a model that never saw a power failure (high registered F1 on its own test
    split); previous champion: a model trained on all the data."""
    settings, features = home
    good_version, _ = _round(settings, _train(settings, features))
    blind = train_model(
        settings, "random_forest", _blind_to_power_failures(settings, features, tmp_path)
    )
    blind_version = register(settings, [blind])[blind.run_id]
    client = MlflowClient(settings.resolved_tracking_uri)
    client.set_registered_model_alias(settings.model_name, CHAMPION, blind_version)
    client.set_registered_model_alias(settings.model_name, PREVIOUS_CHAMPION, good_version)
    return settings, good_version, blind_version


FRESH = simulate_readings(4000, date(2026, 12, 1), labels=True)


def test_check_rolls_back_a_degraded_champion(degraded: tuple[Settings, str, str]) -> None:
    settings, good_version, blind_version = degraded
    decision = check_champion(settings, FRESH, "a simulated day")
    assert decision.action == "rolled-back", decision.reason
    assert decision.champion_version == good_version
    assert decision.scores[f"champion_v{blind_version}_f1"] < (
        decision.scores[f"champion_v{blind_version}_registered_f1"] - settings.rollback_tolerance
    )
    assert champion_info(settings).version == good_version
    events = {(e.version, e.action): e.reason for e in history(settings)}
    assert "a simulated day" in events[(blind_version, "rolled-back")]
    assert (good_version, "restored") in events


def test_check_keeps_a_healthy_champion(home: tuple[Settings, Path]) -> None:
    settings, features = home
    version, _ = _round(settings, _train(settings, features))
    decision = check_champion(settings, FRESH, "a simulated day")
    assert decision.action == "none", decision.reason
    assert champion_info(settings).version == version


def test_check_alerts_when_the_previous_champion_is_no_better(
    degraded: tuple[Settings, str, str],
) -> None:
    settings, _, blind_version = degraded
    client = MlflowClient(settings.resolved_tracking_uri)
    client.set_registered_model_alias(settings.model_name, PREVIOUS_CHAMPION, blind_version)
    decision = check_champion(settings, FRESH, "a simulated day")
    assert decision.action == "alert" and "retrain" in decision.reason
    assert champion_info(settings).version == blind_version


def test_manual_rollback_and_its_errors(degraded: tuple[Settings, str, str]) -> None:
    settings, good_version, blind_version = degraded
    decision = rollback(settings, reason="operator saw false alarms")
    assert decision.champion_version == good_version
    assert PREVIOUS_CHAMPION not in _aliases(settings)
    with pytest.raises(ModelNotFoundError, match="previous-champion"):
        rollback(settings)
    with pytest.raises(ModelNotFoundError, match="no version 99"):
        rollback(settings, to_version="99")
    assert rollback(settings, to_version=blind_version).champion_version == blind_version


def test_no_champion_is_a_clear_error(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with pytest.raises(ModelNotFoundError, match="predmaint run"):
        champion_info(settings)
    assert history(settings) == []
