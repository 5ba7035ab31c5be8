"""``POST /predict`` (the spec's contract) and ``POST /predict/batch``.

The single-reading path is the hot one: an async route (no thread-pool hop), one compiled-model
call on five floats, the pure-Python risk rules and mechanism diagnosis, the mode model only when
a failure is predicted, and a JSON body written directly (FastAPI would otherwise validate and
re-serialize the answer through the response model). When the model runs
on the scikit-learn fallback, scoring moves to a worker thread so one slow call cannot stall
the event loop.
"""

from typing import Any

import numpy as np
from fastapi import APIRouter
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from predmaint.api.answers import answer_readings, api_osf_limit, batch_json
from predmaint.api.deps import ModelDep
from predmaint.api.metrics import ApiMetrics
from predmaint.api.recording import AnswerRecorder
from predmaint.api.responses import JSONBytes
from predmaint.api.schemas import (
    PROBABILITY_MEANING,
    BatchPrediction,
    Prediction,
    Problem,
    SensorReading,
    batch_request_model,
)
from predmaint.api.single import SingleAnswers
from predmaint.inference.diagnosis import diagnosis_writer
from predmaint.models.compiled import SKLEARN
from predmaint.settings import Settings

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body could not be decoded at all."},
    401: {"model": Problem, "description": "API key missing or wrong (when one is set)."},
    422: {"description": "A field is missing, of the wrong type, not finite, or implausible."},
    503: {"model": Problem, "description": "No model loaded: the message says how to train one."},
}


def router(
    settings: Settings,
    metrics: ApiMetrics,
    recorder: AnswerRecorder | None = None,
    single: SingleAnswers | None = None,
) -> APIRouter:
    """The prediction routes for these settings (risk-text language, batch size limit).

    ``metrics`` is bound here rather than injected: every dependency costs microseconds on
    the hot path, and the counters belong to the app for its whole life anyway. ``single``
    writes ``/predict``'s answer, the same object as the fast path's (one writer, one record).
    """
    language = settings.language
    recorder = recorder or AnswerRecorder(settings.model_copy(update={"api_record_answers": False}))
    single = single or SingleAnswers(settings, metrics, recorder)
    diagnosis = diagnosis_writer(language, api_osf_limit(settings))
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
        return JSONBytes(single.answer(p, values, served))

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
        answers = await answer_readings(served, sensors, language, recorder, metrics)
        return JSONBytes(batch_json(answers, sensors, diagnosis, served.info.version))

    return routes
