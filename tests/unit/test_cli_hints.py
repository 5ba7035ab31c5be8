"""The CLI's hints name what exists where it runs: `make` targets in a checkout, the deployment's
services inside its containers (whose images set PREDMAINT_IN_CONTAINER)."""

from __future__ import annotations

import pytest

from predmaint.cli import mlflow_ui_hint


def test_in_a_checkout_the_hint_is_the_make_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREDMAINT_IN_CONTAINER", raising=False)
    assert "`make mlflow`" in mlflow_ui_hint()


def test_in_a_container_the_hint_is_the_compose_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREDMAINT_IN_CONTAINER", "1")
    hint = mlflow_ui_hint()
    assert "make" not in hint
    assert "mlflow service" in hint and "MLFLOW_PORT" in hint
