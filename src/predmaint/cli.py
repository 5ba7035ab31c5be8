"""``predmaint``: the command line (Typer + rich). Each command is a thin call into the library."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from predmaint.errors import PredmaintError
from predmaint.settings import Settings

if TYPE_CHECKING:  # the commands import the library lazily: `predmaint --help` stays fast
    from predmaint.inference.reports import BatchReport
    from predmaint.workflow import TrainingOutcome

app = typer.Typer(
    name="predmaint",
    help="Predictive maintenance MLOps on AI4I 2020: data, features, training, registry, scoring.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
model_app = typer.Typer(help="The registered model: info, history, health check, rollback.")
app.add_typer(model_app, name="model")
console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")

DateOption = Annotated[
    str | None, typer.Option("--date", "-d", help="Logical day YYYY-MM-DD (default: today).")
]


def _day(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"--date must be YYYY-MM-DD, got {value!r}") from None


def _quiet_libraries() -> None:
    """Keep MLflow's and scikit-learn's chatter out of the user's terminal."""
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    for name in ("mlflow", "alembic", "urllib3", "skops"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def _settings() -> Settings:
    _quiet_libraries()
    return Settings()


def _guard(action: Callable[[], T]) -> T:
    """Run a command body; a :class:`PredmaintError` becomes one red line and exit code 1."""
    try:
        return action()
    except PredmaintError as exc:
        # soft_wrap: one line per error (the terminal wraps it; logs and pipes keep it whole)
        err_console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
        raise typer.Exit(1) from None


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


@contextmanager
def _spinner(description: str) -> Iterator[Callable[[str], None]]:
    """A pulsing bar for one long step; the yielded callback updates its description."""
    with _progress() as progress:
        task = progress.add_task(description, total=None)
        yield lambda message: progress.update(task, description=message)


def _print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, default=str, ensure_ascii=False) + "\n")


