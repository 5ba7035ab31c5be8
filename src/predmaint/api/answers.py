"""Readings in, typed answers out: the one scoring path of ``/predict/batch`` and OIP ``infer``.

Both routes take an ``[N, 5]`` array of already validated readings and must answer, record and
count them the same way: one model call (in a worker thread on the scikit-learn fallback), the
risk rules of :mod:`predmaint.inference.risk`, a prediction id per reading, a record queued per
answer for the loop (issue 10) and the prediction counters. Only the wire format differs (JSON
answers, or tensors), so a field added to :class:`~predmaint.api.schemas.Prediction` here reaches
both routes.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from starlette.concurrency import run_in_threadpool

from predmaint.api.holder import ServedModel
from predmaint.api.metrics import ApiMetrics
from predmaint.api.recording import AnswerRecorder
from predmaint.api.schemas import DiagnosisItem, Prediction
from predmaint.features.mechanisms import MODES, OSF_LIMITS, FailureMode
from predmaint.inference.diagnosis import diagnose, recommendation
from predmaint.inference.risk import Language, assess_many
from predmaint.models.compiled import SKLEARN
from predmaint.settings import Settings


def api_osf_limit(settings: Settings) -> float:
    """The overstrain limit of API answers: their readings carry no machine type, so the
    strictest limit of the types the model serves (type L's by default, the spec's machines)."""
    return min(OSF_LIMITS[kind] for kind in settings.machine_types)


def failure_modes(
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


async def answer_readings(
    served: ServedModel,
    sensors: np.ndarray,
    language: Language,
    recorder: AnswerRecorder,
    metrics: ApiMetrics,
    osf_limit: float,
) -> list[Prediction]:
    """One answer per row of ``sensors`` (model order), recorded and counted, in order."""
    if served.scorer.runtime == SKLEARN:  # the slow fallback: keep the event loop free
        probability = await run_in_threadpool(served.scorer.probability, sensors)
    else:
        probability = served.scorer.probability(sensors)
    assessed = assess_many(probability, served.threshold, language)
    version = served.info.version
    predictions = assessed["prediction"].tolist()
    scores = assessed["failure_probability"].tolist()
    levels = assessed["risk_level"].tolist()
    modes, mode_probabilities = failure_modes(served, sensors, assessed["prediction"])
    answers = [
        # model_construct: the values come from the model and the risk rules, already typed
        Prediction.model_construct(
            prediction=prediction,
            probability=confidence,
            risk_level=level,
            recommendation=recommendation(level, mode, language),
            failure_probability=p,
            model_version=version,
            failure_mode=mode,
            failure_mode_probability=mode_p,
            diagnosis=[
                DiagnosisItem.model_construct(**entry.to_dict())
                for entry in diagnose(values, language, osf_limit)
            ],
            prediction_id=recorder.new_id(),
        )
        for prediction, confidence, level, p, mode, mode_p, values in zip(
            predictions,
            assessed["probability"].tolist(),
            levels,
            scores,
            modes,
            mode_probabilities,
            sensors.tolist(),
            strict=True,
        )
    ]
    for answer, values in zip(answers, sensors.tolist(), strict=True):
        recorder.record(
            answer.prediction_id,
            tuple(values),
            answer.prediction,
            answer.failure_probability,
            answer.risk_level,
            version,
        )
    for (prediction, level), count in Counter(zip(predictions, levels, strict=True)).items():
        metrics.predicted(prediction, level, count)
    return answers
