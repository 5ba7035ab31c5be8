"""What monitoring does about what it sees: pure rules, from evidence to actions.

The rules (thresholds from settings, :class:`DecisionRules`):

1. **Rollback**: the champion's realized F1, on at least ``min_outcomes`` labelled readings, is
   below its registered F1 minus ``tolerance``, and the previous champion, scored on the same
   readings, has a higher F1.
2. **Promote**: the shadow challenger beats the champion by more than ``promotion_margin`` in
   F1 on at least ``min_outcomes`` labelled readings both scored. Not when a rollback is due.
3. **Retrain**: drift was detected on at least ``drift_days`` (K) of the last ``drift_window``
   (M) days; or the champion degraded (rule 1's test) and neither rollback nor promotion gives
   a better version.

No rule acts on fewer than ``min_outcomes`` outcomes; drift needs no outcomes. When nothing is
due, one ``none`` action says why, so a report never leaves the reader guessing. The registry,
the Airflow Asset and the history are wired by the callers; these functions decide only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from predmaint.monitoring.metrics import RealizedMetrics
from predmaint.settings import Settings


class ActionKind(StrEnum):
    ROLLBACK = "rollback"
    PROMOTE = "promote"
    RETRAIN = "retrain"
    NONE = "none"


@dataclass(frozen=True)
class DecisionRules:
    min_outcomes: int = 50
    tolerance: float = 0.05
    promotion_margin: float = 0.0
    drift_days: int = 3
    drift_window: int = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> DecisionRules:
        return cls(
            min_outcomes=settings.min_outcomes,
            tolerance=settings.rollback_tolerance,
            promotion_margin=settings.promotion_margin,
            drift_days=settings.drift_trigger_days,
            drift_window=settings.drift_trigger_window,
        )


@dataclass(frozen=True)
class VersionEvidence:
    """A registered version and how it did on the outcomes it is compared on."""

    version: str
    registered_f1: float | None
    realized: RealizedMetrics | None


@dataclass(frozen=True)
class DriftDay:
    """One day's drift verdict (``detected`` None: no verdict, e.g. too few readings)."""

    ds: str
    detected: bool | None
    features: tuple[str, ...] = ()


@dataclass(frozen=True)
class DecisionInputs:
    """Everything the rules look at.

    ``champion.realized``: the champion on its own labelled readings in the window.
    ``previous.realized``: the previous champion re-scored on those same readings.
    ``challenger.realized`` and ``champion_on_shared``: both on the labelled readings the
    shadow challenger also scored (:class:`~predmaint.monitoring.performance.ShadowComparison`).
    ``drift``: the last days' verdicts, oldest first.
    """

    champion: VersionEvidence
    previous: VersionEvidence | None = None
    challenger: VersionEvidence | None = None
    champion_on_shared: RealizedMetrics | None = None
    drift: Sequence[DriftDay] = ()
    #: The day a retraining was last requested within the drift window, if any: drift that
    #: persists while that retraining runs (or after it kept the champion) asks for no other.
    retrain_requested_on: str | None = None


@dataclass(frozen=True)
class Action:
    """One decision with the evidence behind it (what the registry history records)."""

    kind: ActionKind
    reason: str
    from_version: str | None = None
    to_version: str | None = None
    labelled: int = 0
    metrics: Mapping[str, float | None] = field(default_factory=dict)
    drifted_features: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.kind.value,
            "reason": self.reason,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "evidence": {
                "labelled": self.labelled,
                "metrics": {k: None if v is None else round(v, 6) for k, v in self.metrics.items()},
                "drifted_features": list(self.drifted_features),
            },
        }


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _degraded(inputs: DecisionInputs, rules: DecisionRules) -> tuple[bool, str]:
    champion = inputs.champion
    realized = champion.realized
    if realized is None or realized.labelled < rules.min_outcomes:
        count = 0 if realized is None else realized.labelled
        return False, f"champion v{champion.version}: {count} labelled < {rules.min_outcomes}"
    if realized.f1 is None or champion.registered_f1 is None:
        return False, f"champion v{champion.version}: F1 undefined on {realized.labelled} outcomes"
    floor = champion.registered_f1 - rules.tolerance
    if realized.f1 >= floor:
        return False, (
            f"champion v{champion.version}: realized F1 {_fmt(realized.f1)} >= "
            f"{_fmt(floor)} (registered {_fmt(champion.registered_f1)} - {rules.tolerance})"
        )
    return True, (
        f"champion v{champion.version}: realized F1 {_fmt(realized.f1)} on "
        f"{realized.labelled} outcomes < registered {_fmt(champion.registered_f1)} "
        f"- tolerance {rules.tolerance}"
    )


