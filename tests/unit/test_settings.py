"""Settings come from the environment with the PREDMAINT_ prefix; MLflow's own variable wins."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from predmaint.settings import Settings


def test_defaults_use_an_embedded_sqlite_store_under_home(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, _env_file=None)  # type: ignore[call-arg]
    assert s.resolved_tracking_uri == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    assert s.is_embedded_store
    assert s.data_root == (tmp_path / "data").resolve()
    assert s.machine_types == ["L"]


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    monkeypatch.setenv("PREDMAINT_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("PREDMAINT_MACHINE_TYPES", '["L", "M"]')
    monkeypatch.setenv("PREDMAINT_PROMOTION_MARGIN", "0.01")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.resolved_tracking_uri == "http://127.0.0.1:5000"
    assert not s.is_embedded_store
    assert s.processed_dir == (tmp_path / "d" / "processed").resolve()
    assert s.machine_types == ["L", "M"]
    assert s.promotion_margin == 0.01


def test_bad_values_name_the_field() -> None:
    with pytest.raises(ValidationError, match="machine_types"):
        Settings(machine_types=["Q"], _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="rollback_tolerance"):
        Settings(rollback_tolerance=-1, _env_file=None)  # type: ignore[call-arg]
