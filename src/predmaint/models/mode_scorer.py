"""The failure-mode model for serving, apart from its training (:mod:`predmaint.models.modes`).

Why a module of its own: training needs scikit-learn, serving does not. A batch process whose
version has a valid compiled-cache entry builds its :class:`ModeScorer` from the cached ONNX
bytes and class names alone, so it never imports scikit-learn nor loads the pyfunc
(:mod:`predmaint.models.compiled_cache`). Only :func:`compile_modes` (a cache miss) and
:meth:`ModeScorer.attach_single` (the API's tree code) touch the fitted pipeline.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from predmaint.features.mechanisms import MODES, FailureMode
from predmaint.models.compiled import PROBE_TOLERANCE, probe_readings, single_reading, to_onnx

if TYPE_CHECKING:
    from predmaint.models.tree_code import SingleReading

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
ONNX_RUNTIME = "onnxruntime"
SKLEARN = "sklearn"


class ModeScorer:
    """The mode model for serving: ONNX Runtime when it reproduces the pipeline, else sklearn.

    ``best_one`` answers for one reading in pure Python (API hot path, failures only): the
    forest's tree code (:mod:`predmaint.models.tree_code`) once :meth:`attach_single` proved it
    on the probe (our own code, for measured speed: 1.1 µs of CPU per reading instead of ONNX
    Runtime's 13 µs, more under load); ``best_many`` for an array (batch). Modes are reported
    as codes into :data:`MODES`.

    Args:
        classes: the pipeline's ``classes_`` (the ONNX model's probability columns, in order).
        probe_probability: the pipeline's own probabilities on :func:`probe_readings`, columns
            in :attr:`modes` order: what the compiled cache keeps to prove an entry, and what
            the tree code is checked against without running the pipeline again.
        model: the ONNX bytes (``None``: served by ``pipeline``).
        pipeline: the fitted pipeline, if loaded (the fallback, and the tree code's source).
    """

    def __init__(
        self,
        classes: Sequence[str],
        probe_probability: FloatArray,
        *,
        model: bytes | None = None,
        pipeline: Any = None,
    ) -> None:
        if model is None and pipeline is None:
            raise ValueError("a mode scorer needs its ONNX model or its pipeline")
        names = [str(c) for c in classes]
        self.classes = tuple(names)
        self.modes: tuple[FailureMode, ...] = tuple(m for m in MODES if m in names)
        self._order = [names.index(m) for m in self.modes]
        self._codes = np.asarray([MODES.index(m) for m in self.modes], dtype=np.int8)
        self.probe_probability = np.asarray(probe_probability, dtype=np.float64)
        self.pipeline = pipeline
        self.model = model
        self._session: Any = None
        self.runtime = SKLEARN
        if model is not None:
            self._session = _session(model)
            self._input = self._session.get_inputs()[0].name
            self._output = [self._session.get_outputs()[1].name]  # (label, probabilities)
            self.runtime = ONNX_RUNTIME
        #: One reading's probabilities in :attr:`modes` order, without a runtime call.
        self.single: SingleReading | None = None
        self.single_detail = "no tree code attached (one reading goes through the runtime)"

    def probe_gap(self) -> float:
        """Largest |this scorer − the pipeline| on the probe readings (the recorded answers)."""
        return float(np.max(np.abs(self.probabilities(probe_readings()) - self.probe_probability)))

    def attach_single(self, pipeline: Any) -> None:
        """Use the pipeline's tree code for one reading when it reproduces the recorded probe
        probabilities (no second pass of the pipeline over the probe)."""
        self.single, self.single_detail = single_reading(
            pipeline, self._order, probe_readings(), self.probe_probability
        )

    def probabilities(self, sensors: FloatArray) -> FloatArray:
        """``(n, len(self.modes))`` probabilities, columns in :attr:`modes` order."""
        x = np.ascontiguousarray(sensors, dtype=np.float64)
        if self._session is not None:
            proba = self._session.run(self._output, {self._input: x})[0]
        else:
            proba = self.pipeline.predict_proba(x)
        return np.asarray(proba, dtype=np.float64)[:, self._order]

    def best_one(self, values: Sequence[float]) -> tuple[FailureMode, float]:
        """The most likely mode of one reading and its probability."""
        if self.single is not None:
            row: Sequence[float] = self.single(*values)
        else:
            row = self.probabilities(np.array([values], dtype=np.float64))[0].tolist()
        top = max(row)
        return self.modes[row.index(top)], top

    def best_many(self, sensors: FloatArray) -> tuple[npt.NDArray[np.int8], FloatArray]:
        """Mode codes (positions in :data:`MODES`) and their probabilities for many readings."""
        if len(sensors) == 0:
            return np.zeros(0, np.int8), np.zeros(0)
        proba = self.probabilities(sensors)
        best = proba.argmax(axis=1)
        return self._codes[best], proba[np.arange(len(proba)), best]


def _session(model: bytes) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def compile_modes(pipeline: Any) -> ModeScorer:
    """The fitted mode pipeline compiled (ONNX if it reproduces the pipeline on the probe,
    within :data:`PROBE_TOLERANCE`; else the pipeline itself), with its tree code attached."""
    classes = [str(c) for c in pipeline.classes_]
    order = [classes.index(m) for m in MODES if m in classes]
    expected = np.asarray(pipeline.predict_proba(probe_readings()), dtype=np.float64)[:, order]
    scorer = ModeScorer(classes, expected, pipeline=pipeline)
    try:
        compiled = ModeScorer(classes, expected, model=to_onnx(pipeline), pipeline=pipeline)
        gap = compiled.probe_gap()
        if not gap <= PROBE_TOLERANCE:
            raise ValueError(f"ONNX mode model differs from the pipeline by {gap:.3g}")
        scorer = compiled
    except Exception as exc:  # any converter or runtime failure means: use the pipeline
        log.warning("failure-mode model served by scikit-learn: %s", exc)
    scorer.attach_single(pipeline)
    return scorer
