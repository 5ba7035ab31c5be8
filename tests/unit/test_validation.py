"""Each validation rule: the bad row is quarantined with a reason naming the field; good rows
go on."""

from __future__ import annotations

import pandas as pd
import pytest

from predmaint.data.columns import normalise_header
from predmaint.data.schemas import LABEL_CONSISTENCY, labelled_schema, readings_schema
from predmaint.data.validation import REASON_COLUMN, ROW_COLUMN, validate_frame
from predmaint.errors import DataValidationError


@pytest.fixture
def sample(raw_frame: pd.DataFrame) -> pd.DataFrame:
    return raw_frame.head(200).copy()


RULES = [
    # (column, bad value, words the reason must contain)
    ("torque", "abc", ["torque", "not a valid"]),
    ("torque", "-1", ["torque", "[0, 200]"]),
    ("torque", "inf", ["torque", "finite"]),
    ("air_temperature", "25.3", ["air_temperature", "[250, 350] K"]),  # °C sent as kelvin
    ("process_temperature", "999", ["process_temperature", "K"]),
    ("rotational_speed", "0", ["rotational_speed", "(0, 6000] rpm"]),
    ("tool_wear", None, ["tool_wear", "missing"]),
    ("tool_wear", "-5", ["tool_wear", "[0, 400] min"]),
    ("type", "X", ["type", "one of"]),
    ("udi", "1", ["udi", "duplicate"]),
    ("machine_failure", "2", ["machine_failure", "0 or 1"]),
    ("hdf", "yes", ["hdf", "not a valid"]),
]


@pytest.mark.parametrize(("column", "value", "words"), RULES)
def test_rule_quarantines_the_bad_row_and_keeps_the_rest(
    sample: pd.DataFrame, column: str, value: str | None, words: list[str]
) -> None:
    # given one bad value in row 10 (the first row keeps udi 1, so row 10 is the duplicate)
    sample.loc[10, column] = value
    # when validated
    outcome = validate_frame(sample, labelled_schema(), stage="raw")
    # then exactly that row is quarantined, with a reason naming the field and the rule
    assert outcome.quarantined[ROW_COLUMN].tolist() == [11]
    reason = outcome.quarantined[REASON_COLUMN].iloc[0]
    for word in words:
        assert word in reason, f"{word!r} not in {reason!r}"
    assert len(outcome.valid) == len(sample) - 1
    assert outcome.report().rows_quarantined == 1
    # and the good rows are typed
    assert outcome.valid["torque"].dtype == "float64"
    assert outcome.valid["machine_failure"].dtype == "Int64"


def test_quarantine_file_keeps_original_values_and_reasons(sample: pd.DataFrame, tmp_path) -> None:
    sample.loc[3, "torque"] = "abc"
    sample.loc[4, "air_temperature"] = "25"
    outcome = validate_frame(sample, labelled_schema(), stage="raw")
    path = outcome.write_quarantine(tmp_path)
    assert path is not None, "two bad rows make a quarantine file"
    written = pd.read_csv(path, dtype=str)
    assert written[ROW_COLUMN].tolist() == ["4", "5"]
    assert written["torque"].tolist()[0] == "abc"
    assert "air_temperature must be in" in written[REASON_COLUMN].tolist()[1]


def test_several_problems_in_one_row_are_all_reported(sample: pd.DataFrame) -> None:
    sample.loc[7, ["torque", "tool_wear"]] = ["-3", "500"]
    outcome = validate_frame(sample, labelled_schema(), stage="raw")
    reason = outcome.quarantined[REASON_COLUMN].iloc[0]
    assert "torque" in reason and "tool_wear" in reason


def test_missing_column_is_a_clear_whole_file_error(sample: pd.DataFrame) -> None:
    with pytest.raises(DataValidationError, match=r"missing required column.*torque"):
        validate_frame(sample.drop(columns="torque"), labelled_schema(), stage="raw")


def test_label_quirks_of_the_public_file_are_reported_not_quarantined(
    raw_frame: pd.DataFrame,
) -> None:
    # given the Type L rows of the real file (4 failures without mode, 12 RNF without failure)
    type_l = raw_frame[raw_frame["type"] == "L"]
    outcome = validate_frame(
        type_l, labelled_schema(), stage="raw", warning_schema=LABEL_CONSISTENCY
    )
    warnings = outcome.report().warnings
    assert outcome.quarantined.empty
    assert len(outcome.valid) == 6000
    counts = {rule: w.count for rule, w in warnings.items()}
    assert counts == {
        "machine_failure is 1 but no failure mode (twf/hdf/pwf/osf/rnf) is set": 4,
        "a failure mode is set but machine_failure is 0": 12,
    }


def test_plant_readings_without_identity_columns_are_accepted() -> None:
    frame = pd.DataFrame(
        {
            "air_temperature": ["300", "301"],
            "process_temperature": ["310", "311"],
            "rotational_speed": ["1500", "-1"],
            "torque": ["40", "40"],
            "tool_wear": ["10", "10"],
        }
    )
    outcome = validate_frame(frame, readings_schema(identity_required=False), stage="inference")
    assert len(outcome.valid) == 1
    assert "rotational_speed" in outcome.quarantined[REASON_COLUMN].iloc[0]


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("Air temperature [K]", "air_temperature"),
        ("Air temperature", "air_temperature"),
        ("Process temperature [K]", "process_temperature"),
        ("Rotational speed [rpm]", "rotational_speed"),
        ("Torque [Nm]", "torque"),
        ("Tool wear [min]", "tool_wear"),
        ("Product ID", "product_id"),
        ("Machine failure", "machine_failure"),
        ("TWF", "twf"),
        ("torque", "torque"),
    ],
)
def test_both_uci_header_styles_map_to_contract_names(header: str, name: str) -> None:
    assert normalise_header(header) == name
