"""``POST /predict`` (the spec's contract) and ``POST /predict/batch``.

The single-reading path is the hot one: an async route (no thread-pool hop), one compiled-model
call on five floats, the pure-Python risk rules and mechanism diagnosis, the mode model only when
a failure is predicted, and a JSON body written directly (FastAPI would otherwise validate and
re-serialize the answer through the response model). When the model runs
on the scikit-learn fallback, scoring moves to a worker thread so one slow call cannot stall
the event loop.
"""

import json
from collections import Counter
from typing import Any

import numpy as np
from fastapi import APIRouter
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from predmaint.api.deps import ModelDep
from predmaint.api.holder import ServedModel
from predmaint.api.metrics import ApiMetrics
from predmaint.api.recording import AnswerRecorder, stamp
from predmaint.api.schemas import (
    PROBABILITY_MEANING,
    BatchPrediction,
    Prediction,
    Problem,
    SensorReading,
    batch_request_model,
)
from predmaint.features.mechanisms import MODES, OSF_LIMITS, FailureMode
from predmaint.inference.diagnosis import (
    diagnose,
    diagnosis_json,
    recommendation,
    recommendation_table,
)
from predmaint.inference.risk import Language, RiskLevel, assess, assess_many
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


def _json(payload: dict[str, Any]) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, media_type="application/json")


def _modes(
    served: ServedModel, sensors: np.ndarray, prediction: np.ndarray
) -> tuple[list[FailureMode | None], list[float | None]]:
    """The failure mode and its probability of each reading predicted to fail (else None)."""
    modes: list[FailureMode | None] = [None] * len(sensors)
    chances: list[float | None] = [None] * len(sensors)
    failing = np.flatnonzero(prediction == 1)
    if served.modes is not None and len(failing):
        codes, probability = served.modes.best_many(sensors[failing])
        for row, code, chance in zip(failing, codes, probability, strict=True):
            modes[row] = MODES[code]
            chances[row] = float(chance)
    return modes, chances


def router(
    settings: Settings, metrics: ApiMetrics, recorder: AnswerRecorder | None = None
) -> APIRouter:
    """The prediction routes for these settings (risk-text language, batch size limit).

    ``metrics`` is bound here rather than injected: every dependency costs microseconds on
    the hot path, and the counters belong to the app for its whole life anyway.
    """
    language = settings.language
    # The API's readings carry no machine type: the strictest overstrain limit of the types
    # the model serves (type L's by default, the spec's machines).
    osf_limit = min(OSF_LIMITS[kind] for kind in settings.machine_types)
    recorder = recorder or AnswerRecorder(settings.model_copy(update={"api_record_answers": False}))
    texts = _encoded_texts(language)
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
        if scorer.runtime == SKLEARN:  # the slow fallback: keep the event loop free
            p = await run_in_threadpool(scorer.probability_one, reading.values())
        else:
            p = scorer.probability_one(reading.values())
        risk = assess(p, served.threshold, language)
        metrics.predicted(risk.prediction, risk.risk_level)
        mode: FailureMode | None = None
        mode_p = "null"
        if risk.prediction and served.modes is not None:  # rare: the common answer skips it
            mode, mode_probability = served.modes.best_one(reading.values())
            mode_p = repr(mode_probability)
        # Same bytes json.dumps would write (floats are finite), without a generic encoder.
        body = (
            f'{{"prediction":{risk.prediction},"probability":{risk.probability!r},'
            f"{texts[risk.risk_level, mode]},"
            f'"failure_probability":{risk.failure_probability!r},'
            f'"model_version":{json.dumps(served.info.version)},'
            f'"failure_mode":{_MODE_JSON[mode]},'
            f'"failure_mode_probability":{mode_p},'
            f'"diagnosis":{diagnosis_json(reading.values(), language, osf_limit)}}}'
        )
        # every answer is traceable: an id first in the body, and a record queued (issue 10)
        prediction_id = recorder.new_id()
        recorder.record(
            prediction_id,
            reading.values(),
            risk.prediction,
            risk.failure_probability,
            risk.risk_level,
            served.info.version,
        )
        return Response(stamp(body, prediction_id).encode(), media_type="application/json")

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
        if served.scorer.runtime == SKLEARN:
            probability = await run_in_threadpool(served.scorer.probability, sensors)
        else:
            probability = served.scorer.probability(sensors)
        assessed = assess_many(probability, served.threshold, language)
        modes, mode_probabilities = _modes(served, sensors, assessed["prediction"])
        version = served.info.version
        ids = [recorder.new_id() for _ in readings]
        answers = [
            {
                "prediction": int(prediction),
                "probability": float(confidence),
                "risk_level": str(level),
                "recommendation": recommendation(level, mode, language),
                "failure_probability": float(p),
                "model_version": version,
                "failure_mode": mode,
                "failure_mode_probability": mode_p,
                "diagnosis": [
                    entry.to_dict() for entry in diagnose(reading.values(), language, osf_limit)
                ],
                "prediction_id": prediction_id,
            }
            for prediction_id, reading, prediction, confidence, level, p, mode, mode_p in zip(
                ids,
                readings,
                assessed["prediction"],
                assessed["probability"],
                assessed["risk_level"],
                assessed["failure_probability"],
                modes,
                mode_probabilities,
                strict=True,
            )
        ]
        for prediction_id, reading, prediction, p, level in zip(
            ids,
            readings,
            assessed["prediction"].tolist(),
            assessed["failure_probability"].tolist(),
            assessed["risk_level"].tolist(),
            strict=True,
        ):
            recorder.record(prediction_id, reading.values(), prediction, p, level, version)
        for (prediction, level), count in Counter(
            zip(assessed["prediction"].tolist(), assessed["risk_level"].tolist(), strict=True)
        ).items():
            metrics.predicted(prediction, level, count)
        return _json({"predictions": answers, "count": len(answers), "model_version": version})

    return routes
