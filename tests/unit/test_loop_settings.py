"""The loop's settings: documented defaults, and a K-of-M rule that can be met."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from predmaint.settings import Settings


def test_loop_defaults_and_folders(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, _env_file=None)  # type: ignore[call-arg]
    assert settings.monitoring_window_days == 30 and settings.min_outcomes == 50
    assert (settings.drift_trigger_days, settings.drift_trigger_window) == (3, 5)
    assert settings.drift_min_sample == 200 and settings.drift_alpha == 0.01
    assert settings.drift_psi_threshold == 0.2
    data = tmp_path.resolve() / "data"
    assert settings.outcomes_dir == data / "outcomes" and settings.served_dir == data / "served"
    assert settings.monitoring_dir == data / "monitoring"
    assert settings.reports_dir == data / "reports"
    for name, field in Settings.model_fields.items():
        if name.startswith(("drift_", "monitoring_", "min_outcomes")):
            assert field.description, f"{name} needs a description"


def test_k_of_m_rule_must_be_satisfiable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREDMAINT_DRIFT_TRIGGER_DAYS", "6")
    with pytest.raises(ValidationError, match=r"drift_trigger_days \(K=6\) must be at most"):
        Settings(_env_file=None)  # type: ignore[call-arg]
