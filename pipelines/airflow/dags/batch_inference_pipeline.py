"""Daily batch inference: the champion scores the day's readings, one mapped task per input file.

load_production_model → process_new_data → generate_predictions[file…] → inference_report
→ shadow_predictions (publishes the day for monitoring), check_inputs_readable

The day's readings are the files in ``inference/ds=…/`` (CSV or Parquet, as the plant drops them);
when none arrived, ``process_new_data`` simulates a day (deterministic per day, so a re-run scores
the same rows). ``generate_predictions`` is mapped over the files: on LocalExecutor they run side
by side, on CeleryExecutor they spread over workers. Every mapped task loads the same pinned
version, so a promotion during the run cannot mix two models in one day's predictions. Each file
writes ``predictions/ds=…/part-<file>.parquet`` atomically; the report task writes ``report.json``
and removes parts of files that are gone, so re-running a day leaves no duplicates.

A file that cannot be read at all (truncated, empty, not a table) is quarantined whole by its
mapped task, which still succeeds, so the day's other files are scored and reported. The last
task, ``check_inputs_readable``, then fails without retry, naming the files: such a partial day
shows red in the grid while its predictions are published.

``shadow_predictions`` scores the published day with the ``challenger`` alias into
``shadow/ds=…/`` (:mod:`predmaint.inference.shadow`): a task of its own after the report, so a
slow or broken challenger can neither delay nor fail the champion's predictions. It carries the
Asset event that starts monitoring, which compares the two versions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.sdk import dag, get_current_context, task
from predmaint_dags import DAG_OPTIONS, PREDICTIONS, TAGS, run_day, settings


@dag(
    dag_id="batch_inference_pipeline",
    schedule="@daily",
    tags=[*TAGS, "inference"],
    doc_md=__doc__,
    **DAG_OPTIONS,
)
def batch_inference_pipeline() -> None:
    """Wire the spec's four batch steps; the work is in ``predmaint.inference.batch``."""

    @task(multiple_outputs=False)
    def load_production_model() -> dict[str, Any]:
        """Load ``@champion`` once to prove it is usable, and pin its version for the whole run."""
        from predmaint.models.loading import load_model

        return load_model(settings()).info.to_dict()

    @task
    def process_new_data() -> list[str]:
        """The day's input files, simulating a day of readings when none arrived."""
        from predmaint.inference.batch import ensure_inputs

        return [str(path) for path in ensure_inputs(settings(), run_day())]

    # A day of many files fans out; the cap keeps a small machine from loading the model in
    # dozens of processes at once (each mapped task holds its own copy).
    @task(
        multiple_outputs=False,
        map_index_template="{{ input_file }}",
        max_active_tis_per_dagrun=8,
    )
    def generate_predictions(path: str, model: dict[str, Any]) -> dict[str, Any]:
        """Validate and score one input file with the pinned version; write its part file."""
        from predmaint.inference.batch import score_file
        from predmaint.inference.watch import load_watch
        from predmaint.models.loading import load_model
        from predmaint.models.versions import ModelVersion

        get_current_context()["input_file"] = Path(path).name  # type: ignore[typeddict-unknown-key]
        config, pinned = settings(), ModelVersion(**model)
        champion = load_model(config, pinned.version)
        watch = load_watch(config, champion.info)  # the champion's drift reference
        summary = score_file(config, run_day(), Path(path), champion, watch=watch)
        return summary.to_dict()

    @task(multiple_outputs=False)
    def inference_report(parts: list[dict[str, Any]], model: dict[str, Any]) -> dict[str, Any]:
        """Aggregate the day's files into ``report.json`` (with the day's drift verdict); fail
        when no reading could be scored."""
        from predmaint.inference.batch import require_scored, write_report
        from predmaint.inference.reports import FileSummary
        from predmaint.inference.watch import load_watch
        from predmaint.models.versions import ModelVersion

        config, day, pinned = settings(), run_day(), ModelVersion(**model)
        summaries = [FileSummary.from_dict(part) for part in parts]
        watch = load_watch(config, pinned)
        report = write_report(config, day, summaries, pinned.version, watch=watch)
        require_scored(config, day, report)
        return report.summary()

    @task(multiple_outputs=False, outlets=[PREDICTIONS])
    def shadow_predictions(summary: dict[str, Any], *, outlet_events: Any = None) -> dict[str, Any]:
        """The challenger scores the published day apart; then publish the day for monitoring."""
        from predmaint.inference.shadow import run_shadow

        config, day = settings(), run_day()
        shadow = run_shadow(config, day)
        outlet_events[PREDICTIONS].extra = {
            "ds": day.isoformat(),
            "path": summary["predictions_dir"],
        }
        return {k: v for k, v in shadow.to_dict().items() if k != "parts"}

    @task
    def check_inputs_readable(summary: dict[str, Any]) -> None:
        """Fail a partial day (some files quarantined whole) visibly, once: a PredmaintError is
        not retried (``RETRY_POLICY``)."""
        from predmaint.errors import UnreadableInputError

        if summary["unreadable_files"]:
            raise UnreadableInputError(
                f"partial day {summary['ds']}: input file(s) quarantined whole, the others "
                f"scored: {', '.join(summary['unreadable_files'])} (reasons in report.json)"
            )

    model = load_production_model()
    files = process_new_data()
    model >> files
    parts = generate_predictions.partial(model=model).expand(path=files)
    summary = inference_report(parts, model)
    shadow_predictions(summary)
    check_inputs_readable(summary)


batch_inference_pipeline()
