"""The MLflow Model Registry: register, promote by F1, roll back, and keep the history.

Aliases, not the deprecated stages: ``champion`` (served), ``challenger`` (best non-champion of
the last round), ``previous-champion`` (what a rollback returns to). Every decision is written on
the versions it concerns as an ``event.<UTC time>`` tag (its value holds the action, the reason
and the ISO time), so the registry itself is the audit log.
"""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from predmaint.clock import utc_now
from predmaint.data.columns import SENSOR_COLUMNS, TARGET
from predmaint.errors import TRAIN_HINT, ModelNotFoundError, PredmaintError
from predmaint.models.candidates import TEST_SPLIT_ARTIFACT, CandidateRun, rank
from predmaint.models.evaluation import classification_metrics
from predmaint.models.loading import load_pyfunc
from predmaint.models.tracking import (
    CHALLENGER,
    CHAMPION,
    PREVIOUS_CHAMPION,
    client,
    store_lock,
)
from predmaint.models.versions import METRIC_TAGS
from predmaint.settings import Settings

EVENT_PREFIX = "event."
#: The tag key's time form (tag keys may not hold ':'); the event's value holds ISO 8601 time.
_KEY_TIME = "%Y-%m-%dT%H-%M-%S.%fZ"

#: What a promotion, rollback or check did (the outcome of one call).
DecisionAction = Literal["promoted", "kept", "not-promoted", "rolled-back", "none", "alert"]
#: What the history records on one version.
EventAction = Literal[
    "registered",
    "promoted",
    "demoted",
    "kept",
    "not-promoted",
    "challenger",
    "restored",
    "rolled-back",
    "checked-ok",
    "degraded",
    "retrain-requested",
]
#: What monitoring may do to the registry on its own (issue 10).
AutomaticAction = Literal["rollback", "promote", "retrain"]


@dataclass(frozen=True)
class Decision:
    """What a promotion or rollback did and why (plain data for CLI, XCom and history)."""

    action: DecisionAction
    reason: str
    champion_version: str | None
    previous_champion_version: str | None = None
    challenger_version: str | None = None
    scores: dict[str, float] = field(default_factory=dict)
    #: The champion a rollback moved away from (``None`` for other actions).
    replaced_version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class HistoryEvent:
    """One recorded event on one version, with the version's type, test F1 and current aliases."""

    time: datetime
    version: str
    model_type: str
    test_f1: float
    aliases: list[str]
    action: str
    reason: str
    #: What an automatic action was based on (counts, metrics, drifted features); {} otherwise.
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "time": self.time.isoformat()}


def _record(
    mlflow_client: MlflowClient,
    name: str,
    version: str,
    action: EventAction,
    reason: str,
    evidence: dict[str, Any] | None = None,
) -> None:
    """Append an event to a version's history (one tag per event, keyed by time)."""
    now = utc_now()
    key = f"{EVENT_PREFIX}{now.strftime(_KEY_TIME)}"
    event: dict[str, Any] = {"action": action, "reason": reason, "time": now.isoformat()}
    if evidence:
        event["evidence"] = evidence
    mlflow_client.set_model_version_tag(name, version, key, json.dumps(event))
    mlflow_client.set_model_version_tag(name, version, "last_decision", action)
    mlflow_client.set_model_version_tag(name, version, "last_decision_reason", reason)


def _crown(
    mlflow_client: MlflowClient,
    name: str,
    current: str | None,
    new: str,
    reason: str,
    evidence: dict[str, Any] | None = None,
) -> None:
    """``new`` becomes champion and the displaced one (if any) previous-champion, both recorded:
    the one promotion move of a training round and of monitoring alike."""
    if current is not None:
        mlflow_client.set_registered_model_alias(name, PREVIOUS_CHAMPION, current)
        _record(mlflow_client, name, current, "demoted", reason, evidence)
    mlflow_client.set_registered_model_alias(name, CHAMPION, new)
    _record(mlflow_client, name, new, "promoted", reason, evidence)


