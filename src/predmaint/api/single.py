"""``POST /predict``'s answer to one reading, as JSON bytes: one writer for the route and the
fast path (:mod:`predmaint.api.fastpath`), so both answer the same bytes.

The answer is the spec's four fields, ``failure_probability``, ``model_version``, the failure mode
and its probability, the diagnosis and the ``prediction_id``, in that order: what
``json.dumps(..., ensure_ascii=False, separators=(",", ":"))`` of the ``Prediction`` fields would
write (floats are finite), written directly. Every answer is counted and queued for the record
(issue 10).
"""

from __future__ import annotations

import json

from predmaint.api.answers import api_osf_limit
from predmaint.api.holder import ServedModel
from predmaint.api.metrics import ApiMetrics
from predmaint.api.recording import AnswerRecorder
from predmaint.features.mechanisms import MODES, FailureMode
from predmaint.inference.diagnosis import diagnosis_writer, recommendation_table
from predmaint.inference.risk import RISK_LEVELS, Language, RiskLevel
from predmaint.settings import Settings

_FAILING: frozenset[RiskLevel] = frozenset(RISK_LEVELS[2:])  # Alto, Crítico: prediction 1
_MODE_JSON: dict[FailureMode | None, str] = {None: "null", **{m: f'"{m}"' for m in MODES}}
#: Model versions whose JSON text is kept (one per version served: a handful).
_VERSIONS_KEPT = 16


def _heads(language: Language) -> dict[tuple[RiskLevel, FailureMode | None], tuple[str, str]]:
    """Per level and failure mode, the answer's text before ``probability`` and between it and
    ``failure_probability``: the prediction, risk level and recommendation, JSON-encoded once."""
    heads = {}
    for (level, mode), text in recommendation_table(language).items():
        prediction = 1 if level in _FAILING else 0
        heads[level, mode] = (
            f'{{"prediction":{prediction},"probability":',
            f',"risk_level":{json.dumps(level, ensure_ascii=False)},'
            f'"recommendation":{json.dumps(text, ensure_ascii=False)},"failure_probability":',
        )
    return heads


class SingleAnswers:
    """Writes, counts and records the answer to one reading for this app's settings."""

    def __init__(self, settings: Settings, metrics: ApiMetrics, recorder: AnswerRecorder) -> None:
        self.metrics = metrics
        self.recorder = recorder
        self.heads = _heads(settings.language)
        self.diagnosis = diagnosis_writer(settings.language, api_osf_limit(settings))
        self.versions: dict[str, str] = {}

    def _version(self, version: str) -> str:
        """``version`` as a JSON string, encoded once per model version rather than per answer."""
        text = self.versions.get(version)
        if text is None:
            if len(self.versions) >= _VERSIONS_KEPT:
                self.versions.clear()
            text = self.versions[version] = json.dumps(version)
        return text

    def answer(
        self, failure_probability: float, values: tuple[float, ...], served: ServedModel
    ) -> bytes:
        """The JSON answer to ``values`` (model order) scored ``failure_probability`` by ``served``.

        The risk rules of :func:`predmaint.inference.risk.assess` written out here, same
        comparisons on the same floats, for measured speed: its record and recommendation
        lookup cost about as much as the rest of this function's own lines
        (``bench/api_inprocess.py``); ``tests/unit/test_api_single.py`` holds them equal.
        """
        p = float(failure_probability)
        threshold = served.threshold
        if p < threshold:
            prediction, probability = 0, 1.0 - p
            level: RiskLevel = "Baixo" if p < threshold / 2.0 else "Médio"
        else:
            prediction, probability = 1, p
            level = "Crítico" if p >= (1.0 + threshold) / 2.0 else "Alto"
        self.metrics.predicted(prediction, level)
        mode: FailureMode | None = None
        mode_p = "null"
        if prediction and served.modes is not None:  # rare: the common answer skips it
            mode, mode_probability = served.modes.best_one(values)
            mode_p = repr(mode_probability)
        version = served.info.version
        head, middle = self.heads[level, mode]
        # every answer is traceable: an id last in the body, and a record queued (issue 10)
        prediction_id = self.recorder.new_id()
        self.recorder.record(prediction_id, values, prediction, p, level, version)
        return (
            f"{head}{probability!r}{middle}{p!r},"
            f'"model_version":{self._version(version)},"failure_mode":{_MODE_JSON[mode]},'
            f'"failure_mode_probability":{mode_p},"diagnosis":{self.diagnosis(values)},'
            f'"prediction_id":"{prediction_id}"}}'
        ).encode()
