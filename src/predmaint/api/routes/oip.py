"""The Open Inference Protocol (v2) routes: health, metadata and ``infer`` for the champion.

A plant that already runs KServe, Seldon or Triton clients calls predmaint unchanged: the served
model is ``predmaint-failure-classifier`` (``settings.model_name``), its one version the
champion this replica serves. ``infer`` takes the readings as an FP64 ``[N, 5]`` tensor and
answers through :func:`predmaint.api.answers.answer_readings`, the code of ``/predict/batch``:
same scores, risk levels, prediction ids (returned as the ``prediction_id`` output, so outcomes
can be sent to ``/feedback``), records and counters. The probes and metadata are open like
``/health`` and ``/ready``; ``infer`` needs the API key like ``/predict``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from predmaint import __version__
from predmaint.api.answers import Answer, answer_readings
from predmaint.api.deps import HolderDep
from predmaint.api.handlers import describe
from predmaint.api.holder import ModelHolder, ServedModel
from predmaint.api.metrics import ApiMetrics
from predmaint.api.oip import (
    BINARY_DATA,
    FAILURE_MODE,
    FAILURE_PROBABILITY,
    HEADER_LENGTH,
    INPUT,
    MODEL_PATH,
    OUTPUTS,
    PREDICTION,
    PREDICTION_ID,
    RISK_LEVEL,
    VERSION_PATH,
    Error,
    InferenceRequest,
    InferenceResponse,
    Live,
    ModelMetadata,
    ModelReady,
    OipError,
    Ready,
    ServerMetadata,
    inline_schema,
)
from predmaint.api.recording import AnswerRecorder
from predmaint.api.tensors import Requested, encode, readings, requested_outputs, split_body
from predmaint.models.compiled import ONNX_RUNTIME
from predmaint.settings import Settings

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": Error, "description": "Not the served model, or not its served version."},
    503: {"model": Error, "description": "No model loaded: the message says how to train one."},
}
_INFER_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Error, "description": "The tensor or the request refused: which and why."},
    401: {"model": Error, "description": "API key missing or wrong (when one is set)."},
    **_ERRORS,
}
_PLATFORMS = {ONNX_RUNTIME: "onnxruntime_onnx"}
_METADATA = "Metadata of the model: its input and output tensors"
_READY = "The model is loaded and answering"


def _served(holder: ModelHolder, name: str, model_name: str, version: str | None) -> ServedModel:
    """The snapshot a request uses, if the path names the served model (and version)."""
    if model_name != name:
        raise OipError(404, f"unknown model {model_name[:100]!r}: this server serves {name!r}")
    served = holder.current
    if served is None:
        raise OipError(503, holder.missing_reason)
    if version is not None and version != served.info.version:
        raise OipError(
            404,
            f"{name} version {version[:40]!r} is not served here: this replica serves version"
            f" {served.info.version} (the champion); leave /versions/... out to call it",
        )
    return served


def _failure_mode(answer: Answer) -> str:
    """The answer's failure mode, "" when none (a BYTES tensor has no null)."""
    return "" if answer.failure_mode is None else answer.failure_mode


def _columns(answers: list[Answer]) -> dict[str, list[Any]]:
    """The answers as one column per output tensor."""
    return {
        FAILURE_PROBABILITY: [a.failure_probability for a in answers],
        PREDICTION: [a.prediction for a in answers],
        RISK_LEVEL: [a.risk_level for a in answers],
        FAILURE_MODE: [_failure_mode(a) for a in answers],
        PREDICTION_ID: [a.prediction_id for a in answers],
    }


def _answer(
    request_id: str | None,
    name: str,
    served: ServedModel,
    outputs: list[Requested],
    answers: list[Answer],
) -> Response:
    """The inference response: JSON, or JSON then binary tensor data when any output asks."""
    columns = _columns(answers)
    entries: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    for output in outputs:
        values = columns[output.tensor.name]
        entry: dict[str, Any] = {
            "name": output.tensor.name,
            "datatype": output.tensor.datatype,
            "shape": [len(values)],
        }
        if output.binary:
            chunks.append(encode(output.tensor, values))
            entry["parameters"] = {"binary_data_size": len(chunks[-1])}
        else:
            entry["data"] = values
        entries.append(entry)
    head: dict[str, Any] = {"model_name": name, "model_version": served.info.version}
    if request_id is not None:
        head["id"] = request_id
    head["outputs"] = entries
    body = json.dumps(head, ensure_ascii=False, separators=(",", ":")).encode()
    if not chunks:
        return Response(body, media_type="application/json")
    return Response(
        body + b"".join(chunks),
        media_type="application/octet-stream",
        headers={"Inference-Header-Content-Length": str(len(body))},
    )


def _parse(head: bytes) -> InferenceRequest:
    """The JSON part as a request object; a 400 naming the fields otherwise."""
    try:
        return InferenceRequest.model_validate_json(head)
    except ValidationError as exc:
        errors = exc.errors()
        message = "; ".join(describe(dict(error))["msg"] for error in errors[:5])
        if len(errors) > 5:
            message += f"; and {len(errors) - 5} more"
        if "trailing characters" in message:  # bytes after the JSON, not announced
            message += " (binary tensor data after the JSON needs Inference-Header-Content-Length)"
        raise OipError(400, message) from None


