"""Monitoring after each batch: outcomes, realized performance, drift, shadow, and acting on it.

monitor_predictions → needs_retraining → request_retraining

Runs on each ``predmaint_predictions`` Asset event (a scored day from
``batch_inference_pipeline``), not on a clock. ``monitor_predictions`` ingests the outcome files
dropped for the day, joins outcomes to predictions over the window, reads the day's drift
verdict, applies the rules (rollback or promotion through the registry, with the evidence
written in its history) and writes ``report.json``, the day's page and the MLflow run. When the
rules ask for retraining, ``request_retraining`` writes the latest training data (features plus
the plant's labelled readings) and emits the ``predmaint_retraining`` Asset, on which
``model_training_pipeline`` runs; otherwise it is skipped and no event is emitted.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from airflow.sdk import dag, task
from predmaint_dags import (
    DAG_OPTIONS,
    PREDICTIONS,
    RETRAINING,
    TAGS,
    run_day,
    settings,
)

log = logging.getLogger(__name__)


@dag(
    dag_id="model_monitoring_pipeline",
    schedule=[PREDICTIONS],
    tags=[*TAGS, "monitoring", "mlflow"],
    doc_md=__doc__,
    **DAG_OPTIONS,
)
def model_monitoring_pipeline() -> None:
    """Wire the loop's steps; the work is in ``predmaint.monitoring``."""

    @task(multiple_outputs=False)
    def monitor_predictions(*, triggering_asset_events: Any = None) -> dict[str, Any]:
        """Monitor the day the batch published (the run's day when run by hand); act."""
        from predmaint.monitoring.daily import monitor_day

        days = [
            date.fromisoformat(str(event.extra["ds"]))
            for event in (triggering_asset_events or {}).get(PREDICTIONS, [])
            if "ds" in (event.extra or {})
        ]
        day = max(days) if days else run_day()
        run = monitor_day(settings(), day, act=True)
        for applied in run.report.applied:
            log.info(
                "%s (%s): %s", applied.action.kind.value, applied.status, applied.action.reason
            )
        log.info("report: %s; page: %s", run.report_path, run.page_path)
        return {
            "ds": day.isoformat(),
            "report_path": str(run.report_path),
            "page_path": str(run.page_path),
            "mlflow_run_id": run.mlflow_run_id,
            "actions": [a.to_dict() for a in run.report.applied],
            "retrain_requested": run.retrain_requested,
        }

    @task.short_circuit
    def needs_retraining(summary: dict[str, Any]) -> bool:
        """Go on only when monitoring asked for a retraining."""
        return bool(summary["retrain_requested"])

    @task(multiple_outputs=False, outlets=[RETRAINING])
    def request_retraining(summary: dict[str, Any], *, outlet_events: Any = None) -> dict[str, Any]:
        """Write the latest training data and emit the Asset the training DAG runs on."""
        from predmaint.monitoring.retraining import write_retraining_data

        day = date.fromisoformat(summary["ds"])
        data = write_retraining_data(settings(), day)
        reasons = [a["reason"] for a in summary["actions"] if a["action"] == "retrain"]
        outlet_events[RETRAINING].extra = {
            "ds": day.isoformat(),
            "path": data.path,
            "reason": "; ".join(reasons),
        }
        return data.to_dict()

    summary = monitor_predictions()
    needs_retraining(summary) >> request_retraining(summary)


model_monitoring_pipeline()
