"""Acting on the decisions: the registry moves with its evidence, retraining is requested.

Rollback and promotion go through :func:`predmaint.models.registry.act_with_evidence`, which
writes the evidence into the registry history (``predmaint model history`` shows it). A retraining
is recorded there too, and then started by the shell that runs monitoring: the Airflow DAG emits
the Asset that schedules ``model_training_pipeline``; the CLI and the demo pass a ``retrain``
callable that trains in-process. Nothing is applied unless asked (``act``), so ``predmaint
monitor`` can be run to look without touching the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from predmaint.errors import PredmaintError
from predmaint.models.registry import act_with_evidence
from predmaint.monitoring.decisions import Action, ActionKind
from predmaint.settings import Settings

#: ``applied``: done (registry moved, or retraining ran); ``requested``: retraining recorded and
#: left to the caller (the DAG's Asset); ``skipped``: acting was off; ``failed``: see detail.
Status = Literal["applied", "requested", "skipped", "failed", "none"]
Retrain = Callable[[Action], str]


@dataclass(frozen=True)
class AppliedAction:
    """What became of one decided action."""

    action: Action
    status: Status
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**self.action.to_dict(), "status": self.status, "detail": self.detail}


def evidence_of(action: Action, ds: str) -> dict[str, Any]:
    """The evidence recorded in the history: the day, counts, metrics and drifted features."""
    payload = action.to_dict()["evidence"]
    return {"ds": ds, "reason": action.reason, **payload}


def apply_actions(
    settings: Settings,
    ds: str,
    actions: tuple[Action, ...],
    *,
    act: bool,
    retrain: Retrain | None = None,
) -> tuple[AppliedAction, ...]:
    """Apply ``actions`` in order; a model move that fails stops nothing else (it says why)."""
    done = []
    for action in actions:
        if action.kind == ActionKind.NONE:
            done.append(AppliedAction(action, "none"))
            continue
        if not act:
            done.append(AppliedAction(action, "skipped", "acting is off (monitor --act)"))
            continue
        evidence = evidence_of(action, ds)
        try:
            if action.kind == ActionKind.RETRAIN:
                act_with_evidence(settings, "retrain", action.reason, evidence)
                if retrain is None:
                    done.append(AppliedAction(action, "requested", "retraining requested"))
                else:
                    done.append(AppliedAction(action, "applied", retrain(action)))
                continue
            kind: Literal["rollback", "promote"] = (
                "rollback" if action.kind == ActionKind.ROLLBACK else "promote"
            )
            decision = act_with_evidence(
                settings, kind, action.reason, evidence, to_version=action.to_version
            )
            done.append(
                AppliedAction(action, "applied", f"champion is now v{decision.champion_version}")
            )
        except PredmaintError as error:
            done.append(AppliedAction(action, "failed", str(error)))
    return tuple(done)