def status_router(settings: Settings) -> APIRouter:
    """Server and model probes and metadata (open, like ``/health`` and ``/ready``)."""
    name = settings.model_name
    routes = APIRouter(tags=["open inference protocol (v2)"])

    @routes.get("/v2", response_model=ServerMetadata, summary="Server metadata")
    async def server_metadata() -> ServerMetadata:
        return ServerMetadata(name="predmaint", version=__version__, extensions=[BINARY_DATA])

    @routes.get("/v2/health/live", response_model=Live, summary="The server is alive")
    async def live() -> Live:
        return Live(live=True)

    @routes.get(
        "/v2/health/ready",
        response_model=Ready,
        summary="The model is loaded and answering",
        responses={503: _ERRORS[503]},
    )
    async def ready(holder: HolderDep) -> Ready:
        if holder.current is None:
            raise OipError(503, holder.missing_reason)
        return Ready(ready=True)

    def metadata(holder: ModelHolder, model_name: str, version: str | None) -> ModelMetadata:
        served = _served(holder, name, model_name, version)
        return ModelMetadata(
            name=name,
            versions=[served.info.version],
            platform=_PLATFORMS.get(served.scorer.runtime, served.scorer.runtime),
            inputs=[INPUT],
            outputs=list(OUTPUTS),
        )

    def model_ready(holder: ModelHolder, model_name: str, version: str | None) -> ModelReady:
        _served(holder, name, model_name, version)
        return ModelReady(name=name, ready=True)

    @routes.get(MODEL_PATH, response_model=ModelMetadata, summary=_METADATA, responses=_ERRORS)
    async def get_metadata(holder: HolderDep, model_name: str) -> ModelMetadata:
        return metadata(holder, model_name, None)

    @routes.get(VERSION_PATH, response_model=ModelMetadata, summary=_METADATA, responses=_ERRORS)
    async def get_version_metadata(
        holder: HolderDep, model_name: str, model_version: str
    ) -> ModelMetadata:
        return metadata(holder, model_name, model_version)

    @routes.get(MODEL_PATH + "/ready", response_model=ModelReady, summary=_READY, responses=_ERRORS)
    async def get_ready(holder: HolderDep, model_name: str) -> ModelReady:
        return model_ready(holder, model_name, None)

    @routes.get(
        VERSION_PATH + "/ready", response_model=ModelReady, summary=_READY, responses=_ERRORS
    )
    async def get_version_ready(
        holder: HolderDep, model_name: str, model_version: str
    ) -> ModelReady:
        return model_ready(holder, model_name, model_version)

    return routes


def infer_router(
    settings: Settings, metrics: ApiMetrics, recorder: AnswerRecorder | None = None
) -> APIRouter:
    """``POST .../infer`` (with and without a version), behind the API key when one is set."""
    name = settings.model_name
    language = settings.language
    max_rows = settings.api_batch_max
    recorder = recorder or AnswerRecorder(settings.model_copy(update={"api_record_answers": False}))
    routes = APIRouter(tags=["open inference protocol (v2)"])
    body = {
        "required": True,
        "content": {"application/json": {"schema": inline_schema(InferenceRequest)}},
    }

    async def infer(request: Request, model_name: str, version: str | None) -> Response:
        served = _served(request.app.state.holder, name, model_name, version)
        encoding = request.headers.get("content-encoding", "identity").lower()
        if encoding != "identity":
            raise OipError(400, f"Content-Encoding {encoding[:40]!r}: send the body uncompressed")
        head, binary = split_body(await request.body(), request.headers.get(HEADER_LENGTH))
        parsed = _parse(head)
        outputs = requested_outputs(parsed)
        sensors = readings(parsed, binary, max_rows)
        answers = await answer_readings(served, sensors, language, recorder, metrics)
        return _answer(parsed.id, name, served, outputs, answers)

    description = (
        f"An FP64 `[N, 5]` tensor `{INPUT.name}` (N from 1 to {max_rows}; columns "
        "air_temperature, process_temperature, rotational_speed, torque, tool_wear), `data` "
        "flat or nested, or as binary tensor data (`Inference-Header-Content-Length`). "
        "Outputs: failure_probability (FP64), prediction (INT64), risk_level, failure_mode "
        '("" when none) and prediction_id (BYTES), one value per reading.'
    )
    documented: dict[str, Any] = {
        "response_model": InferenceResponse,
        "summary": "Failure predictions for N readings",
        "description": description,
        "responses": _INFER_ERRORS,
        "openapi_extra": {"requestBody": body},
    }

    @routes.post(MODEL_PATH + "/infer", **documented)
    async def post_infer(request: Request, model_name: str) -> Response:
        return await infer(request, model_name, None)

    @routes.post(VERSION_PATH + "/infer", **documented)
    async def post_version_infer(request: Request, model_name: str, model_version: str) -> Response:
        return await infer(request, model_name, model_version)

    return routes
