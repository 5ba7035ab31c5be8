"""The registered model's logged requirements are what serving it needs, at the trained versions.

MLflow infers requirements from every module the logging process has imported, so a model trained
under pytest or next to psutil asked for them, and the API container (which has neither) logged a
requirements mismatch on every load (issue 12).
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import mlflow

from predmaint.models.tracking import configure
from predmaint.models.training import SERVING_PACKAGES
from predmaint.settings import Settings


def test_the_champion_requires_exactly_the_serving_packages(
    trained_home: Settings, tmp_path: Path
) -> None:
    configure(trained_home)
    local = mlflow.artifacts.download_artifacts(
        f"models:/{trained_home.model_name}@champion", dst_path=str(tmp_path)
    )
    lines = (Path(local) / "requirements.txt").read_text(encoding="utf-8").split()
    pins = dict(line.split("==") for line in lines)
    assert set(pins) == {*SERVING_PACKAGES, "predmaint"}
    assert all(pins[name] == version(name) for name in pins)
    assert "psutil" not in pins and "pytest" not in pins