def degraded(inputs: DecisionInputs, rules: DecisionRules) -> bool:
    """Whether the champion degraded (rule 1's test): the previous champion is worth re-scoring."""
    return _degraded(inputs, rules)[0]


def _rollback(inputs: DecisionInputs, rules: DecisionRules, why: str) -> Action | None:
    previous, champion = inputs.previous, inputs.champion
    if previous is None or previous.realized is None or champion.realized is None:
        return None
    mine, theirs = champion.realized.f1, previous.realized.f1
    if previous.realized.labelled < rules.min_outcomes or theirs is None or mine is None:
        return None
    if theirs <= mine:
        return None
    return Action(
        ActionKind.ROLLBACK,
        f"{why}; previous champion v{previous.version} does better on the same outcomes "
        f"(F1 {_fmt(theirs)} > {_fmt(mine)})",
        from_version=champion.version,
        to_version=previous.version,
        labelled=champion.realized.labelled,
        metrics={
            "champion_f1": mine,
            "champion_registered_f1": champion.registered_f1,
            "previous_f1": theirs,
            "champion_precision": champion.realized.precision,
            "champion_recall": champion.realized.recall,
        },
    )


def _promotion(inputs: DecisionInputs, rules: DecisionRules) -> tuple[Action | None, str]:
    challenger, shared = inputs.challenger, inputs.champion_on_shared
    if challenger is None or challenger.realized is None or shared is None:
        return None, "no shadow challenger with outcomes"
    count = min(challenger.realized.labelled, shared.labelled)
    theirs, mine = challenger.realized.f1, shared.f1
    if count < rules.min_outcomes:
        return (
            None,
            f"challenger v{challenger.version}: {count} shared labelled < {rules.min_outcomes}",
        )
    if theirs is None or mine is None or theirs <= mine + rules.promotion_margin:
        return None, (
            f"challenger v{challenger.version}: F1 {_fmt(theirs)} does not beat champion "
            f"{_fmt(mine)} by more than {rules.promotion_margin}"
        )
    action = Action(
        ActionKind.PROMOTE,
        f"challenger v{challenger.version} beats champion v{inputs.champion.version} on "
        f"{count} shared outcomes: F1 {_fmt(theirs)} > {_fmt(mine)} + margin "
        f"{rules.promotion_margin}",
        from_version=inputs.champion.version,
        to_version=challenger.version,
        labelled=count,
        metrics={
            "challenger_f1": theirs,
            "champion_f1": mine,
            "challenger_precision": challenger.realized.precision,
            "challenger_recall": challenger.realized.recall,
        },
    )
    return action, ""


def _drift_retrain(inputs: DecisionInputs, rules: DecisionRules) -> tuple[Action | None, str]:
    recent = list(inputs.drift)[-rules.drift_window :]
    drifted = [day for day in recent if day.detected]
    if len(drifted) < rules.drift_days:
        return (
            None,
            f"drift on {len(drifted)} of the last {len(recent)} days (< {rules.drift_days})",
        )
    if inputs.retrain_requested_on is not None:
        return None, (
            f"drift on {len(drifted)} of the last {len(recent)} days; retraining already "
            f"requested on {inputs.retrain_requested_on}"
        )
    features = tuple(dict.fromkeys(f for day in drifted for f in day.features))
    action = Action(
        ActionKind.RETRAIN,
        f"drift detected on {len(drifted)} of the last {len(recent)} days "
        f"(rule: {rules.drift_days} of {rules.drift_window}): {', '.join(features)}",
        from_version=inputs.champion.version,
        metrics={"drift_days": float(len(drifted)), "days_checked": float(len(recent))},
        drifted_features=features,
    )
    return action, ""


def decide(inputs: DecisionInputs, rules: DecisionRules) -> tuple[Action, ...]:
    """The actions due, in the order to apply them (a model move first, then retraining)."""
    actions: list[Action] = []
    degraded, why = _degraded(inputs, rules)
    notes = [why]
    moved = _rollback(inputs, rules, why) if degraded else None
    if moved is None:
        moved, note = _promotion(inputs, rules)
        notes.append(note)
    if moved is not None:
        actions.append(moved)
    retrain, note = _drift_retrain(inputs, rules)
    notes.append(note)
    if retrain is None and degraded and moved is None:
        realized = inputs.champion.realized
        retrain = Action(
            ActionKind.RETRAIN,
            f"{why}; no better version to move to",
            from_version=inputs.champion.version,
            labelled=realized.labelled if realized else 0,
            metrics={
                "champion_f1": realized.f1 if realized else None,
                "champion_registered_f1": inputs.champion.registered_f1,
            },
        )
    if retrain is not None:
        actions.append(retrain)
    if not actions:
        actions.append(Action(ActionKind.NONE, "; ".join(n for n in notes if n)))
    return tuple(actions)
