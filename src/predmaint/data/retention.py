"""How long each family of day partitions is kept, and the one cleanup that applies it.

Every output predmaint writes per day (``processed/``, ``quarantine/``, ``inference/``,
``predictions/``, ``served/``, ``outcomes/``, ``monitoring/``, ``reports/``) is a ``ds=`` folder
that would otherwise grow forever. One rule for all of them: a partition older than its family's
retention, counted back from the day being processed, is removed; that day itself and any later
day are never touched (a backfill of an old day removes nothing newer).

Monitoring reads back what it needs, so a family it reads keeps at least that much whatever the
setting says: predictions, answers served and outcomes for the monitoring window (they are
joined there), monitoring reports for the page's history and the drift K-of-M rule. The plan says
when such a floor raised a family's retention.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from predmaint.settings import PARTITION_FAMILIES, Settings
from predmaint.storage import partitions_before

#: Days of monitoring history the daily page plots (drift, realized metrics per version).
REPORT_HISTORY_DAYS = 30


def _window(settings: Settings) -> int:
    return settings.monitoring_window_days


def _history(settings: Settings) -> int:
    return max(REPORT_HISTORY_DAYS, settings.drift_trigger_window)


#: Family name -> (its root, the days monitoring reads back from it, and why).
_FAMILIES: dict[str, tuple[Callable[[Settings], Path], Callable[[Settings], int] | None, str]] = {
    "processed": (lambda s: s.processed_dir, None, ""),
    "quarantine": (lambda s: s.quarantine_dir, None, ""),
    "inference": (lambda s: s.inference_dir, None, ""),
    "predictions": (lambda s: s.predictions_dir, _window, "the monitoring window"),
    "shadow": (lambda s: s.shadow_dir, _window, "the monitoring window"),
    "served": (lambda s: s.served_dir, _window, "the monitoring window"),
    "outcomes": (lambda s: s.outcomes_dir, _window, "the monitoring window"),
    "monitoring": (lambda s: s.monitoring_dir, _history, "the page's history and drift rule"),
    "reports": (lambda s: s.reports_dir, None, ""),
}
FAMILIES = PARTITION_FAMILIES
assert tuple(_FAMILIES) == FAMILIES, "one root and floor per family"


@dataclass(frozen=True)
class FamilyPlan:
    """One family's retention for one day: what is kept, why, and what goes."""

    family: str
    root: Path
    keep_days: int
    configured_days: int
    floor_reason: str | None  # set when monitoring's needs raised the configured retention
    cutoff: date  # partitions of days before it go
    expired: tuple[Path, ...]


@dataclass(frozen=True)
class RetentionPlan:
    """What cleaning up as of ``ds`` removes, family by family."""

    ds: date
    families: tuple[FamilyPlan, ...]

    @property
    def expired(self) -> list[Path]:
        return [path for family in self.families for path in family.expired]


def keep_days(settings: Settings, family: str) -> tuple[int, int, str | None]:
    """(days kept, days configured, why they differ) for one family."""
    _, floor, why = _FAMILIES[family]
    configured = settings.retention_days_per_family.get(family, settings.retention_days)
    needed = floor(settings) if floor else 0
    if needed > configured:
        return needed, configured, f"{why} needs {needed} days"
    return configured, configured, None


def plan_cleanup(settings: Settings, ds: date) -> RetentionPlan:
    """What a cleanup as of ``ds`` would remove; nothing is removed (a dry run prints this)."""
    plans = []
    for family in FAMILIES:
        root = _FAMILIES[family][0](settings)
        days, configured, reason = keep_days(settings, family)
        cutoff = ds - timedelta(days=days)
        expired = tuple(partitions_before(root, cutoff))
        plans.append(FamilyPlan(family, root, days, configured, reason, cutoff, expired))
    return RetentionPlan(ds, tuple(plans))


def clean_up(settings: Settings, ds: date) -> RetentionPlan:
    """Remove the partitions past retention as of ``ds``; returns what was removed."""
    plan = plan_cleanup(settings, ds)
    for path in plan.expired:
        shutil.rmtree(path, ignore_errors=True)
    return plan
