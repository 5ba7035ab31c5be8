"""422 answers for hostile values: they name the field, stay valid UTF-8, and repeat at most a
short excerpt of the input, however large it was."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from predmaint.api.echo import VALUE_EXCERPT, excerpt
from predmaint.api.handlers import ECHO_LIMIT, MAX_DETAILS
from predmaint.api.schemas import SPEC_EXAMPLE
from tests.support.asgi import asgi_request

ROUTES = {
    "/predict": ("{}", "torque"),
    "/predict/batch": ('{{"readings": [{}]}}', "readings[0].torque"),
}


def post(app: object, path: str, body: bytes) -> httpx.Response:
    return asgi_request(app, "POST", path, body, {"Content-Type": "application/json"})


def reading_with_torque(path: str, raw: str) -> bytes:
    """The spec's reading with ``torque`` written as ``raw``, in the route's envelope."""
    reading = json.dumps(SPEC_EXAMPLE).replace('"torque": 42.8', f'"torque": {raw}')
    assert raw in reading
    return ROUTES[path][0].format(reading).encode()


@pytest.mark.parametrize("path", sorted(ROUTES))
@pytest.mark.parametrize("raw", ['"\\ud800"', '"a\\udfffb"', '{"\\ud800": 1}', '["\\udbff"]'])
def test_a_lone_surrogate_gets_a_422_naming_the_field(
    app_factory: Callable[..., object],
    path: str,
    raw: str,
) -> None:
    # when a refused field holds a lone UTF-16 surrogate (valid JSON, not encodable as UTF-8)
    response = post(app_factory(), path, reading_with_torque(path, raw))
    # then the answer is a 422 that names the field, in valid UTF-8
    assert response.status_code == 422, response.text
    response.content.decode("utf-8")
    (error,) = response.json()["detail"]
    assert error["field"] == ROUTES[path][1], error
    assert "\\ud" in error["msg"] and "JSON number" in error["msg"], error


@pytest.mark.parametrize("path", sorted(ROUTES))
@pytest.mark.parametrize("digits", [400, 4000, 5000])
def test_a_number_of_thousands_of_digits_is_out_of_range(
    app_factory: Callable[..., object],
    path: str,
    digits: int,
) -> None:
    response = post(app_factory(), path, reading_with_torque(path, "1" * digits))
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert "out of range" in error["msg"], error
    assert "must be a JSON number" not in error["msg"], "it is a JSON number"
    assert len(response.content) < 2 * ECHO_LIMIT, "the digits are not echoed back"
    if digits <= 4000:  # Python parses it: the field is named, with its plausible range
        assert error["field"] == ROUTES[path][1] and "[0, 200] Nm" in error["msg"], error


def test_a_refused_list_is_not_echoed_back(app_factory: Callable[..., object]) -> None:
    # given a batch one reading over the cap (the whole list is the refused input)
    app = app_factory(api_batch_max=3000)
    limit = app.state.settings.api_batch_max  # type: ignore[attr-defined]
    body = json.dumps({"readings": [SPEC_EXAMPLE] * (limit + 1)}).encode()
    response = post(app, "/predict/batch", body)
    # then the 422 says why, with a short excerpt of the list, not the list
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert str(limit) in error["msg"], error
    assert len(response.content) < 2 * ECHO_LIMIT < len(body) / 100, len(response.content)
    assert error["input"].startswith('[{"air_temperature": 298.5') and error["input"][-1] == "…"


def test_thousands_of_errors_are_counted_not_all_listed(
    app_factory: Callable[..., object],
) -> None:
    # given 1,000 readings, each with five long strings in place of numbers
    bad = {name: "x" * 60 for name in SPEC_EXAMPLE}
    body = json.dumps({"readings": [bad] * 1000}).encode()
    response = post(app_factory(), "/predict/batch", body)
    # then the first errors are listed, the others counted, and little of the input repeated
    assert response.status_code == 422, response.text
    answer = response.json()
    assert len(answer["detail"]) == MAX_DETAILS, len(answer["detail"])
    assert answer["message"].endswith(f"and {5000 - MAX_DETAILS:,} more"), answer["message"][-80:]
    echoed = response.text.count("x")
    assert echoed <= ECHO_LIMIT, f"{echoed} characters of the input repeated"
    assert answer["detail"][0]["field"] == "readings[0].air_temperature", answer["detail"][0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (42.8, "42.8"),
        ("\ud800", '"\\ud800"'),
        (float("inf"), "Infinity"),
        ([1, [2, {"a": None}]], '[1, [2, {"a": null}]]'),
        (10**5000, "<a number of about 5,001 digits>"),
    ],
    ids=["float", "surrogate", "infinity", "nested", "5001 digits"],
)
def test_excerpt_renders_json_like_text(value: object, expected: str) -> None:
    assert excerpt(value) == expected


def test_excerpt_of_a_huge_value_is_cut_and_costs_what_it_shows() -> None:
    huge = [SPEC_EXAMPLE] * 1_000_000
    text = excerpt(huge, 40)
    assert len(text) == 40 and text.endswith("…"), text
    assert len(excerpt("y" * 10**6)) == VALUE_EXCERPT


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_machine_and_time_are_accepted_and_a_bad_time_is_named(
    app_factory: Callable[..., object], path: str
) -> None:
    app = app_factory()
    field = ROUTES[path][1].replace("torque", "{}")
    good = {**SPEC_EXAMPLE, "machine_id": "L-001", "timestamp": "2026-11-25T08:30:00+01:00"}
    answer = post(app, path, ROUTES[path][0].format(json.dumps(good)).encode())
    assert answer.status_code == 200, answer.text
    for bad, name, rule in (
        ({"timestamp": "25/11/2026 08:30"}, "timestamp", "ISO 8601 date-time"),
        ({"timestamp": 1764059400}, "timestamp", "ISO 8601 date-time"),
        ({"machine_id": "   "}, "machine_id", "pattern"),
        ({"machine_id": "M" * 65}, "machine_id", "at most 64 characters"),
    ):
        body = ROUTES[path][0].format(json.dumps({**SPEC_EXAMPLE, **bad})).encode()
        response = post(app, path, body)
        assert response.status_code == 422, response.text
        (error,) = response.json()["detail"]
        assert error["field"] == field.format(name) and rule in error["msg"], error
