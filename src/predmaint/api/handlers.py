"""Error answers: a 422 names the field and the rule; a missing model is a 503 that says what to do.

FastAPI's default 422 says "Input should be greater than or equal to 250"; an operator needs
"air_temperature: 25 is below the plausible range [250, 350] K (a temperature in °C?)". The
list under ``detail`` keeps FastAPI's shape (``loc``, ``msg``, ``type``) for clients and
tools; ``message`` joins the reasons in one line for humans.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from predmaint.api.deps import ModelUnavailableError
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
}
_TEMPERATURES = {AIR_TEMPERATURE, PROCESS_TEMPERATURE}
_RANGE_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def _field_path(loc: Sequence[Any]) -> str:
    """``["body", "readings", 3, "torque"]`` -> ``readings[3].torque``."""
    path = ""
    for part in loc[1:] if loc and loc[0] == "body" else loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def _json_type(value: Any) -> str:
    names = {bool: "boolean", str: "string", list: "array", dict: "object", type(None): "null"}
    return names.get(type(value), "number" if isinstance(value, int | float) else "value")


def _range_message(name: str, value: Any) -> tuple[str, str]:
    """Why a sensor value was refused, and the rule it broke."""
    rule = SENSOR_RANGES[name]
    if isinstance(value, int | float) and value <= 0 and rule.low == 0 and not rule.low_inclusive:
        why = f"must be > 0 {rule.unit}: a non-positive value is physically impossible"
    elif isinstance(value, int | float) and value < 0 and rule.low == 0:
        why = f"cannot be negative ({rule.unit}): physically impossible"
    else:
        why = f"{value!r} is outside the plausible range {rule.rule}"
        if name in _TEMPERATURES and isinstance(value, int | float) and -50 <= value < rule.low:
            why += " (a temperature in °C? send kelvin)"
    return why, f"plausible range {rule.rule}"


def _printable(value: Any) -> Any:
    """The refused input, made JSON-safe (NaN, infinity and raw bytes would break the answer)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value[:200]).decode("utf-8", errors="replace")
    if isinstance(value, dict):
        return {str(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(v) for v in value]
    return value


def describe(error: dict[str, Any]) -> dict[str, Any]:
    """One pydantic error as ``{loc, field, rule, msg, type, input}``."""
    loc = list(error.get("loc", ()))
    kind = str(error.get("type", "value_error"))
    field = _field_path(loc)
    name = str(loc[-1]) if loc else ""
    value = error.get("input")
    if kind in _RANGE_ERRORS and name in SENSOR_RANGES:
        why, rule = _range_message(name, value)
    elif kind == "missing":
        why, rule = "is required", "required field"
    elif kind == "finite_number":
        why, rule = "must be a finite number (not NaN or infinity)", "finite number"
    elif kind == "json_invalid":
        field = "body"
        position = f" at character {loc[-1]}" if loc and isinstance(loc[-1], int) else ""
        why = f"is not valid JSON{position}: {error.get('ctx', {}).get('error', error.get('msg'))}"
        rule = "valid JSON"
    elif kind.endswith("_type") or kind.endswith("_parsing"):
        expected = _EXPECTED.get(kind.rsplit("_", 1)[0], kind.rsplit("_", 1)[0])
        why = f"must be {expected}, got {_json_type(value)} {value!r}"[:200]
        rule = expected
    else:
        why, rule = str(error.get("msg", "is invalid")), kind
    out = {"loc": loc, "field": field, "rule": rule, "msg": f"{field} {why}", "type": kind}
    if kind not in {"missing", "json_invalid"}:
        out["input"] = _printable(value)
    return out


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [describe(dict(error)) for error in exc.errors()]
    body = {"detail": details, "message": "; ".join(d["msg"] for d in details)}
    return JSONResponse(jsonable_encoder(body), status.HTTP_422_UNPROCESSABLE_CONTENT)


async def model_unavailable(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status.HTTP_503_SERVICE_UNAVAILABLE)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(ModelUnavailableError, model_unavailable)
