"""Error answers: a 422 names the field and the rule; a missing model is a 503 that says what to do.

FastAPI's default 422 says "Input should be greater than or equal to 250"; an operator needs
"air_temperature: 25 is below the plausible range [250, 350] K (a temperature in °C?)". The
list under ``detail`` keeps FastAPI's shape (``loc``, ``msg``, ``type``) for clients and
tools; ``message`` joins the reasons in one line for humans. What an answer repeats of the
client's input is bounded (:mod:`predmaint.api.echo`). On the Open Inference Protocol's paths
(``/v2/...``) every error is ``{"error": "…"}`` instead, the shape its clients read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request, Response, status
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from predmaint.api.deps import ModelUnavailableError
from predmaint.api.echo import VALUE_EXCERPT, digits, echo, excerpt, safe_text
from predmaint.api.oip import OipError, is_oip, problem
from predmaint.data.columns import (
    AIR_TEMPERATURE,
    PROCESS_TEMPERATURE,
    SENSOR_RANGES,
)

_EXPECTED = {
    "float": "a JSON number",
    "int": "a JSON number",
    "model": "a JSON object",
    "model_attributes": "a JSON object",
    "dict": "a JSON object",
    "list": "a JSON array",
    "string": "a JSON string",
    "datetime": "an ISO 8601 date-time such as 2026-11-25T08:30:00Z",
    "datetime_from_date": "an ISO 8601 date-time such as 2026-11-25T08:30:00Z",
}
_TEMPERATURES = {AIR_TEMPERATURE, PROCESS_TEMPERATURE}
_RANGE_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}
#: Characters of the client's input one 422 may repeat, summed over its entries.
ECHO_LIMIT = 1024
#: Entries listed in one 422 (1,000 bad readings make thousands of errors); the rest are counted.
MAX_DETAILS = 50


def _field_path(loc: Sequence[Any]) -> str:
    """``["body", "readings", 3, "torque"]`` -> ``readings[3].torque``."""
    path = ""
    for part in loc[1:] if loc and loc[0] == "body" else loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def _json_type(value: Any) -> str:
    names = {bool: "boolean", str: "string", list: "array", dict: "object", type(None): "null"}
    return names.get(type(value), "number" if isinstance(value, int | float) else "value")


def range_message(name: str, value: Any, shown: str) -> tuple[str, str]:
    """Why a sensor value was refused, and the rule it broke (``/predict`` and OIP ``infer``)."""
    rule = SENSOR_RANGES[name]
    if isinstance(value, int | float) and value <= 0 and rule.low == 0 and not rule.low_inclusive:
        why = f"must be > 0 {rule.unit}: a non-positive value is physically impossible"
    elif isinstance(value, int | float) and value < 0 and rule.low == 0:
        why = f"cannot be negative ({rule.unit}): physically impossible"
    else:
        why = f"{shown} is outside the plausible range {rule.rule}"
        if name in _TEMPERATURES and isinstance(value, int | float) and -50 <= value < rule.low:
            why += " (a temperature in °C? send kelvin)"
    return why, f"plausible range {rule.rule}"


def _out_of_range(name: str, value: int) -> tuple[str, str]:
    """An integer too large for any float (4,000 digits): what is wrong is its size, not type."""
    size = f"a number of {digits(value)} digits"
    if name in SENSOR_RANGES:
        rule = SENSOR_RANGES[name].rule
        return f"is out of range: {size}, outside the plausible range {rule}", (
            f"plausible range {rule}"
        )
    return f"is out of range: {size} does not fit a 64-bit float", "finite number"


def describe(error: dict[str, Any], room: int = VALUE_EXCERPT) -> dict[str, Any]:
    """One pydantic error as ``{loc, field, rule, msg, type, input}``.

    The refused value appears in ``msg`` and ``input`` as an excerpt of at most ``room``
    characters (:mod:`predmaint.api.echo`); with ``room`` 0 it is left out.
    """
    loc = [safe_text(part) if isinstance(part, str) else part for part in error.get("loc", ())]
    kind = str(error.get("type", "value_error"))
    field = _field_path(loc)
    name = str(loc[-1]) if loc else ""
    value = error.get("input")
    shown = excerpt(value, room) if room > 0 else "(not shown)"
    if kind in _RANGE_ERRORS and name in SENSOR_RANGES:
        why, rule = range_message(name, value, shown)
    elif kind in {"float_type", "finite_number"} and type(value) is int:  # too big for a float
        why, rule = _out_of_range(name, value)
    elif kind == "missing":
        why, rule = "is required", "required field"
    elif kind == "finite_number":
        why, rule = "must be a finite number (not NaN or infinity)", "finite number"
    elif kind == "json_invalid":
        field = "body"
        position = f" at character {loc[-1]}" if loc and isinstance(loc[-1], int) else ""
        reason = safe_text(str(error.get("ctx", {}).get("error", error.get("msg"))))[:200]
        why, rule = f"is not valid JSON{position}: {reason}", "valid JSON"
    elif kind.endswith("_type") or kind.endswith("_parsing"):
        expected = _EXPECTED.get(kind.rsplit("_", 1)[0], kind.rsplit("_", 1)[0])
        why, rule = f"must be {expected}, got {_json_type(value)} {shown}", expected
    else:
        why, rule = safe_text(str(error.get("msg", "is invalid")))[:300], kind
    out = {"loc": loc, "field": field, "rule": rule, "msg": f"{field} {why}", "type": kind}
    if kind not in {"missing", "json_invalid"} and room > 0:
        out["input"] = echo(value, shown, room)
    return out


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """The 422: at most ``MAX_DETAILS`` entries (the rest counted), and at most ``ECHO_LIMIT``
    characters of the client's input repeated in all (a refused 100 MB list is not sent back)."""
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    details = []
    budget = ECHO_LIMIT
    for error in errors[:MAX_DETAILS]:
        room = min(VALUE_EXCERPT, budget // 3)  # the excerpt is in msg, input and message
        detail = describe(dict(error), room if room >= 8 else 0)
        if "input" in detail:
            budget -= 3 * len(excerpt(detail["input"], room))
        details.append(detail)
    message = "; ".join(d["msg"] for d in details)
    if len(errors) > len(details):
        message += f"; and {len(errors) - len(details):,} more"
    body = {"detail": details, "message": message}
    return JSONResponse(jsonable_encoder(body), status.HTTP_422_UNPROCESSABLE_CONTENT)


async def body_not_parsed(request: Request, exc: Exception) -> Response:
    """FastAPI answers 400 "error parsing the body" when its JSON parser raises; for a number of
    more digits than Python converts (4,300) say what is wrong: it is out of range."""
    assert isinstance(exc, HTTPException)
    cause = exc.__cause__
    if exc.status_code == 400 and isinstance(cause, ValueError) and "digits" in str(cause):
        why = "body has a number of more than 4,300 digits: out of range for any field"
        entry = {"loc": ["body"], "field": "body", "rule": "finite number", "msg": why}
        body = {"detail": [{**entry, "type": "out_of_range"}], "message": why}
        return JSONResponse(body, status.HTTP_422_UNPROCESSABLE_CONTENT)
    if is_oip(request.url.path):  # 401, 404, 405 in the protocol's shape
        return JSONResponse(
            problem(request.url.path, str(exc.detail)), exc.status_code, headers=exc.headers
        )
    return await http_exception_handler(request, exc)


async def model_unavailable(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(problem(request.url.path, str(exc)), status.HTTP_503_SERVICE_UNAVAILABLE)


async def oip_refusal(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OipError)
    return JSONResponse({"error": exc.message}, exc.status)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, body_not_parsed)  # Starlette's: FastAPI raises it
    app.add_exception_handler(ModelUnavailableError, model_unavailable)
    app.add_exception_handler(OipError, oip_refusal)
