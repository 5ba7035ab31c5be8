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
from predmaint.features.mechanisms import FailureMode
from predmaint.inference.diagnosis import diagnosis_writer, recommendation_table
from predmaint.inference.risk import RISK_LEVELS, Language, RiskLevel, risk_level
from predmaint.settings import Settings

_FAILING: frozenset[RiskLevel] = frozenset(RISK_LEVELS[2:])  # Alto, Crítico: prediction 1
#: Model versions whose JSON text is kept (one per version served: a handful).
_VERSIONS_KEPT = 16


def _escaped(text: str) -> bytes:
    """Constant text of a ``bytes % args`` template: UTF-8, its ``%`` signs doubled."""
    return text.replace("%", "%%").encode()


def _templates(language: Language) -> dict[tuple[RiskLevel, FailureMode | None], bytes]:
    """The answer per level and failure mode as a ``bytes`` template: the prediction, risk
    level, recommendation and failure mode JSON-encoded (and UTF-8) once; the per-answer
    fields (probability, score, version, mode probability, diagnosis, id) left as ``%``."""
    templates = {}
    for (level, mode), text in recommendation_table(language).items():
        prediction = 1 if level in _FAILING else 0
        mode_json = "null" if mode is None else json.dumps(mode)
        templates[level, mode] = (
            _escaped(f'{{"prediction":{prediction},"probability":')
            + b"%r"
            + _escaped(
                f',"risk_level":{json.dumps(level, ensure_ascii=False)},'
                f'"recommendation":{json.dumps(text, ensure_ascii=False)},"failure_probability":'
            )
            + b'%r,"model_version":%b,"failure_mode":'
            + _escaped(mode_json)
            + b',"failure_mode_probability":%b,"diagnosis":%b,"prediction_id":"%b"}'
        )
    return templates


class SingleAnswers:
    """Writes, counts and records the answer to one reading for this app's settings."""

    def __init__(self, settings: Settings, metrics: ApiMetrics, recorder: AnswerRecorder) -> None:
        self.metrics = metrics
        self.recorder = recorder
        self.templates = _templates(settings.language)
        self.diagnosis = diagnosis_writer(settings.language, api_osf_limit(settings))
        self.versions: dict[str, bytes] = {}

    def _version(self, version: str) -> bytes:
        """``version`` as a JSON string, encoded once per model version rather than per answer."""
        text = self.versions.get(version)
        if text is None:
            if len(self.versions) >= _VERSIONS_KEPT:
                self.versions.clear()
            text = self.versions[version] = json.dumps(version).encode()
        return text

    def answer(
        self, failure_probability: float, values: tuple[float, ...], served: ServedModel
    ) -> bytes:
        """The JSON answer to ``values`` (model order) scored ``failure_probability`` by ``served``:
        the risk rules of :mod:`predmaint.inference.risk`, the answer from this level's template."""
        p = float(failure_probability)
        level = risk_level(p, served.threshold)
        prediction = 1 if level in _FAILING else 0
        probability = p if prediction else 1.0 - p
        self.metrics.predicted(prediction, level)
        mode: FailureMode | None = None
        mode_p = b"null"
        if prediction and served.modes is not None:  # rare: the common answer skips it
            mode, mode_probability = served.modes.best_one(values)
            mode_p = repr(mode_probability).encode()
        version = served.info.version
        # every answer is traceable: an id last in the body, and a record queued (issue 10)
        prediction_id = self.recorder.new_id()
        self.recorder.record(prediction_id, values, prediction, p, level, version)
        return self.templates[level, mode] % (
            probability,
            p,
            self._version(version),
            mode_p,
            self.diagnosis(values),
            prediction_id.encode(),
        )
