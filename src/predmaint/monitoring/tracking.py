"""The daily monitoring run in MLflow: experiment ``predmaint-monitoring``, one run a day.

Each day's run holds realized metrics per model version (``f1_v3``, ``precision_v3``, …), the
champion's under stable names (``champion_f1``, …) so the MLflow UI draws one line over the days
whatever version served, drift per feature (``drift_psi_<feature>``, ``drift_detected``), and
the day's page and ``report.json`` as artifacts. Metrics are stamped with the monitored day, so
re-running a day (the same run is reused) replaces its points rather than adding a new day.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from predmaint.models.tracking import client
from predmaint.monitoring.report import MonitoringReport
from predmaint.settings import Settings

ARTIFACT_DIR = "report"


def _experiment(settings: Settings, mlflow_client: MlflowClient) -> str:
    found = mlflow_client.get_experiment_by_name(settings.monitoring_experiment)
    if found is not None:
        return str(found.experiment_id)
    location = settings.artifact_root.as_uri() if settings.is_embedded_store else None
    return str(mlflow_client.create_experiment(settings.monitoring_experiment, location))


def report_metrics(report: MonitoringReport) -> dict[str, float]:
    """The day's figures as MLflow metrics (undefined ones left out)."""
    values: dict[str, float | None] = {"outcomes": report.performance.outcomes}
    for version, entry in report.performance.by_version.items():
        m = entry.metrics
        values |= {
            f"labelled_v{version}": m.labelled,
            f"precision_v{version}": m.precision,
            f"recall_v{version}": m.recall,
            f"f1_v{version}": m.f1,
            f"alert_rate_v{version}": entry.alert_rate,
        }
        if version == report.champion_version:
            values |= {
                "champion_labelled": m.labelled,
                "champion_precision": m.precision,
                "champion_recall": m.recall,
                "champion_f1": m.f1,
                "champion_alert_rate": entry.alert_rate,
            }
    for shadow in report.performance.shadow:
        values[f"agreement_v{shadow.champion_version}_v{shadow.challenger_version}"] = (
            shadow.agreement_rate
        )
    if report.drift is not None:
        values["drift_detected"] = float(report.drift.drift_detected)
        values |= {f"drift_psi_{name}": f.psi for name, f in report.drift.features.items()}
    return {k: float(v) for k, v in values.items() if v is not None}


def log_monitoring(
    settings: Settings, report: MonitoringReport, report_file: Path, page: Path
) -> str:
    """Log the day to its run (created on the first call for that day); returns the run id."""
    mlflow_client = client(settings)
    experiment = _experiment(settings, mlflow_client)
    ds = report.ds.isoformat()
    found = mlflow_client.search_runs([experiment], f"tags.ds = '{ds}'", max_results=1)
    if found:
        run_id = found[0].info.run_id
    else:
        run = mlflow_client.create_run(experiment, run_name=f"monitoring-{ds}", tags={"ds": ds})
        run_id = run.info.run_id
    stamp = int(datetime.combine(report.ds, time(), UTC).timestamp() * 1000)
    metrics = [Metric(k, v, stamp, 0) for k, v in report_metrics(report).items()]
    mlflow_client.log_batch(run_id, metrics=metrics)
    mlflow_client.set_tag(run_id, "champion_version", report.champion_version or "")
    mlflow_client.set_tag(
        run_id, "actions", ", ".join(a.kind.value for a in report.actions) or "none"
    )
    mlflow_client.log_artifact(run_id, str(page), ARTIFACT_DIR)
    mlflow_client.log_artifact(run_id, str(report_file), ARTIFACT_DIR)
    mlflow_client.set_terminated(run_id, "FINISHED")
    return run_id
