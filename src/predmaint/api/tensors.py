"""Tensors on the wire: the ``[N, 5]`` FP64 input read from JSON or binary data, outputs written.

The protocol sends a tensor as ``data`` in the JSON body (row-major, flat or nested as the
shape says) or, with the binary tensor data extension, as raw little-endian bytes after the
JSON (``binary_data_size`` gives each tensor's share, the ``Inference-Header-Content-Length``
header the JSON's length). Either way the readings are held to the rules ``/predict`` applies
(:data:`predmaint.data.columns.SENSOR_RANGES`, finite numbers only), and a refusal names the
element (``sensor_readings[3, 3] (torque)``) and the rule it broke.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from predmaint.api.echo import excerpt
from predmaint.api.handlers import range_message
from predmaint.api.oip import (
    BYTES,
    FP64,
    INPUT,
    INPUT_NAME,
    OUTPUTS,
    InferenceRequest,
    OipError,
    TensorMetadata,
)
from predmaint.data.columns import SENSOR_COLUMNS, SENSOR_RANGES

WIDTH = len(SENSOR_COLUMNS)
_NUMPY = {FP64: "<f8", "INT64": "<i8"}
#: Errors listed in one refusal; the rest are counted.
MAX_LISTED = 5
#: Parameters of other extensions (Triton's shared memory, classification) this server lacks.
_UNSUPPORTED = ("shared_memory_region", "classification")


def _bad(message: str) -> OipError:
    return OipError(400, message)


def split_body(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    """The JSON part of the body and the binary data after it (empty without the header)."""
    if header_length is None:
        return body, b""
    if not header_length.isdigit() or int(header_length) > len(body):
        raise _bad(
            f"Inference-Header-Content-Length must be the byte length of the JSON part, between"
            f" 0 and the body's {len(body):,} bytes; got {header_length[:40]!r}"
        )
    split = int(header_length)
    return body[:split], body[split:]


def _refuse_unsupported(parameters: dict[str, Any], where: str) -> None:
    for name in _UNSUPPORTED:
        if name in parameters:
            raise _bad(f"{where}.parameters.{name}: this server does not implement that extension")


def _element(row: int, col: int) -> str:
    return f"{INPUT_NAME}[{row}, {col}] ({SENSOR_COLUMNS[col]})"


def _from_json(data: Any, rows: int) -> np.ndarray:
    """The ``data`` of the input as an ``[rows, 5]`` array: flat (row-major) or one list per row."""
    if not isinstance(data, list):
        raise _bad(
            f"inputs[0].data must be a JSON array of {rows}×{WIDTH} numbers, flat (row-major)"
            f" or {rows} arrays of {WIDTH}"
        )
    if data and all(isinstance(row, list) for row in data):
        if len(data) != rows:
            raise _bad(f"inputs[0].data has {len(data)} rows; its shape says {rows}")
        for index, row in enumerate(data):
            if len(row) != WIDTH:
                raise _bad(
                    f"inputs[0].data[{index}] has {len(row)} values; a reading has {WIDTH}"
                    f" ({', '.join(SENSOR_COLUMNS)})"
                )
        flat = [value for row in data for value in row]
    else:
        flat = data
        if len(flat) != rows * WIDTH:
            raise _bad(
                f"inputs[0].data has {len(flat)} values; shape [{rows}, {WIDTH}] needs"
                f" {rows * WIDTH} (flat, row-major) or {rows} arrays of {WIDTH}"
            )
    values = np.empty(rows * WIDTH, dtype=np.float64)
    for index, value in enumerate(flat):
        row, col = divmod(index, WIDTH)
        if type(value) not in (int, float):  # bool is not a number here, nor "42.8"
            raise _bad(f"{_element(row, col)} must be a JSON number, got {excerpt(value, 40)}")
        try:
            values[index] = value
        except OverflowError:  # an integer of hundreds of digits
            rule = SENSOR_RANGES[SENSOR_COLUMNS[col]].rule
            raise _bad(
                f"{_element(row, col)} is out of range: outside the plausible range {rule}"
            ) from None
    return values.reshape(rows, WIDTH)


def _from_binary(chunk: bytes, size: Any, rows: int) -> np.ndarray:
    expected = rows * WIDTH * 8
    if type(size) is not int or size != expected:
        raise _bad(
            f"inputs[0].parameters.binary_data_size must be {expected} ({rows}×{WIDTH} FP64"
            f" values of 8 bytes); got {excerpt(size, 40)}"
        )
    if len(chunk) != size:
        raise _bad(
            f"the binary data after the JSON is {len(chunk)} bytes; inputs[0] announces {size}"
        )
    return np.frombuffer(chunk, dtype="<f8").astype(np.float64).reshape(rows, WIDTH)


def check_readings(values: np.ndarray) -> None:
    """Refuse non-finite and implausible values, naming each element and its rule."""
    finite = np.isfinite(values)
    problems = [
        (row, col, "must be a finite number (not NaN or infinity)")
        for row, col in np.argwhere(~finite).tolist()
    ]
    for col, name in enumerate(SENSOR_COLUMNS):
        rule = SENSOR_RANGES[name]
        column = values[:, col]
        with np.errstate(invalid="ignore"):
            low = column < rule.low if rule.low_inclusive else column <= rule.low
            bad = (low | (column > rule.high)) & finite[:, col]
        for row in np.flatnonzero(bad).tolist():
            value = float(column[row])
            shown = repr(int(value)) if value.is_integer() else repr(value)
            problems.append((row, col, range_message(name, value, shown)[0]))
    if problems:
        problems.sort()
        listed = [f"{_element(row, col)} {why}" for row, col, why in problems[:MAX_LISTED]]
        more = len(problems) - len(listed)
        raise _bad("; ".join(listed) + (f"; and {more:,} more" if more else ""))


def readings(request: InferenceRequest, binary: bytes, max_rows: int) -> np.ndarray:
    """The request's one input as checked readings ``[N, 5]`` in model order."""
    if len(request.inputs) != 1:
        raise _bad(
            f"inputs must hold exactly one tensor, {INPUT_NAME!r} (FP64 [N, {WIDTH}]);"
            f" got {len(request.inputs)}"
        )
    tensor = request.inputs[0]
    if tensor.name != INPUT_NAME:
        raise _bad(f"inputs[0].name must be {INPUT_NAME!r}; got {excerpt(tensor.name, 60)}")
    if tensor.datatype != INPUT.datatype:
        raise _bad(f"inputs[0].datatype must be FP64; got {excerpt(tensor.datatype, 40)}")
    shape = tensor.shape
    if len(shape) != 2 or shape[1] != WIDTH:
        raise _bad(
            f"inputs[0].shape must be [N, {WIDTH}] (one row per reading: "
            f"{', '.join(SENSOR_COLUMNS)}); got {excerpt(shape, 60)}"
        )
    rows = shape[0]
    if not 1 <= rows <= max_rows:
        raise _bad(
            f"inputs[0].shape: N must be 1 to {max_rows:,} readings (PREDMAINT_API_BATCH_MAX);"
            f" got {rows:,}"
        )
    parameters = tensor.parameters or {}
    _refuse_unsupported(parameters, "inputs[0]")
    if "binary_data_size" in parameters:
        if tensor.data is not None:
            raise _bad("inputs[0] has both data and binary_data_size: send one of them")
        values = _from_binary(binary, parameters["binary_data_size"], rows)
    else:
        if binary:
            raise _bad(
                f"{len(binary)} bytes follow the JSON, but inputs[0] has no binary_data_size"
            )
        if tensor.data is None:
            raise _bad("inputs[0].data is required (or parameters.binary_data_size)")
        values = _from_json(tensor.data, rows)
    check_readings(values)
    return values


