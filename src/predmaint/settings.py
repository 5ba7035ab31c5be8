"""All of predmaint's settings in one place (env prefix ``PREDMAINT_``, optional ``.env`` file).

Every shell (CLI, DAGs, API, Docker) reads the same class, so a path or a threshold is defined
once. Nothing here touches the disk or MLflow at import time: folders are created by the jobs that
write them.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

UCI_ZIP_URL = (
    "https://archive.ics.uci.edu/static/public/601/ai4i+2020+predictive+maintenance+dataset.zip"
)

#: The model kinds predmaint trains; a setting's vocabulary, so it sits at the bottom of the stack
#: where training, the registry and the settings themselves can all use it.
ModelKind = Literal["random_forest", "svm"]
MODEL_KINDS: tuple[ModelKind, ...] = get_args(ModelKind)


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity: a container's cpuset, ``taskset``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - no affinity API (macOS)
        return os.cpu_count() or 1


#: The families of day partitions under the data root (``<family>/ds=YYYY-MM-DD/``), each cleaned
#: up by :mod:`predmaint.data.retention`.
PARTITION_FAMILIES: tuple[str, ...] = (
    "processed",
    "quarantine",
    "inference",
    "predictions",
    "shadow",
    "served",
    "outcomes",
    "monitoring",
    "reports",
)


class Settings(BaseSettings):
    """Runtime configuration; each field can be set as ``PREDMAINT_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(
        env_prefix="PREDMAINT_", env_file=".env", extra="ignore", validate_default=True
    )

    # --- where things live -------------------------------------------------------------------
    home: Path = Field(
        default_factory=Path.cwd,
        description="Project home: holds the embedded MLflow store (mlflow.db, mlartifacts/).",
    )
    data_dir: Path | None = Field(
        default=None, description="Data layout root (raw/, processed/, ...); default <home>/data."
    )
    raw_data: Path | None = Field(
        default=None,
        description="Use this AI4I 2020 CSV instead of downloading it (tests and CI set it).",
    )
    raw_data_url: str = Field(default=UCI_ZIP_URL, description="Where `acquire` downloads from.")
    download_timeout_s: float = 60.0

    # --- data contract ----------------------------------------------------------------------
    machine_types: list[str] = Field(
        default=["L"], description="Machine types kept for training (the spec: Type L only)."
    )
    retention_days: int = Field(
        default=30,
        ge=0,
        description="Day partitions older are removed (every family: processed, quarantine, "
        "inference, predictions, shadow, served, outcomes, monitoring, reports). Families "
        "monitoring reads keep at least the monitoring window.",
    )
    retention_days_per_family: dict[str, int] = Field(
        default={},
        description='Retention of some families, as JSON ({"reports": 365, "served": 45}); '
        "the others keep retention_days.",
    )

    # --- tracking and registry --------------------------------------------------------------
    tracking_uri: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "PREDMAINT_TRACKING_URI"),
        description="MLflow tracking URI; default: embedded SQLite store under home.",
    )
    experiment_name: str = "predmaint-failure-classification"
    model_name: str = "predmaint-failure-classifier"
    promotion_margin: float = Field(
        default=0.0, ge=0.0, description="A candidate must beat the champion's F1 by more."
    )
    rollback_tolerance: float = Field(
        default=0.05, ge=0.0, description="Champion F1 may fall this far below its registered F1."
    )
    min_test_failures: int = Field(
        default=20,
        ge=1,
        description="Failures a candidate's test split must hold before its F1 can promote it "
        "(fewer: registered, not promoted).",
    )

    # --- training ---------------------------------------------------------------------------
    seed: int = 42
    test_size: float = Field(default=0.2, gt=0.0, lt=0.5)
    validation_size: float = Field(default=0.2, gt=0.0, lt=0.5)
    cv_folds: int = Field(default=3, ge=2)
    models: list[ModelKind] = list(MODEL_KINDS)
    rf_n_estimators: int = Field(
        default=40,
        ge=1,
        description="Trees in the forest: as accurate as 100 on AI4I and faster to score "
        "(measured in docs/benchmarks.md).",
    )
    rf_max_depth_grid: list[int] = Field(default=[8, 10], description="Depths tried by CV.")

    # --- batch and simulation ---------------------------------------------------------------
    simulate_rows: int = Field(default=1000, ge=1)
    simulated_machines: int = Field(
        default=20,  # predmaint.data.simulate.DEFAULT_MACHINES (settings import nothing above)
        ge=1,
        description="Machines of the simulated plant whose day is scored when no readings arrived.",
    )
    batch_chunk_rows: int = Field(
        default=125_000,
        ge=1,
        description="Readings the batch job reads, validates, scores and writes at a time: "
        "its memory depends on this, not on the size of the day (up to three chunks are in "
        "flight: one scored, one counted for drift, one written; docs/benchmarks.md).",
    )
    language: Literal["pt", "en"] = Field(
        default="pt", description="Risk texts (spec: Portuguese)."
    )

    # --- local Airflow (make airflow) -------------------------------------------------------
    airflow_parallelism: int = Field(
        default_factory=usable_cores,
        ge=1,
        description="Task processes LocalExecutor runs at once (default: the usable CPU cores; "
        "Airflow's own default, 32, is sized for a cluster).",
    )

    # --- API ----------------------------------------------------------------------------------
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_key: str | None = Field(default=None, description="When set, /predict* and /model need it.")
    api_batch_max: int = Field(default=1000, ge=1)
    api_poll_interval_s: float = Field(default=10.0, gt=0.0)
    api_record_answers: bool = Field(
        default=True, description="Record every API answer in data/served/ (issue 10)."
    )
    api_record_queue_max: int = Field(
        default=100_000,
        ge=1,
        description="Answers held in memory before recording drops (and counts) new ones.",
    )
    api_record_flush_s: float = Field(
        default=2.0, gt=0.0, description="How often queued answers are written to Parquet."
    )
    api_body_max_bytes: int = Field(
        default=1024 * 1024,
        ge=1,
        description="Largest request body of a route without its own limit; larger gets 413.",
    )
    api_body_limits: dict[str, int] = Field(
        default={},
        description='Per-route body limits in bytes, as JSON ({"/predict/batch": 2000000}); '
        "/predict, /predict/batch and /feedback default to what 1 reading, api_batch_max "
        "readings and 10,000 outcomes need.",
    )
    api_body_timeout_s: float = Field(
        default=30.0, gt=0.0, description="Time to send a whole request body; slower gets 408."
    )

    # --- the loop: outcomes, monitoring, drift, automatic actions (issue 10) ------------------
    monitoring_experiment: str = Field(
        default="predmaint-monitoring",
        description="MLflow experiment of the daily monitoring runs (one run a day).",
    )
    monitoring_window_days: int = Field(
        default=30, ge=1, description="Days of predictions joined to outcomes by `monitor`."
    )
    min_outcomes: int = Field(
        default=50,
        ge=1,
        description="Labelled outcomes a version needs before realized metrics drive any action "
        "(rollback, promotion, retraining on degraded F1).",
    )
    drift_min_sample: int = Field(
        default=200, ge=10, description="Readings a batch needs before drift gets a verdict."
    )
    drift_psi_threshold: float = Field(
        default=0.2,
        gt=0.0,
        description="PSI at or above which a feature's shift is large enough to matter "
        "(0.1-0.25 is the field's 'moderate' band).",
    )
    drift_alpha: float = Field(
        default=0.01,
        gt=0.0,
        lt=1.0,
        description="Family-wise error rate of the per-feature KS tests of one batch (Holm).",
    )
    drift_trigger_days: int = Field(
        default=3, ge=1, description="K: drift on K of the last M days triggers retraining."
    )
    drift_trigger_window: int = Field(
        default=5, ge=1, description="M: the days looked at for the K-of-M retraining rule."
    )

    @field_validator("machine_types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        bad = sorted(set(value) - {"L", "M", "H"})
        if bad or not value:
            raise ValueError(f"machine_types must be a non-empty subset of L, M, H; got {value}")
        return value

    @field_validator("api_key")
    @classmethod
    def _non_empty_key(cls, value: str | None) -> str | None:
        # HTTP clients send header values as ASCII (browsers as Latin-1): a key outside printable
        # ASCII could never be sent the same way by every client.
        if value and not (value.isascii() and value.isprintable() and " " not in value):
            raise ValueError(
                "api_key must be printable ASCII without spaces (it is an HTTP header)"
            )
        return value or None

    @field_validator("api_body_limits")
    @classmethod
    def _positive_limits(cls, value: dict[str, int]) -> dict[str, int]:
        bad = {
            path: limit for path, limit in value.items() if limit < 1 or not path.startswith("/")
        }
        if bad:
            raise ValueError(f"api_body_limits maps route paths (/...) to bytes >= 1; got {bad}")
        return value

    @field_validator("retention_days_per_family")
    @classmethod
    def _known_families(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(PARTITION_FAMILIES))
        negative = sorted(name for name, days in value.items() if days < 0)
        if unknown or negative:
            raise ValueError(
                f"retention_days_per_family maps families ({', '.join(PARTITION_FAMILIES)}) to "
                f"days >= 0; "
                f"got unknown {unknown}, negative {negative}"
            )
        return value

    @model_validator(mode="after")
    def _drift_rule_fits(self) -> Settings:
        if self.drift_trigger_days > self.drift_trigger_window:
            raise ValueError(
                f"drift_trigger_days (K={self.drift_trigger_days}) must be at most "
                f"drift_trigger_window (M={self.drift_trigger_window})"
            )
        return self

    @property
    def data_root(self) -> Path:
        return (self.data_dir or self.home / "data").resolve()

    @property
    def raw_dir(self) -> Path:
        return self.data_root / "raw"

    @property
    def processed_dir(self) -> Path:
        return self.data_root / "processed"

    @property
    def inference_dir(self) -> Path:
        return self.data_root / "inference"

    @property
    def predictions_dir(self) -> Path:
        return self.data_root / "predictions"

    @property
    def shadow_dir(self) -> Path:
        """The shadow challenger's answers to each day's predictions (``predmaint shadow``)."""
        return self.data_root / "shadow"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_root / "quarantine"

    @property
    def served_dir(self) -> Path:
        return self.data_root / "served"

    @property
    def outcomes_dir(self) -> Path:
        return self.data_root / "outcomes"

    @property
    def monitoring_dir(self) -> Path:
        return self.data_root / "monitoring"

    @property
    def reports_dir(self) -> Path:
        return self.data_root / "reports"

    @property
    def mlflow_db(self) -> Path:
        return self.home.resolve() / "mlflow.db"

    @property
    def artifact_root(self) -> Path:
        return self.home.resolve() / "mlartifacts"

    @property
    def resolved_tracking_uri(self) -> str:
        """The MLflow tracking URI: the configured one, else the embedded SQLite store."""
        return self.tracking_uri or f"sqlite:///{self.mlflow_db}"

    @property
    def is_embedded_store(self) -> bool:
        return self.tracking_uri is None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own ``Settings(...)`` instead)."""
    return Settings()
