"""Readings in, typed answers out: the one scoring path of ``/predict/batch`` and OIP ``infer``.

Both routes take an ``[N, 5]`` array of already validated readings and must answer, record and
count them the same way: one model call (in a worker thread on the scikit-learn fallback), the
risk rules of :mod:`predmaint.inference.risk`, a prediction id per reading, a record queued per
answer for the loop (issue 10) and the prediction counters. Only the wire format differs (JSON
answers with their diagnosis, or tensors without one), so a field added to
:class:`~predmaint.api.schemas.Prediction` here reaches both routes.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, fields

import numpy as np
from starlette.concurrency import run_in_threadpool

from predmaint.api.holder import ServedModel
from predmaint.api.metrics import ApiMetrics
from predmaint.api.recording import AnswerRecorder
from predmaint.api.schemas import Prediction
from predmaint.features.mechanisms import MODES, OSF_LIMITS, FailureMode
from predmaint.inference.diagnosis import DiagnosisWriter, recommendation
from predmaint.inference.risk import Language, RiskLevel, assess_many
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


@dataclass(frozen=True, slots=True)
class Answer:
    """One reading's answer: the fields of :class:`~predmaint.api.schemas.Prediction` but the
    diagnosis, which only ``/predict/batch`` sends (written straight into its JSON by
    :func:`batch_json`); OIP ``infer`` sends none, so it never computes one."""

    prediction: int
    probability: float
    risk_level: RiskLevel
    recommendation: str
    failure_probability: float
    model_version: str
    prediction_id: str
    failure_mode: FailureMode | None
    failure_mode_probability: float | None


assert [f.name for f in fields(Answer)] + ["diagnosis"] == list(Prediction.model_fields), (
    "an Answer is a Prediction without its diagnosis, field for field and in order"
)


async def answer_readings(
    served: ServedModel,
    sensors: np.ndarray,
    language: Language,
    recorder: AnswerRecorder,
    metrics: ApiMetrics,
) -> list[Answer]:
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
        Answer(
            prediction=prediction,
            probability=confidence,
            risk_level=level,
            recommendation=recommendation(level, mode, language),
            failure_probability=p,
            model_version=version,
            prediction_id=recorder.new_id(),
            failure_mode=mode,
            failure_mode_probability=mode_p,
        )
        for prediction, confidence, level, p, mode, mode_p in zip(
            predictions,
            assessed["probability"].tolist(),
            levels,
            scores,
            modes,
            mode_probabilities,
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


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def batch_json(
    answers: list[Answer], sensors: np.ndarray, diagnosis: DiagnosisWriter, version: str
) -> bytes:
    """``/predict/batch``'s body: ``{"predictions": [...], "count": n, "model_version": v}``.

    The bytes ``json.dumps(..., ensure_ascii=False, separators=(",", ":"))`` writes for the
    answers as :class:`~predmaint.api.schemas.Prediction` dicts, written directly with each
    reading's diagnosis as its writer's JSON (that of ``/predict``), rather than that JSON
    parsed back into entries, then dicts, then models, then dumped again.
    ``tests/unit/test_api_single.py`` compares both formulations.
    """
    parts = []
    for answer, values in zip(answers, sensors.tolist(), strict=True):
        mode_p = answer.failure_mode_probability
        parts.append(
            b'{"prediction":%d,"probability":%r,"risk_level":%b,"recommendation":%b,'
            b'"failure_probability":%r,"model_version":%b,"prediction_id":%b,"failure_mode":%b,'
            b'"failure_mode_probability":%b,"diagnosis":%b}'
            % (
                answer.prediction,
                answer.probability,
                _json(answer.risk_level),
                _json(answer.recommendation),
                answer.failure_probability,
                _json(answer.model_version),
                _json(answer.prediction_id),
                _json(answer.failure_mode),
                b"null" if mode_p is None else repr(mode_p).encode(),
                diagnosis(values),
            )
        )
    return b'{"predictions":[%b],"count":%d,"model_version":%b}' % (
        b",".join(parts),
        len(answers),
        _json(version),
    )
