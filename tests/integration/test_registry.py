"""Promotion keeps a better champion and replaces a worse one; rollback in both directions."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from predmaint.data.columns import TARGET
from predmaint.data.simulate import simulate_readings
from predmaint.errors import ModelNotFoundError
from predmaint.features.job import build_features
from predmaint.models.candidates import CandidateRun
from predmaint.models.registry import (
    act_with_evidence,
    champion_lineage,
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


def test_a_test_split_with_too_few_failures_registers_but_does_not_promote(
    home: tuple[Settings, Path], tmp_path: Path
) -> None:
    # given features with 40 failures: enough to train, too few for the test split to judge
    settings, features = home
    frame = pd.read_parquet(features)
    few = pd.concat([frame[frame[TARGET] == 1].head(40), frame[frame[TARGET] == 0].head(400)])
    path = tmp_path / "few_failures.parquet"
    few.to_parquet(path, index=False)
    candidate = _train(settings, path)

    # when it is registered and offered for promotion
    version, decision = _round(settings, candidate)

    # then it stays a registered version: no alias moves, and the history says why
    test_failures = int(decision.scores["test_failures"])
    assert test_failures < settings.min_test_failures == 20
    assert decision.action == "not-promoted" and decision.champion_version is None
    assert f"{test_failures} failure(s)" in decision.reason
    assert "PREDMAINT_MIN_TEST_FAILURES" in decision.reason
    model = MlflowClient(settings.resolved_tracking_uri).get_registered_model(settings.model_name)
    assert model.aliases == {}
    events = {(e.version, e.action): e.reason for e in history(settings)}
    assert events[(version, "not-promoted")] == decision.reason

    # and with the setting lowered below the split's failures the same evidence promotes
    lenient = settings.model_copy(update={"min_test_failures": test_failures})
    assert promote(lenient, [candidate], {candidate.run_id: version}).action == "promoted"


def test_after_a_rollback_the_next_one_goes_one_step_further_back(
    home: tuple[Settings, Path],
) -> None:
    # given v1 (weak) then v2 (good) promoted, then v3 (weak) kept as challenger
    settings, features = home
    weak, good = _train(settings, features, **WEAK), _train(settings, features)
    v1, _ = _round(settings, weak)
    v2, _ = _round(settings, good)
    v3, kept = _round(settings, weak)
    assert kept.action == "kept"
    assert _aliases(settings) == {CHAMPION: v2, PREVIOUS_CHAMPION: v1, CHALLENGER: v3}

    # when the operator rolls back to v3 by hand
    decision = rollback(settings, to_version=v3, reason="v2 raises false alarms")

    # then v3 is champion only (not challenger too) and previous-champion names the champion
    # before v2's tenure: v2, rolled back from, is no place to return to
    assert _aliases(settings) == {CHAMPION: v3, PREVIOUS_CHAMPION: v1}
    assert (decision.champion_version, decision.replaced_version) == (v3, v2)
    assert decision.previous_champion_version == v1
    assert champion_lineage(settings) == [v1, v3]

    # when a plain rollback follows, then it goes to v1, and no earlier champion is left
    second = rollback(settings)
    assert (second.champion_version, second.previous_champion_version) == (v1, None)
    assert _aliases(settings) == {CHAMPION: v1}

    # and a third says so clearly instead of moving anything
    with pytest.raises(ModelNotFoundError, match=f"no earlier champion is left before v{v1}"):
        rollback(settings)
    assert _aliases(settings) == {CHAMPION: v1}


_FIRST_USE = """
import sys, time
from pathlib import Path
from predmaint.models.tracking import client
from predmaint.settings import Settings
settings = Settings(home=Path(sys.argv[1]), _env_file=None)
go = Path(sys.argv[2])
Path(sys.argv[3]).touch()
while not go.exists():
    time.sleep(0.01)
print(client(settings).search_registered_models())
"""


def test_processes_that_start_together_on_a_fresh_home_share_its_store(tmp_path: Path) -> None:
    # given three processes ready to open the same, not yet created, embedded store
    home, go = tmp_path / "home", tmp_path / "go"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREDMAINT_", "MLFLOW_"))}
    env.update({"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"})
    ready = [tmp_path / f"ready{n}" for n in range(3)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _FIRST_USE, str(home), str(go), str(flag)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for flag in ready
    ]
    deadline = time.monotonic() + 120
    while not all(flag.exists() for flag in ready):  # each has imported MLflow and waits
        assert time.monotonic() < deadline, "the processes did not get ready within 120 s"
        assert all(p.poll() is None for p in processes), "a process exited before the start"
        time.sleep(0.1)

    # when they all open it at once
    go.touch()
    outputs = [p.communicate(timeout=120)[0].decode() for p in processes]

    # then each one finds a complete store (none crashes in the schema's creation)
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output
        assert "Traceback" not in output, output
    assert (home / "mlflow.db").is_file()


def test_automatic_actions_follow_the_rollback_lineage_and_keep_their_evidence(
    home: tuple[Settings, Path],
) -> None:
    # given v1 (weak) then v2 (good) promoted, then v3 (weak) kept as challenger
    settings, features = home
    weak, good = _train(settings, features, **WEAK), _train(settings, features)
    v1, _ = _round(settings, weak)
    v2, _ = _round(settings, good)
    v3, _ = _round(settings, weak)
    evidence = {"ds": "2026-12-09", "labelled": 120, "champion_f1": 0.41, "previous_f1": 0.62}

    # when monitoring rolls v2 back to the previous champion on its evidence
    back = act_with_evidence(settings, "rollback", "realized F1 fell", evidence, to_version=v1)

    # then it moves like a manual rollback: v1 restored, v2 replaced, no earlier champion left
    assert (back.action, back.champion_version, back.replaced_version) == ("rolled-back", v1, v2)
    assert back.previous_champion_version is None
    assert _aliases(settings) == {CHAMPION: v1, CHALLENGER: v3}

    # when the challenger then wins on shared outcomes, it is promoted, v1 becomes previous
    up = act_with_evidence(settings, "promote", "challenger better", evidence, to_version=v3)
    assert (up.champion_version, up.previous_champion_version) == (v3, v1)
    assert up.challenger_version is None and _aliases(settings) == {
        CHAMPION: v3,
        PREVIOUS_CHAMPION: v1,
    }
    assert champion_lineage(settings) == [v1, v3]

    # and a retraining request moves nothing
    asked = act_with_evidence(settings, "retrain", "drift on 3 of 5 days", evidence)
    assert (asked.action, asked.champion_version) == ("none", v3)
    assert _aliases(settings) == {CHAMPION: v3, PREVIOUS_CHAMPION: v1}

    # and every automatic event carries its evidence in the history
    automatic = {(e.version, e.action): e.evidence for e in history(settings) if e.evidence}
    assert set(automatic) == {
        (v2, "rolled-back"),
        (v1, "restored"),
        (v1, "demoted"),
        (v3, "promoted"),
        (v3, "retrain-requested"),
    }
    assert all(e == {"automatic": True, **evidence} for e in automatic.values()), automatic
