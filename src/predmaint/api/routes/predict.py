"""``POST /predict`` (the spec's contract) and ``POST /predict/batch``.

The single-reading path is the hot one: an async route (no thread-pool hop), one compiled-model
call on five floats, the pure-Python risk rules and mechanism diagnosis, the mode model only when
a failure is predicted, and a JSON body written directly (FastAPI would otherwise validate and
re-serialize the answer through the response model). When the model runs
on the scikit-learn fallback, scoring moves to a worker thread so one slow call cannot stall
the event loop.
"""

import json
from functools import lru_cache
from typing import Any

import numpy as np
from fastapi import APIRouter
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from predmaint.api.answers import answer_readings, api_osf_limit
from predmaint.api.deps import ModelDep
from predmaint.api.metrics import ApiMetrics
from predmaint.api.recording import AnswerRecorder, stamp
from predmaint.api.responses import JSONBytes
from predmaint.api.schemas import (
    PROBABILITY_MEANING,
    BatchPrediction,
    Prediction,
    Problem,
    SensorReading,
    batch_request_model,
)
from predmaint.features.mechanisms import MODES, FailureMode
from predmaint.inference.diagnosis import diagnosis_writer, recommendation_table
from predmaint.inference.risk import Language, RiskLevel, assess
from predmaint.models.compiled import SKLEARN
from predmaint.settings import Settings

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body could not be decoded at all."},
    401: {"model": Problem, "description": "API key missing or wrong (when one is set)."},
    422: {"description": "A field is missing, of the wrong type, not finite, or implausible."},
    503: {"model": Problem, "description": "No model loaded: the message says how to train one."},
}


def _encoded_texts(language: Language) -> dict[tuple[RiskLevel, FailureMode | None], str]:
    """``"risk_level":…,"recommendation":…`` per level and failure mode, JSON-encoded once."""
    return {
        (level, mode): f'"risk_level":{json.dumps(level, ensure_ascii=False)},'
        f'"recommendation":{json.dumps(text, ensure_ascii=False)}'
        for (level, mode), text in recommendation_table(language).items()
    }


_MODE_JSON: dict[FailureMode | None, str] = {None: "null", **{m: f'"{m}"' for m in MODES}}


@lru_cache(maxsize=16)
def _json_string(text: str) -> str:
    """``text`` as a JSON string, encoded once per model version rather than per answer."""
    return json.dumps(text)


def _json(payload: dict[str, Any]) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, media_type="application/json")


def router(
    settings: Settings, metrics: ApiMetrics, recorder: AnswerRecorder | None = None
) -> APIRouter:
    """The prediction routes for these settings (risk-text language, batch size limit).

    ``metrics`` is bound here rather than injected: every dependency costs microseconds on
    the hot path, and the counters belong to the app for its whole life anyway.
    """
    language = settings.language
    osf_limit = api_osf_limit(settings)
    recorder = recorder or AnswerRecorder(settings.model_copy(update={"api_record_answers": False}))
    texts = _encoded_texts(language)
    diagnosis_json = diagnosis_writer(language, osf_limit)  # constant text joined once
    batch_request = batch_request_model(settings.api_batch_max)
    routes = APIRouter(tags=["prediction"])

    @routes.post(
        "/predict",
        response_model=Prediction,
        summary="Failure prediction for one reading",
        description=(
            "The spec's contract: `prediction`, `probability`, `risk_level`, `recommendation`, "
            "plus `failure_probability`, `model_version`, `failure_mode` (with its probability) "
            "and `diagnosis`: every documented failure mechanism with its value, limit and "
            "utilisation (≥ 1: the rule holds). A predicted failure's recommendation adds the "
            "action for its mode. `probability`: " + PROBABILITY_MEANING
        ),
        responses=_ERRORS,
    )
    async def predict(reading: SensorReading, served: ModelDep) -> Response:
        scorer = served.scorer
        values = reading.values()
        if scorer.runtime == SKLEARN:  # the slow fallback: keep the event loop free
            p = await run_in_threadpool(scorer.probability_one, values)
        else:
            p = scorer.probability_one(values)
        risk = assess(p, served.threshold, language)
        metrics.predicted(risk.prediction, risk.risk_level)
        mode: FailureMode | None = None
        mode_p = "null"
        if risk.prediction and served.modes is not None:  # rare: the common answer skips it
            mode, mode_probability = served.modes.best_one(values)
            mode_p = repr(mode_probability)
        # Same bytes json.dumps would write (floats are finite), without a generic encoder.
        body = (
            f'{{"prediction":{risk.prediction},"probability":{risk.probability!r},'
            f"{texts[risk.risk_level, mode]},"
            f'"failure_probability":{risk.failure_probability!r},'
            f'"model_version":{_json_string(served.info.version)},'
            f'"failure_mode":{_MODE_JSON[mode]},'
            f'"failure_mode_probability":{mode_p},'
            f'"diagnosis":{diagnosis_json(values)}}}'
        )
        # every answer is traceable: an id first in the body, and a record queued (issue 10)
        prediction_id = recorder.new_id()
        recorder.record(
            prediction_id,
            values,
            risk.prediction,
            risk.failure_probability,
            risk.risk_level,
            served.info.version,
        )
        return JSONBytes(stamp(body, prediction_id).encode())

    @routes.post(
        "/predict/batch",
        response_model=BatchPrediction,
        summary=f"Failure predictions for up to {settings.api_batch_max} readings",
        description="Each reading is validated as in `/predict`; answers come in the same order.",
        responses=_ERRORS,
    )
    async def predict_batch(
        request: batch_request,  # type: ignore[valid-type]  # the limit is a setting
        served: ModelDep,
    ) -> Response:
        readings: list[SensorReading] = request.readings  # type: ignore[attr-defined]
        sensors = np.array([r.values() for r in readings], dtype=np.float64)
        answers = await answer_readings(served, sensors, language, recorder, metrics, osf_limit)
        return _json(
            {
                "predictions": [answer.model_dump() for answer in answers],
                "count": len(answers),
                "model_version": served.info.version,
            }
        )

    return routes
