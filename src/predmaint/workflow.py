"""The main job, step by step: acquire → features → train → register/promote → simulate → batch
→ shadow challenger → monitoring (the day's report page).

Each step is a library call that the CLI, the DAGs and the tests share; this module only chains
them and times each step, so ``predmaint run`` can print where the time went.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from predmaint import locks
from predmaint.clock import utc_now
from predmaint.data.acquire import acquire
from predmaint.errors import HomeBusyError, PredmaintError
from predmaint.features.job import build_features, latest_features
from predmaint.inference.batch import list_inputs, run_batch, simulate_day
from predmaint.inference.reports import BatchReport
from predmaint.inference.shadow import run_shadow
from predmaint.models.candidates import CandidateRun
from predmaint.models.registry import Decision, promote, register
from predmaint.models.training import train_models, validate_training_data
from predmaint.monitoring.daily import MonitoringRun, monitor_day
from predmaint.settings import Settings

Notify = Callable[[str], None]
#: The main job's steps, in order (the CLI draws one progress bar tick per step).
MAIN_STEPS = (
    "acquire",
    "features",
    "train + promote",
    "simulate",
    "batch inference",
    "shadow",
    "monitoring",
)
#: The lock file in the project home held by a main job or a training command.
HOME_LOCK = ".predmaint.lock"


@dataclass(frozen=True)
class StepTiming:
    """One step of the main job: how long it took and a one-line summary of what it did."""

    name: str
    seconds: float
    summary: str


@dataclass(frozen=True)
class TrainingOutcome:
    """Every candidate trained, its registered version (by run id), and the promotion decision."""

    candidates: list[CandidateRun]
    versions: dict[str, str]
    decision: Decision

    def to_dict(self) -> dict[str, Any]:
        return {
            "candidates": [c.to_dict() for c in self.candidates],
            "versions": self.versions,
            "decision": self.decision.to_dict(),
        }


@dataclass
class MainJobResult:
    """What ``predmaint run`` did, filled step by step (a failed step leaves the rest unset)."""

    ds: date
    steps: list[StepTiming] = field(default_factory=list)
    training: TrainingOutcome | None = None
    batch_report: BatchReport | None = None
    monitoring: MonitoringRun | None = None


@contextmanager
def exclusive_home(settings: Settings, command: str) -> Iterator[None]:
    """Hold the project home for ``command``, or fail at once naming who holds it.

    Two main jobs (or trainings) in one home would write the same day's partitions and race to
    promote; the second is refused with one line rather than left to wait unseen. The lock is
    the kernel's (``flock``): a killed command leaves nothing to clean up.
    """
    home = settings.home.resolve()
    note = f"`{command}` started {utc_now():%Y-%m-%d %H:%M:%S} UTC"
    with ExitStack() as held:
        try:
            held.enter_context(locks.exclusive(home / HOME_LOCK, note, wait=False))
        except locks.LockBusy as busy:
            raise HomeBusyError(
                f"another predmaint command is working in {home}: "
                f"{busy.holder or 'a process that just started'}; wait for it to finish, "
                "or give this one its own PREDMAINT_HOME"
            ) from None
        yield


def train_and_promote(
    settings: Settings, ds: date, features_path: Path | None = None, progress: Notify | None = None
) -> TrainingOutcome:
    """Validate the training data, train every model kind, register them all, promote the best."""
    path = features_path or latest_features(settings, ds)
    validate_training_data(settings, path)
    candidates = train_models(settings, path, ds=ds.isoformat(), progress=progress)
    versions = register(settings, candidates)
    return TrainingOutcome(candidates, versions, promote(settings, candidates, versions))


def run_main_job(
    settings: Settings, ds: date, rows: int | None = None, notify: Notify | None = None
) -> MainJobResult:
    """Everything ``make run`` does, on embedded defaults unless settings say otherwise.

    One main job per project home at a time (:func:`exclusive_home`).
    """
    with exclusive_home(settings, "predmaint run"):
        return _run_main_job(settings, ds, rows, notify)


def _run_main_job(
    settings: Settings, ds: date, rows: int | None, notify: Notify | None
) -> MainJobResult:
    say = notify or (lambda _message: None)
    result = MainJobResult(ds)

    @contextmanager
    def step(name: str) -> Iterator[list[str]]:
        say(name)
        summary: list[str] = []
        start = time.perf_counter()
        yield summary
        result.steps.append(StepTiming(name, time.perf_counter() - start, "; ".join(summary)))

    with step("acquire") as out:
        acquired = acquire(settings)
        out.append(f"{acquired.rows} rows from {acquired.source}")
    with step("features") as out:
        features = build_features(settings, ds, acquired)
        quality = features.quality_report
        out.append(
            f"{quality.rows_kept} type {'/'.join(settings.machine_types)} rows kept, "
            f"{quality.rows_quarantined} quarantined, {len(quality.warnings)} label warning(s)"
        )
    with step("train + promote") as out:
        training = train_and_promote(settings, ds, features.features_path, progress=say)
        result.training = training
        out.extend(
            f"{c.kind} v{training.versions[c.run_id]} F1 {c.metrics['f1']:.3f}"
            for c in training.candidates
        )
        champion = training.decision.champion_version
        held = f"champion v{champion}" if champion else "no champion"
        out.append(f"{training.decision.action}: {held}")
    if training.decision.champion_version is None:
        raise PredmaintError(f"no champion to score {ds} with: {training.decision.reason}")
    with step("simulate") as out:
        arrived = list_inputs(settings, ds)
        if arrived:
            out.append(f"{len(arrived)} input file(s) already in {arrived[0].parent}")
        else:
            path = simulate_day(settings, ds, rows)
            out.append(f"{rows or settings.simulate_rows} readings -> {path}")
    with step("batch inference") as out:
        report = run_batch(settings, ds)
        result.batch_report = report
        out.append(
            f"{report.rows_scored} scored with v{report.model_version}, "
            f"{report.predicted_failures} predicted failures, {report.work_orders} work orders"
        )
    with step("shadow") as out:
        # apart from the batch step: the challenger cannot delay or fail the published day
        shadow = run_shadow(settings, ds)
        out.append(
            f"v{shadow.challenger_version} on {shadow.rows} readings, agreement "
            f"{shadow.agreement:.1%}"
            if shadow.challenger_version and shadow.agreement is not None
            else "no challenger"
        )
    with step("monitoring") as out:
        # report only: the main job trains and promotes by itself; acting is for the loop
        monitored = monitor_day(settings, ds)
        result.monitoring = monitored
        drift = monitored.report.drift
        out.append(
            "drift: "
            + (", ".join(drift.drifted_features) or "none" if drift is not None else "no check")
            + f"; page {monitored.page_path}"
        )
    return result