def _kv_table(title: str, rows: dict[str, Any]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows.items():
        table.add_row(key, str(value))
    return table


@app.command()
def acquire() -> None:
    """Download AI4I 2020 from UCI (or use PREDMAINT_RAW_DATA) and check its content."""
    from predmaint.data.acquire import acquire as do_acquire

    settings = _settings()
    with _spinner("acquiring AI4I 2020"):
        data = _guard(lambda: do_acquire(settings))
    console.print(
        _kv_table(
            "raw data",
            {
                "path": data.path,
                "source": data.source,
                "rows": data.rows,
                "rows by type": data.rows_by_type,
                "sha256": data.sha256,
                "notes": data.notes or "-",
            },
        )
    )


@app.command()
def features(day: DateOption = None) -> None:
    """Validate the raw data, derive features, validate them, clean old partitions."""
    from predmaint.features.job import build_features

    settings = _settings()
    ds = _day(day)
    with _spinner("feature engineering"):
        result = _guard(lambda: build_features(settings, ds))
    q = result.quality_report
    console.print(
        _kv_table(
            f"features {ds}",
            {
                "features": result.features_path,
                "rows kept": q.rows_kept,
                "rows quarantined": q.rows_quarantined,
                "quarantine": q.quarantine_path or "-",
                "label warnings": {k: v.count for k, v in q.warnings.items()} or "-",
                "partitions removed": len(result.removed_partitions),
            },
        )
    )


@app.command()
def train(day: DateOption = None) -> None:
    """Train Random Forest and SVM on the day's features, register both, promote the best."""
    from predmaint.workflow import exclusive_home, train_and_promote

    settings = _settings()
    ds = _day(day)

    def body(say: Callable[[str], None]) -> TrainingOutcome:
        with exclusive_home(settings, "predmaint train"):
            return train_and_promote(settings, ds, progress=say)

    with _spinner("training") as say:
        outcome = _guard(lambda: body(say))
    table = Table(title=f"candidates {ds}", title_justify="left")
    for column in (
        "model",
        "version",
        "F1",
        "precision",
        "recall",
        "ROC-AUC",
        "PR-AUC",
        "threshold",
    ):
        table.add_column(column)
    for c in outcome.candidates:
        m = c.metrics
        table.add_row(
            c.kind,
            outcome.versions[c.run_id],
            *(
                f"{m[k]:.4f}"
                for k in ("f1", "precision", "recall", "roc_auc", "pr_auc", "threshold")
            ),
        )
    console.print(table)
    console.print(f"[bold]{outcome.decision.action}[/]: {outcome.decision.reason}")


@app.command()
def simulate(
    rows: Annotated[int, typer.Option(min=1, help="Readings to generate.")] = 1000,
    day: DateOption = None,
    labels: Annotated[
        bool, typer.Option(help="Add failure labels from the documented rules.")
    ] = False,
    drift: Annotated[float, typer.Option(min=0.0, help="0 = documented process; >0 drifts.")] = 0.0,
    seed: Annotated[int | None, typer.Option(help="Seed (default: derived from the date).")] = None,
) -> None:
    """Write a day of simulated readings to inference/ds=DATE/ (what the batch job scores)."""
    from predmaint.inference.batch import simulate_day

    settings = _settings()
    path = _guard(
        lambda: simulate_day(settings, _day(day), rows, labels=labels, drift=drift, seed=seed)
    )
    console.print(f"wrote {rows} readings to {path}")


@app.command()
def infer(
    day: DateOption = None,
    rows: Annotated[int | None, typer.Option(help="Readings to simulate if none arrived.")] = None,
) -> None:
    """Score the day's readings with the champion; write predictions/ds=DATE/ and a report.

    Exit status: 0 every input file was read and scored; 3 (partial) some files could not be
    read and were quarantined whole, the others were scored and published; 1 failure.
    """
    from predmaint.inference.batch import PARTIAL_EXIT_CODE, run_batch

    settings = _settings()
    ds = _day(day)
    with _spinner("batch inference"):
        report = _guard(lambda: run_batch(settings, ds, rows))
    for name, reason in report.quality.unreadable_files.items():
        err_console.print(f"[bold yellow]quarantined whole:[/] {name}: {reason}", soft_wrap=True)
    _print_batch(report)
    if report.status == "partial":
        raise typer.Exit(PARTIAL_EXIT_CODE)


@app.command()
def shadow(day: DateOption = None) -> None:
    """Score the day's published predictions with the challenger; write shadow/ds=DATE/.

    Apart from `infer`, so that a slow or broken challenger never delays or fails the day's
    predictions; monitoring joins its answers to them by prediction id.
    """
    from predmaint.inference.shadow import run_shadow

    settings = _settings()
    ds = _day(day)
    with _spinner("shadow challenger"):
        report = _guard(lambda: run_shadow(settings, ds))
    agreement = f"{report.agreement:.2%}" if report.agreement is not None else "-"
    console.print(
        _kv_table(
            f"shadow {report.ds}",
            {
                "output": report.shadow_dir,
                "champion version": report.champion_version or "- (day not scored)",
                "challenger version": report.challenger_version or "- (none)",
                "readings": f"{report.rows:,}",
                "agreement": agreement,
            },
        )
    )


def _print_batch(report: BatchReport) -> None:
    console.print(
        _kv_table(
            f"predictions {report.ds}",
            {
                "output": report.predictions_dir,
                "inputs": f"{report.inputs} file(s)"
                + (" (simulated day)" if report.simulated else ""),
                "model version": report.model_version,
                "rows scored": report.rows_scored,
                "rows quarantined": report.rows_quarantined,
                "repeated readings (kept)": report.quality.repeated_readings,
                "status": report.status,
                "risk levels": report.risk_levels,
                "predicted failures": report.predicted_failures,
                "work orders": report.work_orders,
            },
        )
    )


@app.command()
def run(
    day: DateOption = None,
    rows: Annotated[int | None, typer.Option(help="Readings to simulate for the batch.")] = None,
) -> None:
    """The main job: acquire → features → train → register/promote → simulate → batch scoring."""
    from predmaint.workflow import MAIN_STEPS, run_main_job

    settings = _settings()
    ds = _day(day)
    console.print(f"predmaint run for {ds} (tracking: {settings.resolved_tracking_uri})")
    started = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task("starting", total=len(MAIN_STEPS))

        def say(message: str) -> None:
            if message in MAIN_STEPS and MAIN_STEPS.index(message) > 0:
                progress.advance(task)
            progress.update(task, description=message)

        result = _guard(lambda: run_main_job(settings, ds, rows, notify=say))
    table = Table(title="predmaint run", title_justify="left")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    table.add_column("result")
    for timing in result.steps:
        table.add_row(timing.name, f"{timing.seconds:.1f}", timing.summary)
    table.add_row("[bold]total", f"[bold]{time.perf_counter() - started:.1f}", "")
    console.print(table)
    if result.training is not None:
        console.print(
            f"[bold]{result.training.decision.action}[/]: {result.training.decision.reason}"
        )
    console.print(f"outputs: {settings.data_root} | {mlflow_ui_hint()}")
    if result.monitoring is not None:
        page = result.monitoring.page_path
        console.print(f"[bold]the day's report page:[/] {page}", soft_wrap=True, highlight=False)


@model_app.command("info")
def model_info(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    alias: Annotated[str, typer.Option(help="Alias to describe.")] = "champion",
) -> None:
    """The champion's version, run id, model type, threshold and test metrics."""
    from predmaint.models.versions import champion_info

    settings = _settings()
    info = _guard(lambda: champion_info(settings, alias))
    rows = info.to_dict()
    rows.update(rows.pop("metrics"))  # test metrics as top-level keys: f1, precision, ...
    if as_json:
        _print_json(rows)
        return
    console.print(_kv_table(f"{info.name}@{alias}", rows))


@model_app.command("history")
def model_history(
    as_json: Annotated[bool, typer.Option("--json", help="JSON list on stdout.")] = False,
) -> None:
    """Every registration, promotion, rollback and check, oldest first, with reasons."""
    from predmaint.models.registry import history

    settings = _settings()
    events = _guard(lambda: history(settings))
    if as_json:
        _print_json([e.to_dict() for e in events])
        return
    console.print(f"[bold]{settings.model_name}[/] history ({len(events)} events, oldest first)")
    for e in events:
        aliases = f" [cyan]@{', @'.join(e.aliases)}[/]" if e.aliases else ""
        console.print(
            f"{e.time:%Y-%m-%d %H:%M:%S}  [bold]v{e.version}[/] {e.model_type} "
            f"(test F1 {e.test_f1:.3f})  [bold magenta]{e.action}[/]{aliases}"
        )
        console.print(f"    {e.reason}", style="dim", highlight=False)
        if e.evidence:
            evidence = json.dumps(e.evidence, ensure_ascii=False, default=str)
            console.print(f"    evidence: {evidence}", style="dim", highlight=False)


@model_app.command("check")
def model_check(
    data: Annotated[
        Path | None, typer.Option(help="Labelled CSV/Parquet (default: simulated day).")
    ] = None,
    day: DateOption = None,
    rows: Annotated[
        int, typer.Option(min=50, help="Simulated rows when --data is not given.")
    ] = 5000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Score the champion on fresh labelled data; roll back if it degraded and the previous
    champion does better."""
    from predmaint.data.simulate import simulate_readings
    from predmaint.models.registry import check_champion, load_labelled

    settings = _settings()
    if data is not None:
        frame = _guard(lambda: load_labelled(data))
        source = str(data)
    else:
        frame = simulate_readings(
            rows, _day(day), machine_types=settings.machine_types, labels=True
        )
        source = f"{rows} simulated labelled readings"
    with _spinner("checking the champion"):
        decision = _guard(lambda: check_champion(settings, frame, source))
    if as_json:
        _print_json(decision.to_dict())
        return
    console.print(f"[bold]{decision.action}[/]: {decision.reason}")


@model_app.command("rollback")
def model_rollback(
    to: Annotated[
        str | None, typer.Option(help="Version to restore (default: previous-champion).")
    ] = None,
    reason: Annotated[
        str, typer.Option(help="Why; recorded on both versions.")
    ] = "manual rollback",
) -> None:
    """Move the champion alias back by hand."""
    from predmaint.models.registry import rollback

    settings = _settings()
    decision = _guard(lambda: rollback(settings, to, reason))
    console.print(
        f"[bold]rolled back[/]: champion is now v{decision.champion_version} "
        f"(was v{decision.replaced_version}); reason: {reason}"
    )
    if decision.previous_champion_version is not None:
        console.print(
            f"previous-champion is now v{decision.previous_champion_version}: "
            "a further `model rollback` returns to it"
        )
    else:
        console.print("no earlier champion is left: a further `model rollback` needs --to VERSION")


@app.command()
def feedback(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet: prediction_id, outcome, ...")],
    day: DateOption = None,
    window_days: Annotated[
        int | None, typer.Option(min=1, help="Days of predictions an id may come from.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Record what happened after predictions: columns prediction_id, outcome (failure or
    no_failure), optional failure_mode (TWF/HDF/PWF/OSF/RNF), observed_at, note. Unknown ids and
    bad values are quarantined with a reason; the same id recorded twice keeps the latest."""
    from predmaint.monitoring.outcomes import read_outcome_file, record_outcomes
    from predmaint.monitoring.predictions import known_prediction_ids

    settings = _settings()
    if not file.is_file():
        raise typer.BadParameter(f"{file} does not exist", param_hint="FILE")
    frame = _guard(lambda: read_outcome_file(file))
    ds = _day(day)  # the day the outcomes are recorded for: ids of its window are known
    known = known_prediction_ids(settings, ds, window_days or settings.monitoring_window_days)
    result = _guard(
        lambda: record_outcomes(settings, frame, known_ids=known, source=file.name, ds=ds)
    )
    if as_json:
        _print_json(result.to_dict())
        return
    console.print(
        _kv_table(
            f"feedback {file.name}",
            {
                "recorded": result.rows_recorded,
                "quarantined": result.rows_quarantined,
                "reasons": result.quarantine_reasons or "-",
                "recorded in": result.recorded_path or "-",
                "quarantine": result.quarantine_path or "-",
            },
        )
    )


@app.command()
def monitor(
    day: DateOption = None,
    window_days: Annotated[
        int | None, typer.Option(min=1, help="Days joined to outcomes (default 30).")
    ] = None,
    act: Annotated[
        bool,
        typer.Option(help="Apply the decisions: roll back, promote, retrain (off: report only)."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON on stdout.")] = False,
) -> None:
    """Realized performance per model version, drift, shadow comparison and the actions due;
    writes data/monitoring/ds=DATE/report.json and the page data/reports/ds=DATE/index.html and
    logs the day to the MLflow experiment predmaint-monitoring."""
    from predmaint.monitoring.daily import monitor_day

    settings = _settings()
    ds = _day(day)
    retrain = _in_process_retraining(settings, ds) if act else None
    with _spinner(f"monitoring {ds}"):
        run = _guard(lambda: monitor_day(settings, ds, window_days, act=act, retrain=retrain))
    if as_json:
        _print_json(run.to_dict())
        return
    table = Table(title=f"realized performance {run.report.performance.start} .. {ds}")
    for column in ("version", "labelled", "precision", "recall", "F1 (95 % CI)", "alert rate"):
        table.add_column(column)
    for version, entry in run.report.performance.by_version.items():
        m = entry.metrics.to_dict()
        low, high = m["f1_ci95"]
        table.add_row(
            f"v{version}" + (" (champion)" if version == run.report.champion_version else ""),
            str(m["labelled"]),
            "-" if m["precision"] is None else f"{m['precision']:.3f}",
            "-" if m["recall"] is None else f"{m['recall']:.3f}",
            "-" if m["f1"] is None else f"{m['f1']:.3f} ({low:.3f}-{high:.3f})",
            "-" if entry.alert_rate is None else f"{entry.alert_rate:.2%}",
        )
    console.print(table)
    drift = run.report.drift
    if drift is None:
        console.print("drift: no check (no batch, or a champion without a drift reference)")
    else:
        found = ", ".join(drift.drifted_features) or "none"
        console.print(f"drift: {'detected in ' + found if drift.drift_detected else 'none'}")
    for applied in run.report.applied:
        console.print(
            f"[bold]{applied.action.kind.value}[/] ({applied.status}): {applied.action.reason}"
            + (f" -> {applied.detail}" if applied.detail else ""),
            highlight=False,
        )
    console.print(f"report: {run.report_path}", soft_wrap=True, highlight=False)
    console.print(f"page: {run.page_path}", soft_wrap=True, highlight=False)


@app.command()
def cleanup(
    day: DateOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be removed; remove nothing.")
    ] = False,
) -> None:
    """Remove day partitions past their retention (PREDMAINT_RETENTION_DAYS, per family with
    PREDMAINT_RETENTION_DAYS_PER_FAMILY); the day itself, later days and what monitoring still
    reads are kept. The monitoring and feature jobs do this too."""
    from predmaint.data.retention import clean_up, plan_cleanup

    settings = _settings()
    ds = _day(day)
    plan = plan_cleanup(settings, ds) if dry_run else clean_up(settings, ds)
    table = Table(
        title=f"retention as of {ds}" + (" (dry run: nothing removed)" if dry_run else "")
    )
    for column in ("family", "kept", "removes before", "would remove" if dry_run else "removed"):
        table.add_column(column)
    for family in plan.families:
        kept = f"{family.keep_days} days"
        if family.floor_reason:
            kept += f" (set {family.configured_days}; {family.floor_reason})"
        table.add_row(family.family, kept, family.cutoff.isoformat(), str(len(family.expired)))
    console.print(table)
    for path in plan.expired:
        console.print(f"{'would remove' if dry_run else 'removed'} {path}", highlight=False)


def _in_process_retraining(settings: Settings, ds: date) -> Callable[[Any], str]:
    """Retraining run here and now (the DAG requests it through an Asset instead)."""

    def retrain(_action: Any) -> str:
        from predmaint.monitoring.retraining import write_retraining_data
        from predmaint.workflow import train_and_promote

        data = write_retraining_data(settings, ds)
        outcome = train_and_promote(settings, ds, Path(data.path))
        return f"{outcome.decision.action}: {outcome.decision.reason}"

    return retrain


@app.command()
def demo(
    days: Annotated[int, typer.Option(min=2, help="Days to play.")] = 14,
    drift_from: Annotated[int, typer.Option(min=1, help="First drifted day (0-based).")] = 6,
    scenario: Annotated[
        str, typer.Option(help="Drift: cooling_loss (+2 K) or slow_spindle (-10 % rpm).")
    ] = "cooling_loss",
    rows: Annotated[int, typer.Option(min=100, help="Readings per day.")] = 2000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Play the loop over simulated days ending today: normal days, then drift; outcomes come
    back late; drift is detected, retraining triggered, the champion replaced or rolled back.
    Trains a first champion if there is none."""
    from datetime import timedelta

    from predmaint.data.scenarios import SCENARIOS
    from predmaint.errors import ModelNotFoundError
    from predmaint.features.job import build_features
    from predmaint.models.versions import champion_info
    from predmaint.monitoring.demo import play_demo
    from predmaint.workflow import train_and_promote

    if scenario not in SCENARIOS or scenario == "normal":
        raise typer.BadParameter("--scenario must be cooling_loss or slow_spindle")
    settings = _settings()
    first = date.today() - timedelta(days=days - 1)
    start = first - timedelta(days=1)

    def train(ds: date, path: Path | None = None) -> str:
        outcome = train_and_promote(settings, ds, path)
        return f"{outcome.decision.action}: {outcome.decision.reason}"

    with _spinner("demo") as say:
        try:
            champion_info(settings)
        except ModelNotFoundError:
            say(f"{start}: features and a first champion")
            _guard(lambda: build_features(settings, start))
            _guard(lambda: train(start))
        result = _guard(
            lambda: play_demo(
                settings,
                train,
                days=days,
                first=first,
                drift_from=drift_from,
                scenario=scenario,
                rows=rows,
                notify=say,
            )
        )
    if as_json:
        _print_json(result.to_dict())
        return
    table = Table(title=f"predmaint demo: {days} days", title_justify="left")
    for column in ("day", "scenario", "champion", "shadow", "outcomes", "drift", "actions"):
        table.add_column(column)
    for d in result.days:
        acts = "; ".join(
            f"{a['action']} ({a['status']})" for a in d.actions if a["action"] != "none"
        )
        table.add_row(
            d.ds.isoformat(),
            d.scenario,
            f"v{d.champion_version}",
            f"v{d.challenger_version}" if d.challenger_version else "-",
            str(d.outcomes_recorded),
            ", ".join(d.drifted_features[:3]) if d.drift_detected else "-",
            acts or "-",
        )
    console.print(table)
    console.print(f"pages: {settings.reports_dir} (latest: {result.days[-1].page})")
    console.print(f"history: `predmaint model history`; {mlflow_ui_hint()}")


def mlflow_ui_hint() -> str:
    """Where to look at the runs from where this CLI runs: ``make mlflow`` exists in a checkout,
    not in the deployment's containers (their images set PREDMAINT_IN_CONTAINER), where the MLflow
    server is the compose service published on the Docker host."""
    if os.environ.get("PREDMAINT_IN_CONTAINER"):
        return "MLflow UI: the deployment's mlflow service, port MLFLOW_PORT (5000) of the host"
    return "MLflow UI: `make mlflow` -> http://localhost:5000"


@app.command("mlflow-ui")
def mlflow_ui(
    port: Annotated[int, typer.Option(help="Port of the MLflow UI.")] = 5000,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
) -> None:
    """Open the MLflow UI over the store that `predmaint run` writes (embedded by default)."""
    settings = _settings()
    from predmaint.models.tracking import configure

    configure(settings)  # creates the embedded store and experiment if this is the first command
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        host,
        "--port",
        str(port),
        "--backend-store-uri",
        settings.resolved_tracking_uri,
    ]
    if settings.is_embedded_store:
        command += ["--default-artifact-root", settings.artifact_root.as_uri()]
    shown = "localhost" if host == "127.0.0.1" else host
    console.print(f"MLflow UI on http://{shown}:{port}  (Ctrl-C to stop)")
    os.execv(sys.executable, command)


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface (default PREDMAINT_API_HOST).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (default PREDMAINT_API_PORT, 8000).")
    ] = None,
) -> None:
    """The real-time API (POST /predict) following the champion alias; docs at /docs."""
    import uvicorn

    settings = _settings()
    # uvloop + httptools, no per-request access log line (request counts and latencies are in
    # /metrics): a log line costs more than scoring a reading.
    uvicorn.run(
        "predmaint.api.main:create_app",
        factory=True,
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level="info",
        loop="uvloop",
        http="httptools",
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":  # pragma: no cover
    app()
