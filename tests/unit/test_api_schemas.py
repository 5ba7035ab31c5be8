"""The request contract: rules read from SENSOR_RANGES, strict types, 422 texts that name the
rule."""

from __future__ import annotations

import json
import math

import pytest
from pydantic import ValidationError

from predmaint.api.handlers import describe
from predmaint.api.schemas import SPEC_EXAMPLE, Prediction, SensorReading, batch_request_model
from predmaint.data.columns import SENSOR_COLUMNS, SENSOR_RANGES
from predmaint.inference.diagnosis import diagnose


def body_errors(exc: ValidationError) -> list[dict]:
    """pydantic errors located as FastAPI locates body errors (``("body", field)``)."""
    return [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]


def refused(body: str) -> list[dict]:
    """The API's 422 entries for a JSON body, exactly as the route would build them."""
    with pytest.raises(ValidationError) as caught:
        SensorReading.model_validate_json(body)
    return [describe(error) for error in body_errors(caught.value)]


def with_value(name: str, raw: str) -> str:
    body = json.dumps(SPEC_EXAMPLE)
    return body.replace(f'"{name}": {json.dumps(SPEC_EXAMPLE[name])}', f'"{name}": {raw}')


def test_fields_are_the_sensor_columns_in_model_order() -> None:
    fields = tuple(SensorReading.model_fields)
    assert fields == (*SENSOR_COLUMNS, "machine_id", "timestamp"), "model inputs first"
    reading = SensorReading.model_validate(SPEC_EXAMPLE)
    assert reading.values() == tuple(float(SPEC_EXAMPLE[c]) for c in SENSOR_COLUMNS)


@pytest.mark.parametrize("name", SENSOR_COLUMNS)
def test_bounds_come_from_sensor_ranges(name: str) -> None:
    # given the contract's range for this sensor
    rule = SENSOR_RANGES[name]
    schema = SensorReading.model_json_schema()["properties"][name]
    # then the OpenAPI schema carries it, so clients and fuzzers see the same rule
    assert schema["maximum"] == rule.high, schema
    low_key = "minimum" if rule.low_inclusive else "exclusiveMinimum"
    assert schema[low_key] == rule.low, schema
    assert rule.unit in schema["description"], schema
    # and the edges behave as documented
    above = with_value(name, repr(rule.high + 0.5))
    assert refused(above)[0]["field"] == name, "above the range is refused"
    below = with_value(name, repr(rule.low - 0.5))
    assert refused(below)[0]["field"] == name, "below the range is refused"
    if rule.low_inclusive:
        SensorReading.model_validate_json(with_value(name, repr(rule.low)))
    else:
        assert refused(with_value(name, repr(rule.low)))[0]["field"] == name


def test_spec_example_is_valid() -> None:
    reading = SensorReading.model_validate_json(json.dumps(SPEC_EXAMPLE))
    assert reading.rotational_speed == 1551.0


def test_celsius_temperature_is_refused_with_a_hint() -> None:
    # given an air temperature of 25 °C sent as if it were kelvin
    errors = refused(with_value("air_temperature", "25.0"))
    # then the answer names the field, the rule and the likely mistake
    (error,) = errors
    assert error["field"] == "air_temperature", error
    assert "[250, 350] K" in error["rule"], error
    assert "°C" in error["msg"] and "kelvin" in error["msg"], error


@pytest.mark.parametrize(
    ("name", "raw", "words"),
    [
        ("rotational_speed", "0", "physically impossible"),
        ("rotational_speed", "-1500", "physically impossible"),
        ("torque", "-0.5", "negative"),
        ("tool_wear", "-3", "negative"),
    ],
)
def test_impossible_values_name_the_rule(name: str, raw: str, words: str) -> None:
    (error,) = refused(with_value(name, raw))
    assert error["field"] == name and words in error["msg"], error
    assert error["loc"] == ["body", name], error


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(raw: str) -> None:
    (error,) = refused(with_value("torque", raw))
    assert error["rule"] == "finite number", error
    assert isinstance(error["input"], str), "NaN/inf are echoed as text: JSON cannot carry them"


@pytest.mark.parametrize("raw", ['"42.8"', "true", "null", "[42.8]", '{"v": 42.8}'])
def test_wrong_types_are_refused(raw: str) -> None:
    (error,) = refused(with_value("torque", raw))
    assert error["field"] == "torque" and "torque" in error["msg"], error


def test_missing_fields_are_each_named() -> None:
    errors = refused(json.dumps({"air_temperature": 298.5}))
    missing = {e["field"] for e in errors if e["rule"] == "required field"}
    assert missing == set(SENSOR_COLUMNS) - {"air_temperature"}, errors


@pytest.mark.parametrize("body", ['{"air_temperature": 298.5,', "", "not json", "[1, 2]"])
def test_malformed_bodies_are_described_not_crashed(body: str) -> None:
    errors = refused(body)
    assert errors and all(e["msg"] for e in errors), errors
    json.dumps(errors, allow_nan=False)  # the 422 body itself must be valid JSON


def test_batch_limit_is_the_setting() -> None:
    model = batch_request_model(3)
    model.model_validate({"readings": [SPEC_EXAMPLE] * 3})
    with pytest.raises(ValidationError):
        model.model_validate({"readings": [SPEC_EXAMPLE] * 4})
    with pytest.raises(ValidationError):
        model.model_validate({"readings": []})
    assert model.model_json_schema()["properties"]["readings"]["maxItems"] == 3


def test_batch_error_locates_the_reading() -> None:
    model = batch_request_model(5)
    bad = dict(SPEC_EXAMPLE, torque=-1.0)
    with pytest.raises(ValidationError) as caught:
        model.model_validate_json(json.dumps({"readings": [SPEC_EXAMPLE, bad]}))
    (error,) = [describe(e) for e in body_errors(caught.value)]
    assert error["field"] == "readings[1].torque", error


def test_prediction_starts_with_the_spec_fields() -> None:
    fields = list(Prediction.model_fields)
    assert fields[:4] == ["prediction", "probability", "risk_level", "recommendation"], fields
    meaning = Prediction.model_fields["probability"].description or ""
    assert "predicted class" in meaning and "0.92" in meaning, meaning
    assert not math.isnan(Prediction.model_json_schema()["properties"]["probability"]["maximum"])


def test_answer_example_is_valid_and_its_diagnosis_is_the_spec_examples() -> None:
    # the OpenAPI example answer is what the code answers for the spec's example reading
    (example,) = Prediction.model_json_schema()["examples"]
    answer = Prediction.model_validate(example)
    values = SensorReading.model_validate(SPEC_EXAMPLE).values()
    assert [item.model_dump() for item in answer.diagnosis] == [
        entry.to_dict() for entry in diagnose(values)
    ]
    assert answer.failure_mode is None and answer.failure_mode_probability is None