def _flag(parameters: dict[str, Any] | None, name: str, where: str, default: bool) -> bool:
    value = (parameters or {}).get(name, default)
    if type(value) is not bool:
        raise _bad(f"{where}.{name} must be true or false; got {excerpt(value, 40)}")
    return value


@dataclass(frozen=True)
class Requested:
    """An output to return, and whether as binary data."""

    tensor: TensorMetadata
    binary: bool


def requested_outputs(request: InferenceRequest) -> list[Requested]:
    """The outputs asked for (all, in metadata order, when none is named)."""
    default = _flag(request.parameters, "binary_data_output", "parameters", False)
    by_name = {tensor.name: tensor for tensor in OUTPUTS}
    if request.outputs is None:
        return [Requested(tensor, default) for tensor in OUTPUTS]
    chosen: list[Requested] = []
    for index, output in enumerate(request.outputs):
        where = f"outputs[{index}]"
        tensor = by_name.get(output.name)
        if tensor is None:
            raise _bad(
                f"{where}.name {excerpt(output.name, 60)} is not an output of this model;"
                f" choose from {', '.join(by_name)}"
            )
        if any(r.tensor is tensor for r in chosen):
            raise _bad(f"{where}.name {output.name!r} is requested twice")
        _refuse_unsupported(output.parameters or {}, where)
        chosen.append(
            Requested(
                tensor, _flag(output.parameters, "binary_data", where + ".parameters", default)
            )
        )
    return chosen


def encode(tensor: TensorMetadata, values: Sequence[Any]) -> bytes:
    """``values`` as binary tensor data: little-endian numbers; BYTES as 4-byte length + UTF-8."""
    if tensor.datatype == BYTES:
        texts = [str(value).encode() for value in values]
        return b"".join(struct.pack("<I", len(text)) + text for text in texts)
    return np.asarray(values, dtype=_NUMPY[tensor.datatype]).tobytes()
