"""Decision rules: rollback, promotion, retraining, each only on enough evidence."""

from __future__ import annotations

from predmaint.monitoring.decisions import (
    Action,
    ActionKind,
    DecisionInputs,
    DecisionRules,
    DriftDay,
    VersionEvidence,
    decide,
)
from predmaint.monitoring.metrics import RealizedMetrics

RULES = DecisionRules(
    min_outcomes=50, tolerance=0.05, promotion_margin=0.02, drift_days=3, drift_window=5
)


def metrics(f1_target: float, labelled: int = 200, failures: int = 20) -> RealizedMetrics:
    """Counts whose F1 is close to ``f1_target`` (precision = recall)."""
    tp = round(f1_target * failures)
    fn = failures - tp
    return RealizedMetrics(tp=tp, fp=fn, fn=fn, tn=labelled - failures - fn)


def kinds(actions: tuple[Action, ...]) -> list[ActionKind]:
    return [a.kind for a in actions]


def test_a_healthy_champion_needs_no_action_and_the_reason_says_so() -> None:
    inputs = DecisionInputs(champion=VersionEvidence("3", 0.90, metrics(0.9)))
    (action,) = decide(inputs, RULES)
    assert action.kind is ActionKind.NONE
    assert "realized F1 0.900 >= 0.850" in action.reason, action.reason


def test_degraded_champion_rolls_back_when_the_previous_does_better_on_the_same_outcomes() -> None:
    inputs = DecisionInputs(
        champion=VersionEvidence("3", 0.90, metrics(0.6)),
        previous=VersionEvidence("2", 0.88, metrics(0.8)),
    )
    (action,) = decide(inputs, RULES)
    assert action.kind is ActionKind.ROLLBACK
    assert (action.from_version, action.to_version) == ("3", "2")
    assert action.labelled == 200 and action.metrics["previous_f1"] == 0.8
    assert action.to_dict()["evidence"]["metrics"]["champion_f1"] == 0.6


def test_degraded_champion_without_a_better_version_triggers_retraining() -> None:
    inputs = DecisionInputs(
        champion=VersionEvidence("3", 0.90, metrics(0.6)),
        previous=VersionEvidence("2", 0.88, metrics(0.5)),
    )
    (action,) = decide(inputs, RULES)
    assert action.kind is ActionKind.RETRAIN
    assert "no better version" in action.reason


def test_no_action_on_fewer_outcomes_than_the_minimum() -> None:
    inputs = DecisionInputs(
        champion=VersionEvidence("3", 0.90, metrics(0.3, labelled=40, failures=10)),
        previous=VersionEvidence("2", 0.88, metrics(0.9, labelled=40, failures=10)),
        challenger=VersionEvidence("4", 0.91, metrics(0.95, labelled=40, failures=10)),
        champion_on_shared=metrics(0.3, labelled=40, failures=10),
    )
    (action,) = decide(inputs, RULES)
    assert action.kind is ActionKind.NONE
    assert "40 labelled < 50" in action.reason


def test_challenger_is_promoted_only_past_the_margin() -> None:
    def run(challenger_f1: float) -> list[ActionKind]:
        return kinds(
            decide(
                DecisionInputs(
                    champion=VersionEvidence("3", 0.90, metrics(0.85)),
                    challenger=VersionEvidence("4", 0.90, metrics(challenger_f1)),
                    champion_on_shared=metrics(0.85),
                ),
                RULES,
            )
        )

    assert run(0.95) == [ActionKind.PROMOTE]
    assert run(0.85) == [ActionKind.NONE], "a tie is not a win"
    # 0.86 is within the 0.02 margin of 0.85
    assert run(0.86) == [ActionKind.NONE]


def test_drift_on_k_of_the_last_m_days_triggers_retraining_with_the_features() -> None:
    days = [
        DriftDay("2027-01-01", True, ("torque",)),  # outside the last 5 days
        DriftDay("2027-01-02", False),
        DriftDay("2027-01-03", True, ("process_temperature", "temp_difference")),
        DriftDay("2027-01-04", None),  # no verdict: does not count
        DriftDay("2027-01-05", True, ("process_temperature",)),
        DriftDay("2027-01-06", False),
    ]
    champion = VersionEvidence("3", 0.90, None)
    assert kinds(decide(DecisionInputs(champion, drift=days), RULES)) == [ActionKind.NONE]
    days.append(DriftDay("2027-01-07", True, ("process_temperature",)))
    (action,) = decide(DecisionInputs(champion, drift=days), RULES)
    assert action.kind is ActionKind.RETRAIN
    assert action.drifted_features == ("process_temperature", "temp_difference")
    assert "3 of the last 5 days" in action.reason


def test_a_model_move_and_drift_retraining_can_both_be_due() -> None:
    inputs = DecisionInputs(
        champion=VersionEvidence("3", 0.90, metrics(0.6)),
        previous=VersionEvidence("2", 0.88, metrics(0.8)),
        drift=[DriftDay(f"2027-01-0{d}", True, ("rotational_speed",)) for d in range(1, 4)],
    )
    assert kinds(decide(inputs, RULES)) == [ActionKind.ROLLBACK, ActionKind.RETRAIN]
