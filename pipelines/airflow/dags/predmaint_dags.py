"""What predmaint's DAGs share: the Assets, retry rules, the run's settings and day.

Kept apart from the DAG files so the three agree on one Asset and one retry policy. Nothing here
touches the disk, the environment or MLflow at import time: the DAG processor imports this module
every time it parses a DAG file, and only the task processes need ``Settings``.
"""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, ExceptionRetryPolicy, RetryAction, RetryRule, get_current_context

if TYPE_CHECKING:
    from predmaint.settings import Settings

#: The validated features of a day, as the feature DAG publishes them. Each asset event carries
#: ``{"ds": "YYYY-MM-DD", "path": ".../processed/ds=…/features.parquet"}`` in its extra, which is
#: how the training DAG finds its data. The URI is logical: the physical folder depends on
#: ``PREDMAINT_DATA_DIR``, which only task processes read.
FEATURES = Asset(
    name="predmaint_features",
    uri="predmaint://processed/features",
    group="predmaint",
)

#: A day's predictions, as the batch DAG publishes them (extra: ``{"ds": …, "path": …}``): the
#: monitoring DAG runs on each event, right after the batch, not on a clock.
PREDICTIONS = Asset(
    name="predmaint_predictions",
    uri="predmaint://predictions/daily",
    group="predmaint",
)

#: A retraining asked for by monitoring (extra: ``{"ds": …, "path": <retraining.parquet>,
#: "reason": …}``): the training DAG runs on it as well as weekly, and trains on that file.
RETRAINING = Asset(
    name="predmaint_retraining",
    uri="predmaint://processed/retraining",
    group="predmaint",
)

#: The first day the schedules know about; catch-up is off, so unpausing runs only the latest day.
START_DATE = datetime(2026, 1, 1, tzinfo=UTC)

#: Retrying cannot fix bad input or a missing model, only a transient fault (a locked SQLite store,
#: an MLflow server restarting, a full disk freed meanwhile). predmaint raises ``PredmaintError``
#: subclasses for the former, with a message that names the rule and the quarantine file; those
#: fail at once instead of repeating the same message three times.
RETRY_POLICY = ExceptionRetryPolicy(
    rules=[
        RetryRule(
            exception="predmaint.errors.PredmaintError",
            action=RetryAction.FAIL,
            reason="predmaint refused the input or found no model: a retry would fail the same way",
        )
    ]
)

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "predmaint",
    "retries": 2,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=10),
    "retry_policy": RETRY_POLICY,
    "execution_timeout": timedelta(minutes=30),
}

TAGS = ["predmaint", "ai4i2020"]

#: What every predmaint DAG is created with; each adds its id, schedule, tags and doc.
DAG_OPTIONS: dict[str, Any] = {
    "start_date": START_DATE,
    "catchup": False,
    "max_active_runs": 1,
    "default_args": DEFAULT_ARGS,
}


def settings() -> Settings:
    """predmaint's settings, read from the task process's environment (``PREDMAINT_*``, ``.env``).

    Called inside task bodies only: at parse time the DAG processor's environment is not the
    workers', and reading it there would freeze one machine's paths into the DAG.

    Every task calls it first, so it also quiets skops for the task: skops (how models are saved
    and loaded) finds a class by scanning every loaded module, and in a task process those include
    Airflow's deprecated aliases, each of which warns when touched: a thousand log lines per model.
    Only warnings raised from skops's own frames are dropped. (A filter set at import would not
    last: Airflow records and resets warnings around DAG parsing.)
    """
    from predmaint.settings import Settings

    warnings.filterwarnings("ignore", module=r"skops\.")

    return Settings()


def run_day() -> date:
    """The day this DAG run works on: its logical date (UTC), the partition its tasks use.

    Airflow 3 lets a manual run have no logical date; such a run works on the day it was
    triggered for (``run_after``), so "trigger now" scores today, like ``predmaint run``.
    """
    context = get_current_context()
    moment = context.get("logical_date") or context["dag_run"].run_after
    return moment.astimezone(UTC).date()