def _alias_version(mlflow_client: MlflowClient, name: str, alias: str) -> str | None:
    try:
        return str(mlflow_client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def register(settings: Settings, candidates: list[CandidateRun]) -> dict[str, str]:
    """Register every candidate as a new version; returns ``{run_id: version}``.

    Each version carries its model type, threshold and test metrics as tags, so ``model info``
    and the API need one registry call, not a run lookup.
    """
    mlflow_client = client(settings)
    versions: dict[str, str] = {}
    for candidate in candidates:
        with contextlib.redirect_stderr(io.StringIO()):  # MLflow prints each registration
            result = mlflow.register_model(candidate.model_uri, settings.model_name)
        version = str(result.version)
        tags = {
            "model_type": candidate.kind,
            "run_id": candidate.run_id,
            "threshold": repr(candidate.threshold),
            **{
                name: repr(candidate.metrics[name])
                for name in METRIC_TAGS
                if name in candidate.metrics
            },
        }
        for key, value in tags.items():
            mlflow_client.set_model_version_tag(settings.model_name, version, key, value)
        _record(
            mlflow_client,
            settings.model_name,
            version,
            "registered",
            f"trained as {candidate.kind} in run {candidate.run_id}; "
            f"test F1 {candidate.metrics['f1']:.4f}",
        )
        versions[candidate.run_id] = version
    return versions


def _test_split(mlflow_client: MlflowClient, run_id: str) -> pd.DataFrame:
    local = mlflow_client.download_artifacts(run_id, TEST_SPLIT_ARTIFACT)
    return pd.read_parquet(local)


def score_version(settings: Settings, version: str, data: pd.DataFrame) -> dict[str, float]:
    """Metrics of a registered version on labelled data (its own threshold applied)."""
    model = load_pyfunc(settings, version)
    output = model.predict(data[list(SENSOR_COLUMNS)])
    threshold = float(model.unwrap_python_model().threshold)
    return classification_metrics(
        data[TARGET].astype(int).to_numpy(), output["failure_probability"].to_numpy(), threshold
    )


def promote(
    settings: Settings, candidates: list[CandidateRun], versions: dict[str, str]
) -> Decision:
    """Make the best candidate champion if it beats the current one on the same test data.

    The champion is re-scored on the best candidate's test split (never trusted from its own
    registration, which used another split); the candidate must beat that F1 by more than
    ``promotion_margin``. The displaced champion becomes ``previous-champion``; the best
    candidate that is not champion becomes ``challenger``.
    """
    if not candidates:
        raise PredmaintError("no candidate to promote: train models first")
    with store_lock(settings):  # two rounds at once would both see the same champion
        return _promote(settings, candidates, versions)


def _promote(
    settings: Settings, candidates: list[CandidateRun], versions: dict[str, str]
) -> Decision:
    mlflow_client = client(settings)
    name = settings.model_name
    ranked = rank(candidates)
    best = ranked[0]
    best_version = versions[best.run_id]
    best_f1 = best.metrics["f1"]
    scores = {f"candidate_v{versions[c.run_id]}_f1": c.metrics["f1"] for c in ranked}
    test_split = _test_split(mlflow_client, best.run_id)
    test_failures = int(test_split[TARGET].astype(int).sum())
    scores["test_failures"] = float(test_failures)
    if test_failures < settings.min_test_failures:
        return _not_promoted(settings, mlflow_client, ranked, versions, test_failures, scores)
    current = _alias_version(mlflow_client, name, CHAMPION)

    if current is None:
        promoted, reason = (
            True,
            f"no champion yet; v{best_version} ({best.kind}) has the best test F1 {best_f1:.4f}",
        )
    elif current == best_version:
        promoted, reason = False, f"v{best_version} is already champion"
    else:
        champion_f1 = score_version(settings, current, test_split)["f1"]
        scores[f"champion_v{current}_f1_rescored"] = champion_f1
        promoted = best_f1 > champion_f1 + settings.promotion_margin
        comparison = ">" if promoted else "<="
        reason = (
            f"v{best_version} ({best.kind}) test F1 {best_f1:.4f} {comparison} champion "
            f"v{current} F1 {champion_f1:.4f} re-scored on the same test data "
            f"+ margin {settings.promotion_margin:g}"
        )

    previous = None
    champion: str | None
    if promoted:
        _crown(mlflow_client, name, current, best_version, reason)
        previous = current
        champion = best_version
    else:
        champion = current
        if current is not None and current != best_version:
            _record(mlflow_client, name, current, "kept", reason)
    challenger = next((versions[c.run_id] for c in ranked if versions[c.run_id] != champion), None)
    if challenger is not None:
        mlflow_client.set_registered_model_alias(name, CHALLENGER, challenger)
        _record(
            mlflow_client,
            name,
            challenger,
            "challenger",
            reason
            if challenger == best_version
            else f"runner-up of this round behind v{best_version}",
        )
    return Decision(
        action="promoted" if promoted else "kept",
        reason=reason,
        champion_version=champion,
        previous_champion_version=previous
        or _alias_version(mlflow_client, name, PREVIOUS_CHAMPION),
        challenger_version=challenger,
        scores=scores,
    )


def _not_promoted(
    settings: Settings,
    mlflow_client: MlflowClient,
    ranked: list[CandidateRun],
    versions: dict[str, str],
    test_failures: int,
    scores: dict[str, float],
) -> Decision:
    """Too few failures in the test split to trust a test F1: register, move no alias.

    An F1 measured on a handful of failures is noise (10 test rows can give 1.000); such a
    round's candidates stay registered, with the reason on each, and the champion stays.
    """
    name = settings.model_name
    best = ranked[0]
    reason = (
        f"v{versions[best.run_id]} ({best.kind}) not promoted: its test split holds "
        f"{test_failures} failure(s), fewer than the {settings.min_test_failures} "
        f"(PREDMAINT_MIN_TEST_FAILURES) needed to trust its test F1 {best.metrics['f1']:.4f}; "
        "train on more labelled failures"
    )
    for candidate in ranked:
        _record(mlflow_client, name, versions[candidate.run_id], "not-promoted", reason)
    return Decision(
        action="not-promoted",
        reason=reason,
        champion_version=_alias_version(mlflow_client, name, CHAMPION),
        previous_champion_version=_alias_version(mlflow_client, name, PREVIOUS_CHAMPION),
        challenger_version=_alias_version(mlflow_client, name, CHALLENGER),
        scores=scores,
    )


def rollback(
    settings: Settings,
    to_version: str | None = None,
    reason: str = "manual rollback",
    evidence: dict[str, Any] | None = None,
) -> Decision:
    """Move ``champion`` back to ``previous-champion`` (or to ``to_version``) and record why
    (with the ``evidence`` an automatic rollback was based on).

    Afterwards ``previous-champion`` names the champion before the restored one (see
    :func:`champion_lineage`), so a further rollback goes one step further back; when there is
    none the alias is removed and the decision says so. The restored version stops being
    ``challenger``: one version holds one role.
    """
    with store_lock(settings):
        return _rollback(settings, to_version, reason, evidence)


def _rollback(
    settings: Settings, to_version: str | None, reason: str, evidence: dict[str, Any] | None
) -> Decision:
    mlflow_client = client(settings)
    name = settings.model_name
    current = _alias_version(mlflow_client, name, CHAMPION)
    target = to_version or _alias_version(mlflow_client, name, PREVIOUS_CHAMPION)
    if target is None:
        before = f" before v{current}" if current is not None else ""
        raise ModelNotFoundError(
            f"no '{PREVIOUS_CHAMPION}' alias on {name} to roll back to: no earlier champion "
            f"is left{before}; pass a version explicitly (--to VERSION)"
        )
    try:
        mlflow_client.get_model_version(name, target)
    except MlflowException as exc:
        raise ModelNotFoundError(f"{name} has no version {target}") from exc
    if target == current:
        raise PredmaintError(f"v{target} is already the champion")
    mlflow_client.set_registered_model_alias(name, CHAMPION, target)
    if _alias_version(mlflow_client, name, CHALLENGER) == target:
        mlflow_client.delete_registered_model_alias(name, CHALLENGER)
    _record(mlflow_client, name, target, "restored", reason, evidence)
    if current is not None:
        _record(mlflow_client, name, current, "rolled-back", reason, evidence)
    lineage = champion_lineage(settings)
    earlier = lineage[-2] if len(lineage) > 1 and lineage[-1] == target else None
    if earlier is None:
        if _alias_version(mlflow_client, name, PREVIOUS_CHAMPION) is not None:
            mlflow_client.delete_registered_model_alias(name, PREVIOUS_CHAMPION)
    else:
        mlflow_client.set_registered_model_alias(name, PREVIOUS_CHAMPION, earlier)
    return Decision(
        "rolled-back",
        reason,
        target,
        previous_champion_version=earlier,
        challenger_version=_alias_version(mlflow_client, name, CHALLENGER),
        replaced_version=current,
    )


def champion_lineage(settings: Settings) -> list[str]:
    """The versions that have been champion, most recent tenure last, rebuilt from the history.

    A promotion or a restore starts a tenure (the version moves to the end); a version rolled
    back from leaves the list (it was judged worse, a rollback must not return to it) until it
    is promoted or restored again. The last entry is the champion; the one before it is what
    ``previous-champion`` names.
    """
    lineage: list[str] = []
    for event in history(settings):
        if event.action in ("promoted", "restored", "rolled-back") and event.version in lineage:
            lineage.remove(event.version)
        if event.action in ("promoted", "restored"):
            lineage.append(event.version)
    return lineage


def check_champion(settings: Settings, data: pd.DataFrame, source: str = "fresh data") -> Decision:
    """Score the champion on fresh labelled data; roll back if it degraded and the previous
    champion does better.

    Degraded means F1 below the champion's registered test F1 minus ``rollback_tolerance``.
    """
    mlflow_client = client(settings)
    name = settings.model_name
    current = _alias_version(mlflow_client, name, CHAMPION)
    if current is None:
        raise ModelNotFoundError(f"{name} has no champion: {TRAIN_HINT}")
    registered = float(mlflow_client.get_model_version(name, current).tags["f1"])
    now = score_version(settings, current, data)["f1"]
    healthy = now >= registered - settings.rollback_tolerance
    scores = {f"champion_v{current}_f1": now, f"champion_v{current}_registered_f1": registered}
    verdict = (
        f"champion v{current} F1 {now:.4f} on {source} {'>=' if healthy else '<'} registered "
        f"{registered:.4f} - tolerance {settings.rollback_tolerance:g}"
    )
    if healthy:
        _record(mlflow_client, name, current, "checked-ok", verdict)
        return Decision("none", verdict, current, scores=scores)
    previous = _alias_version(mlflow_client, name, PREVIOUS_CHAMPION)
    if previous is None:
        reason = f"{verdict}; no previous champion to roll back to: retrain"
        _record(mlflow_client, name, current, "degraded", reason)
        return Decision("alert", reason, current, scores=scores)
    previous_f1 = score_version(settings, previous, data)["f1"]
    scores[f"previous_v{previous}_f1"] = previous_f1
    if previous_f1 > now:
        decision = rollback(
            settings, previous, f"{verdict}; previous champion v{previous} F1 {previous_f1:.4f}"
        )
        return replace(decision, scores=scores)
    reason = f"{verdict}; previous champion v{previous} is no better ({previous_f1:.4f}): retrain"
    _record(mlflow_client, name, current, "degraded", reason)
    return Decision("alert", reason, current, scores=scores)


def act_with_evidence(
    settings: Settings,
    action: AutomaticAction,
    reason: str,
    evidence: dict[str, Any],
    to_version: str | None = None,
) -> Decision:
    """Apply one automatic decision of monitoring and record it, with its evidence, in the history.

    ``rollback``: the champion alias moves back to ``to_version`` (the previous champion), as
    :func:`rollback` does by hand. ``promote``: ``to_version`` (the shadow challenger) becomes
    champion, the displaced champion ``previous-champion``; the challenger alias is freed until
    the next training round names one. ``retrain``: nothing moves; the request is recorded on the
    champion (the retraining itself is started by the caller: an Airflow Asset, or the CLI).

    Aliases are read and moved under the store lock, like a training round's promotion and a
    manual rollback, so the three never interleave. A rollback's decision follows
    :func:`rollback`: ``previous_champion_version`` is the alias after it, ``replaced_version``
    the champion it moved away from.
    """
    tagged = {"automatic": True, **evidence}
    with store_lock(settings):
        if action == "rollback":
            return _rollback(settings, to_version, reason, tagged)
        mlflow_client = client(settings)
        name = settings.model_name
        current = _alias_version(mlflow_client, name, CHAMPION)
        if action == "promote":
            return _promote_challenger(mlflow_client, name, current, to_version, reason, tagged)
        if current is None:
            raise ModelNotFoundError(f"{name} has no champion: {TRAIN_HINT}")
        _record(mlflow_client, name, current, "retrain-requested", reason, tagged)
        return Decision("none", reason, current)


def _promote_challenger(
    mlflow_client: MlflowClient,
    name: str,
    current: str | None,
    to_version: str | None,
    reason: str,
    evidence: dict[str, Any],
) -> Decision:
    """``to_version`` becomes champion on monitoring's evidence; the displaced one is previous."""
    if to_version is None or to_version == current:
        raise PredmaintError(f"nothing to promote: v{to_version} is already the champion")
    _crown(mlflow_client, name, current, to_version, reason, evidence)
    if _alias_version(mlflow_client, name, CHALLENGER) == to_version:
        mlflow_client.delete_registered_model_alias(name, CHALLENGER)
    return Decision(
        "promoted",
        reason,
        to_version,
        previous_champion_version=current,
        challenger_version=_alias_version(mlflow_client, name, CHALLENGER),
    )


def _event_time(key: str, event: dict[str, Any]) -> datetime:
    """The event's time: its ISO value, or (events recorded before it had one) its tag key."""
    if "time" in event:
        return datetime.fromisoformat(event["time"])
    return datetime.strptime(key[len(EVENT_PREFIX) :], _KEY_TIME).replace(tzinfo=UTC)


def history(settings: Settings) -> list[HistoryEvent]:
    """Every recorded event across versions, oldest first, with current aliases."""
    mlflow_client = client(settings)
    name = settings.model_name
    try:
        model = mlflow_client.get_registered_model(name)
    except MlflowException:
        return []
    aliases: dict[str, list[str]] = {}
    for alias, version in (model.aliases or {}).items():
        aliases.setdefault(str(version), []).append(alias)
    events = []
    for mv in mlflow_client.search_model_versions(f"name='{name}'"):
        for key, value in mv.tags.items():
            if key.startswith(EVENT_PREFIX):
                event = json.loads(value)
                events.append(
                    HistoryEvent(
                        time=_event_time(key, event),
                        version=str(mv.version),
                        model_type=mv.tags.get("model_type", ""),
                        test_f1=float(mv.tags["f1"]) if "f1" in mv.tags else float("nan"),
                        aliases=sorted(aliases.get(str(mv.version), [])),
                        action=str(event["action"]),
                        reason=str(event["reason"]),
                        evidence=dict(event.get("evidence") or {}),
                    )
                )
    return sorted(events, key=lambda e: (e.time, int(e.version)))


def load_labelled(path: Path) -> pd.DataFrame:
    """Labelled readings from CSV or Parquet (for ``model check``)."""
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    missing = [c for c in (*SENSOR_COLUMNS, TARGET) if c not in frame.columns]
    if missing:
        raise PredmaintError(f"{path} lacks column(s) {', '.join(missing)} needed to check a model")
    return frame.assign(**{TARGET: frame[TARGET].astype(int)}).astype(
        {c: np.float64 for c in SENSOR_COLUMNS}
    )
