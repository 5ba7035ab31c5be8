"""Simulated outcomes follow the data's failure rules, arrive late, and not all of them."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from predmaint.data.scenarios import simulate_scenario
from predmaint.data.simulate import failure_modes
from predmaint.data.simulated_outcomes import reported_on, simulate_outcomes
from predmaint.inference.ids import with_batch_ids
from predmaint.monitoring.outcomes import validate_outcomes

DAY = date(2027, 4, 1)


@pytest.fixture(scope="module")
def scored() -> pd.DataFrame:
    return with_batch_ids(simulate_scenario(5000, DAY, "slow_spindle"), DAY, "day.parquet")


def test_rule_failures_are_reported_as_failures_with_their_mode(scored: pd.DataFrame) -> None:
    outcomes = simulate_outcomes(scored, DAY).set_index("prediction_id")
    modes = failure_modes(scored).set_index(scored["prediction_id"])
    ruled = modes.max(axis=1) == 1
    assert ruled.sum() > 20, "the slow spindle gives rule failures to check"
    assert (outcomes.loc[ruled[ruled].index, "outcome"] == "failure").all()
    hdf = modes.index[modes["hdf"] == 1]
    assert outcomes.loc[hdf, "failure_mode"].isin(["TWF", "HDF"]).all()
    # some failures are random (TWF past 200 min, RNF): not explained by the three rules
    random = outcomes[(outcomes["outcome"] == "failure") & ~ruled.reindex(outcomes.index)]
    assert set(random["failure_mode"]) <= {"TWF", "RNF"}


def test_labelled_readings_keep_their_labels() -> None:
    labelled = with_batch_ids(simulate_scenario(3000, DAY, labels=True), DAY, "l.parquet")
    outcomes = simulate_outcomes(labelled, DAY)
    expected = labelled["machine_failure"].map({1: "failure", 0: "no_failure"})
    assert outcomes["outcome"].tolist() == expected.tolist()


def test_outcomes_arrive_after_a_delay_and_only_the_reported_share(
    scored: pd.DataFrame,
) -> None:
    outcomes = simulate_outcomes(scored, DAY, report_share=0.6, max_delay_days=3)
    assert 0.55 < len(outcomes) / len(scored) < 0.65
    delays = {(d - DAY).days for d in outcomes["reported_on"]}
    assert delays == {1, 2, 3}
    due = reported_on(outcomes, DAY + timedelta(days=2))
    assert "reported_on" not in due.columns and 0 < len(due) < len(outcomes)
    # what the plant sends passes outcome validation as is
    result = validate_outcomes(due, set(scored["prediction_id"]))
    assert result.quarantined.empty and len(result.valid) == len(due)


def test_outcomes_need_prediction_ids() -> None:
    with pytest.raises(ValueError, match="prediction_id is missing"):
        simulate_outcomes(simulate_scenario(10, DAY), DAY)
