"""The Open Inference Protocol (v2, "KServe v2"), as predmaint speaks it: paths, tensors, bodies.

KServe, Seldon MLServer and Triton clients call ``/v2/...`` routes with tensors instead of
named fields. The ``kserve`` and ``mlserver`` packages conflict with our lock (pandas 3,
fastapi), so the protocol is written here from the specification
(github.com/kserve/open-inference-protocol) and Triton's binary tensor data extension, and
tested with Triton's own client (``tritonclient[http]``).

This module holds what the routes, the limits layer and the error handlers must agree on:
which paths are OIP paths (their errors are ``{"error": "…"}``, the protocol's shape, not
``{"detail": …}``), which of them take binary bodies, the tensor metadata of the served model,
and the request and response objects (pydantic, so the OpenAPI document shows them).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from predmaint.data.columns import SENSOR_COLUMNS

PREFIX = "/v2"
MODEL_PATH = "/v2/models/{model_name}"
VERSION_PATH = MODEL_PATH + "/versions/{model_version}"
#: The infer routes, with and without a version; bodies may carry binary tensor data.
INFER_PATHS = (MODEL_PATH + "/infer", VERSION_PATH + "/infer")
_INFER = re.compile(r"^/v2/models/[^/]+(/versions/[^/]+)?/infer$")
#: The protocol extension this server implements (listed by ``GET /v2``).
BINARY_DATA = "binary_tensor_data"
#: The header giving the JSON part's length when binary tensor data follows it.
HEADER_LENGTH = "inference-header-content-length"

Datatype = Literal["FP64", "INT64", "BYTES"]
FP64: Datatype = "FP64"
INT64: Datatype = "INT64"
BYTES: Datatype = "BYTES"

INPUT_NAME = "sensor_readings"
FAILURE_PROBABILITY = "failure_probability"
PREDICTION = "prediction"
RISK_LEVEL = "risk_level"
FAILURE_MODE = "failure_mode"
PREDICTION_ID = "prediction_id"


def is_oip(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def takes_binary(path: str) -> bool:
    """An infer path: its body may be JSON followed by binary tensor data."""
    return _INFER.match(path) is not None


def problem(path: str, message: str) -> dict[str, str]:
    """The error body a client of ``path`` reads: ``error`` for OIP clients (tritonclient fails
    on anything else), ``detail`` (FastAPI's) on predmaint's own routes."""
    return {"error": message} if is_oip(path) else {"detail": message}


class OipError(Exception):
    """A request the protocol refuses; answered ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class TensorMetadata(BaseModel):
    name: str
    datatype: Datatype
    shape: list[int] = Field(description="-1: any size (the number of readings).")


INPUT = TensorMetadata(name=INPUT_NAME, datatype=FP64, shape=[-1, len(SENSOR_COLUMNS)])
#: The outputs, in the order an answer lists them when the request names none.
OUTPUTS: tuple[TensorMetadata, ...] = (
    TensorMetadata(name=FAILURE_PROBABILITY, datatype=FP64, shape=[-1]),
    TensorMetadata(name=PREDICTION, datatype=INT64, shape=[-1]),
    TensorMetadata(name=RISK_LEVEL, datatype=BYTES, shape=[-1]),
    TensorMetadata(name=FAILURE_MODE, datatype=BYTES, shape=[-1]),
    TensorMetadata(name=PREDICTION_ID, datatype=BYTES, shape=[-1]),
)
OUTPUT_NAMES = tuple(output.name for output in OUTPUTS)


class ServerMetadata(BaseModel):
    name: str
    version: str
    extensions: list[str]


class Live(BaseModel):
    live: bool


class Ready(BaseModel):
    ready: bool


class ModelReady(BaseModel):
    name: str
    ready: bool


class ModelMetadata(BaseModel):
    name: str
    versions: list[str] = Field(description="The version this replica serves (the champion).")
    platform: str = Field(description="onnxruntime_onnx (compiled) or sklearn (fallback).")
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class Error(BaseModel):
    error: str


class RequestInput(BaseModel):
    """One input tensor; ``data`` is absent when its bytes follow the JSON (binary extension)."""

    model_config = ConfigDict(strict=True)
    name: str
    shape: list[int]
    datatype: str
    parameters: dict[str, Any] | None = None
    data: Any = None


class RequestOutput(BaseModel):
    model_config = ConfigDict(strict=True)
    name: str
    parameters: dict[str, Any] | None = None


class InferenceRequest(BaseModel):
    model_config = ConfigDict(strict=True)
    id: str | None = Field(default=None, description="Echoed in the answer.")
    parameters: dict[str, Any] | None = None
    inputs: list[RequestInput]
    outputs: list[RequestOutput] | None = Field(
        default=None, description="Which outputs to return (default: all)."
    )


class ResponseOutput(BaseModel):
    name: str
    datatype: Datatype
    shape: list[int]
    parameters: dict[str, Any] | None = None
    data: list[Any] | None = None


class InferenceResponse(BaseModel):
    model_name: str
    model_version: str
    id: str | None = None
    outputs: list[ResponseOutput]


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema with its ``$defs`` inlined, to document a body the route reads
    itself (``openapi_extra``), where ``#/$defs/…`` references would not resolve."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved
