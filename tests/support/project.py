"""The project the tests work on: the real dataset, the day they score, quick training settings.

Nothing is mocked: homes are temporary folders with an embedded SQLite MLflow store.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from predmaint.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
#: The real AI4I 2020 file, next to the repository (``../shared/data``), never copied into it.
SHARED_DATA = ROOT.parent / "shared" / "data" / "ai4i2020.csv"
#: The logical date the tests build features for and score.
DAY = date(2026, 11, 25)

#: A smaller forest and grid for tests that need *a* model, not the best one (seconds, not 20 s).
FAST: dict[str, Any] = {"rf_n_estimators": 25, "rf_max_depth_grid": [8], "cv_folds": 2}


def make_settings(home: Path, raw: Path | None = SHARED_DATA, **overrides: Any) -> Settings:
    """Settings for a project home in a temporary folder (embedded SQLite MLflow store)."""
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        os.environ.pop(name, None)  # exported by mlflow.set_tracking_uri in an earlier test
    return Settings(home=home, raw_data=raw, _env_file=None, **overrides)  # type: ignore[call-arg]


def scored_parts(settings: Settings, ds: date) -> pd.DataFrame:
    """Every part file of a day's predictions, in one frame (file by file, in name order)."""
    folder = settings.predictions_dir / f"ds={ds.isoformat()}"
    return pd.concat(pd.read_parquet(p) for p in sorted(folder.glob("part-*.parquet")))


def shadow_parts(settings: Settings, ds: date) -> pd.DataFrame:
    """Every part file of a day's shadow answers (``predmaint shadow``), in one frame."""
    folder = settings.shadow_dir / f"ds={ds.isoformat()}"
    return pd.concat(pd.read_parquet(p) for p in sorted(folder.glob("part-*.parquet")))
