"""Daily feature engineering: AI4I 2020 readings in, validated features of the day out.

validate_data_quality → extract_features → validate_features → clean_old_files

Each task is one call into ``predmaint.features.job`` on the run's logical day, so re-running a day
rewrites that day's ``processed/ds=…`` partition and nothing else. Bad rows never stop the run:
they go to ``quarantine/ds=…/`` with their reasons; a task fails only when no usable row is left,
and its message names the rule and the quarantine file. ``validate_features`` publishes the
``predmaint_features`` Asset, with the day and the file in the event, for the training DAG.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import chain, dag, task
from predmaint_dags import DAG_OPTIONS, FEATURES, TAGS, run_day, settings


@dag(
    dag_id="feature_engineering_pipeline",
    schedule="@daily",
    tags=[*TAGS, "features"],
    doc_md=__doc__,
    **DAG_OPTIONS,
)
def feature_engineering_pipeline() -> None:
    """Wire the four steps of the spec; the work is in ``predmaint.features.job``."""

    @task(multiple_outputs=False)
    def validate_data_quality() -> dict[str, Any]:
        """Validate the raw AI4I file against the raw schema; keep the configured machine types."""
        from predmaint.features.job import validate_raw_data

        # The full report (reasons, label warnings) is in quality_report.json; XCom gets counts.
        return validate_raw_data(settings(), run_day()).summary()

    @task
    def extract_features() -> str:
        """Derive the spec's sensor features for the day's validated rows."""
        from predmaint.features.job import extract_features as extract

        return str(extract(settings(), run_day()))

    @task(multiple_outputs=False, outlets=[FEATURES])
    def validate_features(*, outlet_events: Any = None) -> dict[str, Any]:
        """Check the derived features; publish the day's features file as an Asset event."""
        from predmaint.features.job import validate_features as validate

        day = run_day()
        report = validate(settings(), day)
        outlet_events[FEATURES].extra = {"ds": day.isoformat(), "path": report.features_path}
        return report.summary()

    @task
    def clean_old_files() -> list[str]:
        """Remove day partitions past their retention, every family (predmaint.data.retention)."""
        from predmaint.features.job import clean_old_partitions

        return [str(path) for path in clean_old_partitions(settings(), run_day())]

    chain(validate_data_quality(), extract_features(), validate_features(), clean_old_files())


feature_engineering_pipeline()
