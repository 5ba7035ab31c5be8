"""The champion compiled once at load: ONNX Runtime, feature step included, sklearn as fallback.

scikit-learn spends milliseconds validating and dispatching one row through a forest; ONNX
Runtime scores the same row in microseconds (figures in docs/benchmarks.md). The whole pipeline
is converted with skl2onnx, including :class:`PhysicsFeatures` (a custom converter below, same
operations in the same order as :func:`predmaint.features.formulas.derive`, in float64), so the
API takes the five raw sensor values exactly as training did. A random forest is written by
:func:`append_forest` as one ``TreeEnsemble`` (ai.onnx.ml 5) of the positive class, in float64.
A compiled model is only used after it reproduced the pipeline on a probe set; otherwise the
pipeline itself is served and :attr:`Scorer.detail` says why.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.features.formulas import MODEL_FEATURES

if TYPE_CHECKING:
    from predmaint.models.tree_code import SingleReading

log = logging.getLogger(__name__)

#: Largest |compiled − sklearn| probability accepted (the parity test holds the same bound).
PARITY_TOLERANCE = 1e-5
#: The load-time probe demands 10× less: it is 2,000 readings, the promise is for any data.
PROBE_TOLERANCE = PARITY_TOLERANCE / 10
ONNX_RUNTIME = "onnxruntime"
SKLEARN = "sklearn"
_TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}  # ml opset 3: tree thresholds stored as float64
_INPUT = "sensors"
_PROBABILITY = "probability"  # the forest graph's only output: (n, 1), the positive class
_FOREST_ML_OPSET = 5  # TreeEnsemble (ai.onnx.ml 5): float64 thresholds and leaf weights
_FLOAT32_OPTION = "float32_rounding"

FloatArray = npt.NDArray[np.float64]


class Scorer(Protocol):
    """Failure probability from raw sensor values (columns in :data:`SENSOR_COLUMNS` order)."""

    runtime: str
    detail: str

    def probability(self, sensors: FloatArray) -> FloatArray: ...

    def probability_one(self, values: Sequence[float]) -> float: ...


class PipelineScorer:
    """The scikit-learn pipeline itself: always correct, slow on single rows."""

    runtime = SKLEARN

    def __init__(self, pipeline: Any, detail: str = "scikit-learn pipeline") -> None:
        self.pipeline = pipeline
        self.detail = detail
        self._column = list(pipeline.classes_).index(1)

    def probability(self, sensors: FloatArray) -> FloatArray:
        proba = self.pipeline.predict_proba(np.asarray(sensors, dtype=np.float64))
        return np.asarray(proba[:, self._column], dtype=np.float64)

    def probability_one(self, values: Sequence[float]) -> float:
        return float(self.probability(np.asarray([values], dtype=np.float64))[0])


class OnnxScorer:
    """An ONNX Runtime session over the converted pipeline.

    One intra-op thread by default: a single row gains nothing from a thread pool, and idle
    pool threads spinning would steal the event loop's core. Bulk scoring runs chunks on
    several Python threads instead (:func:`bulk_probability`); the session is thread-safe.
    """

    runtime = ONNX_RUNTIME

    def __init__(self, model: bytes, column: int, threads: int = 1, detail: str = "") -> None:
        import onnxruntime as ort

        #: One reading's probability without ONNX Runtime's per-call overhead, when the model
        #: compiles to tree code (:mod:`predmaint.models.tree_code`); set by compile_pipeline.
        self.single: SingleReading | None = None
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry(
            "session.intra_op.allow_spinning", "1" if threads > 1 else "0"
        )
        self.model = model
        self.detail = detail or f"ONNX Runtime {ort.__version__}, {threads} thread(s)"
        self.column = self._column = column  # the positive class's column of the probabilities
        self._session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        outputs = [output.name for output in self._session.get_outputs()]
        if outputs == [_PROBABILITY]:  # the forest's graph: the positive class only
            self._column = 0
            self._outputs = outputs
        else:
            self._outputs = [outputs[1]]  # (label, probabilities)

    def probability(self, sensors: FloatArray) -> FloatArray:
        batch = np.ascontiguousarray(sensors, dtype=np.float64)
        proba = self._session.run(self._outputs, {_INPUT: batch})[0]
        return np.asarray(proba[:, self._column], dtype=np.float64)

    def probability_one(self, values: Sequence[float]) -> float:
        if self.single is not None:
            return self.single(*values)[0]
        row = np.array([values], dtype=np.float64)
        return float(self._session.run(self._outputs, {_INPUT: row})[0][0, self._column])


# --- the feature step as ONNX -----------------------------------------------------------------


def _physics_shape(operator: Any) -> None:
    keep = operator.raw_operator.keep
    width = len(MODEL_FEATURES) if keep is None else len(keep)
    rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = operator.inputs[0].type.__class__([rows, width])


def _physics_convert(scope: Any, operator: Any, container: Any) -> None:
    """``derive`` op for op (same order of float64 operations, hence the same bits)."""
    from onnx import TensorProto
    from skl2onnx.common.data_types import guess_numpy_type

    dtype = guess_numpy_type(operator.inputs[0].type)
    proto = TensorProto.DOUBLE if dtype == np.float64 else TensorProto.FLOAT
    x = operator.inputs[0].full_name

    def const(value: float | list[int], kind: int = proto) -> str:
        name = scope.get_unique_variable_name("const")
        values = value if isinstance(value, list) else [value]
        dims = [len(values)] if isinstance(value, list) else []
        container.add_initializer(name, kind, dims, values)
        return name

    def node(op: str, inputs: list[str], **attrs: Any) -> str:
        out = scope.get_unique_variable_name(op.lower())
        container.add_node(op, inputs, out, name=scope.get_unique_operator_name(op), **attrs)
        return out

    air, process, speed, torque, wear = (
        node("Gather", [x, const([i], TensorProto.INT64)], axis=1) for i in range(5)
    )
    derived = [
        node("Sub", [process, air]),
        node(
            "Mul",
            [
                torque,
                node(
                    "Div",
                    [
                        node("Mul", [node("Mul", [speed, const(2.0)]), const(math.pi)]),
                        const(60.0),
                    ],
                ),
            ],
        ),
        node("Div", [torque, node("Div", [speed, const(1000.0)])]),
        node("Div", [process, air]),
        node("Div", [wear, node("Mul", [speed, const(0.001)])]),
        node("Mul", [wear, torque]),
    ]
    out = node("Concat", [x, *derived], axis=1)
    keep = operator.raw_operator.keep
    if keep is not None:
        indices = [MODEL_FEATURES.index(name) for name in keep]
        out = node("Gather", [out, const(indices, TensorProto.INT64)], axis=1)
    if container.get_options(operator.raw_operator, {_FLOAT32_OPTION: False})[_FLOAT32_OPTION]:
        # scikit-learn trees compare float32(x) with float64 thresholds: round the same way.
        out = node("Cast", [out], to=TensorProto.FLOAT)
        out = node("Cast", [out], to=proto)
    container.add_node("Identity", [out], operator.outputs[0].full_name)


_registered = False


def _register() -> None:
    global _registered
    if _registered:
        return
    from skl2onnx import update_registered_converter

    from predmaint.features.transformer import PhysicsFeatures

    update_registered_converter(
        PhysicsFeatures,
        "PredmaintPhysicsFeatures",
        _physics_shape,
        _physics_convert,
        options={_FLOAT32_OPTION: [False, True]},
    )
    _registered = True


def to_onnx(pipeline: Any) -> bytes:
    """The fitted pipeline (feature step first) as a serialized ONNX model, float64 input."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType
    from sklearn.ensemble import RandomForestClassifier

    from predmaint.features.transformer import PhysicsFeatures
    from predmaint.models.svm_onnx import append_calibrated_svm, is_calibrated_rbf_svm

    _register()
    steps = [step for _, step in pipeline.steps]
    options: dict[int, dict[str, Any]] = {id(steps[-1]): {"zipmap": False}}
    if isinstance(steps[0], PhysicsFeatures) and isinstance(steps[1], RandomForestClassifier):
        options[id(steps[0])] = {_FLOAT32_OPTION: True}
    svm = len(steps) > 1 and is_calibrated_rbf_svm(steps[-1])
    forest = (
        len(steps) == 2
        and isinstance(steps[0], PhysicsFeatures)
        and type(steps[1]) is RandomForestClassifier
        and len(steps[1].classes_) == 2
        and steps[1].n_outputs_ == 1
    )
    onnx_model = convert_sklearn(
        pipeline[:-1] if svm or forest else pipeline,  # our own graph for the SVM and forest
        initial_types=[(_INPUT, DoubleTensorType([None, len(SENSOR_COLUMNS)]))],
        target_opset=_TARGET_OPSET,
        options=options,
    )
    if svm:
        onnx_model = append_calibrated_svm(onnx_model, steps[-1])
    if forest:
        onnx_model = append_forest(onnx_model, steps[-1], list(pipeline.classes_).index(1))
    return bytes(onnx_model.SerializeToString())


def append_forest(onnx_model: Any, forest: Any, column: int) -> Any:
    """``onnx_model`` (the feature step, float32-rounded float64 features) extended by one
    ``TreeEnsemble`` (ai.onnx.ml opset 5) that averages the forest's leaf probabilities of
    class ``column``, in float64: output :data:`_PROBABILITY`.

    Written here rather than by skl2onnx for measured speed: skl2onnx's TreeEnsembleClassifier
    accumulates both classes and a label; one target is 2.9 -> 2.3 CPU-s for 5 M readings
    (docs/benchmarks.md, "The forest as one TreeEnsemble"). Thresholds and leaf weights are
    scikit-learn's own float64 values and the features are float32-rounded like scikit-learn's
    (``x <= threshold`` on the same numbers), so only the summation order differs. A NaN
    feature (a speed so small that a division underflows) goes right, as before and as the
    tree code (:mod:`predmaint.models.tree_code`) sends it.
    """
    from onnx import TensorProto, helper, numpy_helper

    features: list[int] = []  # per interior node of the ensemble
    splits: list[float] = []
    true_ids: list[int] = []
    true_leaf: list[int] = []
    false_ids: list[int] = []
    false_leaf: list[int] = []
    roots: list[int] = []
    weights: list[float] = []
    trees = forest.estimators_
    for estimator in trees:
        tree = estimator.tree_
        left, right = tree.children_left, tree.children_right
        value = tree.value[:, 0, :]
        leaves = left == -1
        probability = value[:, column] / value.sum(axis=1)
        interior: dict[int, int] = {}  # node -> index among the ensemble's interior nodes
        leaf: dict[int, int] = {}  # node -> index among the ensemble's leaves
        for node in range(tree.node_count):
            if leaves[node]:
                leaf[node] = len(weights)
                weights.append(float(probability[node]))
        if leaves[0]:  # a single-leaf tree: one split whose both branches reach the leaf
            roots.append(len(features))
            features.append(0)
            splits.append(0.0)
            for ids, flags in ((true_ids, true_leaf), (false_ids, false_leaf)):
                ids.append(leaf[0])
                flags.append(1)
            continue
        for node in range(tree.node_count):
            if not leaves[node]:
                interior[node] = len(features) + len(interior)
        roots.append(interior[0])
        for node in sorted(interior, key=interior.__getitem__):
            features.append(int(tree.feature[node]))
            splits.append(float(tree.threshold[node]))
            for child, ids, flags in (
                (left[node], true_ids, true_leaf),
                (right[node], false_ids, false_leaf),
            ):
                is_leaf = bool(leaves[child])
                ids.append(leaf[child] if is_leaf else interior[child])
                flags.append(int(is_leaf))
    modes = [0] * len(features)  # BRANCH_LEQ: left when x <= threshold, as scikit-learn
    graph = onnx_model.graph
    node = helper.make_node(
        "TreeEnsemble",
        [graph.output[0].name],
        [_PROBABILITY],
        domain="ai.onnx.ml",
        # AVERAGE: the trees' probabilities summed, then divided by their number, as
        # scikit-learn does; leaves pre-divided by the number of trees summed 40 × 1/40 to
        # 1.0000000000000004, above the API schema's maximum of 1
        aggregate_function=0,
        post_transform=0,
        n_targets=1,
        tree_roots=roots,
        nodes_featureids=features,
        nodes_modes=numpy_helper.from_array(np.asarray(modes, np.uint8), "modes"),
        nodes_splits=numpy_helper.from_array(np.asarray(splits, np.float64), "splits"),
        nodes_truenodeids=true_ids,
        nodes_trueleafs=true_leaf,
        nodes_falsenodeids=false_ids,
        nodes_falseleafs=false_leaf,
        leaf_targetids=[0] * len(weights),
        leaf_weights=numpy_helper.from_array(np.asarray(weights, np.float64), "weights"),
    )
    graph.node.append(node)
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(_PROBABILITY, TensorProto.DOUBLE, [None, 1]))
    del onnx_model.opset_import[:]
    onnx_model.opset_import.extend(
        [
            helper.make_opsetid("", _TARGET_OPSET[""]),
            helper.make_opsetid("ai.onnx.ml", _FOREST_ML_OPSET),
        ]
    )
    return onnx_model


def probe_readings(rows: int = 2000, seed: int = 7) -> FloatArray:
    """Deterministic plausible readings that cover AI4I's ranges and its failure regions."""
    rng = np.random.default_rng(seed)
    air = rng.uniform(295.0, 305.0, rows)
    return np.column_stack(
        [
            air,
            air + rng.uniform(7.0, 13.0, rows),
            rng.uniform(1150.0, 2900.0, rows).round(),
            rng.uniform(3.0, 77.0, rows).round(1),
            rng.uniform(0.0, 255.0, rows).round(),
        ]
    )


#: Readings per ONNX Runtime call in :func:`bulk_probability`. The calibrated SVM's graph holds
#: matrices of rows × support vectors in float64 (:mod:`predmaint.models.svm_onnx`), several at
#: once per thread, and ONNX Runtime's arena keeps their peak: at 50,000 rows and 357 support
#: vectors that was 1 GB more for the shadow step (docs/benchmarks.md, "Shadow in bounded
#: memory"). At 4,096 rows they are 12 MB each; the SVM scores faster (cache-sized), the forest
#: as fast.
BULK_CHUNK_ROWS = 4096


def bulk_probability(
    scorer: Scorer, sensors: FloatArray, workers: int | None = None, chunk: int = BULK_CHUNK_ROWS
) -> FloatArray:
    """Failure probability of many readings on every core.

    ONNX Runtime releases the GIL while it runs, so chunks scored from a few Python threads on
    one single-threaded session scale better than the session's own intra-op pool (measured:
    see docs/benchmarks.md). The scikit-learn fallback parallelises itself (``n_jobs=-1``).
    Chunks are small (:data:`BULK_CHUNK_ROWS`) so the memory of a call does not depend on how
    many readings it is given.
    """
    sensors = np.ascontiguousarray(sensors, dtype=np.float64)
    workers = workers or os.cpu_count() or 1
    if scorer.runtime != ONNX_RUNTIME or len(sensors) <= chunk:
        return scorer.probability(sensors)
    from concurrent.futures import ThreadPoolExecutor

    parts = [sensors[start : start + chunk] for start in range(0, len(sensors), chunk)]
    if workers == 1:  # one core: the same bounded chunks, in turn
        return np.concatenate([scorer.probability(part) for part in parts])
    with ThreadPoolExecutor(workers, thread_name_prefix="predmaint-score") as pool:
        return np.concatenate(list(pool.map(scorer.probability, parts)))


def compile_pipeline(
    pipeline: Any,
    probe: FloatArray | None = None,
    expected: FloatArray | None = None,
    label: str = "the model",
) -> Scorer:
    """An ONNX Runtime scorer if conversion works and matches the pipeline, else the pipeline.

    ``expected``: the pipeline's probabilities on ``probe`` when the caller has them already;
    ``label``: which model this is (e.g. ``predmaint-failure-classifier v2 (svm)``), named in the
    warning so an operator knows which version is served uncompiled.
    Never raises: a model that cannot be compiled is still served, more slowly, and the returned
    scorer's ``runtime`` and ``detail`` say which path is used and why.
    """
    reference = PipelineScorer(pipeline)
    try:
        compiled = OnnxScorer(to_onnx(pipeline), reference._column)
        sample = probe_readings() if probe is None else probe
        if expected is None:
            expected = reference.probability(sample)
        gap = float(np.max(np.abs(compiled.probability(sample) - expected)))
    except Exception as exc:  # any converter or runtime failure means: serve the pipeline
        log.warning(
            "%s: serving the scikit-learn pipeline: ONNX compilation failed: %s", label, exc
        )
        return PipelineScorer(pipeline, f"ONNX compilation failed ({type(exc).__name__}: {exc})")
    if not gap <= PROBE_TOLERANCE:
        log.warning("%s: serving the scikit-learn pipeline: ONNX differs by %.3g", label, gap)
        return PipelineScorer(
            pipeline,
            f"ONNX model differs from the pipeline by {gap:.3g} > {PROBE_TOLERANCE:g} "
            f"on {len(sample)} probe readings",
        )
    compiled.detail += f"; max |ONNX - sklearn| on {len(sample)} probe readings: {gap:.2g}"
    attach_single_reading(compiled, pipeline, sample, expected)
    return compiled


def attach_single_reading(
    scorer: OnnxScorer,
    pipeline: Any,
    sample: FloatArray | None = None,
    expected: FloatArray | None = None,
) -> None:
    """Give ``scorer`` the pipeline's tree code for single readings when it proves itself.

    Also for a scorer read back from the compiled cache, which holds the ONNX form only: the
    API, which answers one reading at a time, attaches the code from the loaded pipeline.
    """
    if sample is None or expected is None:
        sample = probe_readings()
        expected = PipelineScorer(pipeline).probability(sample)
    scorer.single, note = single_reading(pipeline, (scorer.column,), sample, expected[:, None])
    scorer.detail += f"; single readings: {note}"


def single_reading(
    pipeline: Any, columns: Sequence[int], sample: FloatArray, expected: FloatArray
) -> tuple[SingleReading | None, str]:
    """The pipeline's tree code for one reading if it compiles and gives ``expected`` (the
    pipeline's probabilities of the classes at ``columns``, shape ``(len(sample),
    len(columns))``) on ``sample``, else None; and which path single readings take. The code
    returns those probabilities as a tuple, in ``columns`` order.
    """
    from predmaint.models.tree_code import compile_trees  # imports scikit-learn: only here

    try:
        function = compile_trees(pipeline, columns)
    except Exception as exc:  # a tree the compiler does not expect: ONNX Runtime answers
        log.warning("single readings on ONNX Runtime: tree code failed: %s", exc)
        return None, f"ONNX Runtime (tree code failed: {type(exc).__name__}: {exc})"
    if function is None:
        return None, "ONNX Runtime (not a tree ensemble)"
    scores = np.array([function(*row) for row in sample.tolist()])
    gap = float(np.max(np.abs(scores - expected)))
    if not gap <= PROBE_TOLERANCE:
        log.warning("single readings on ONNX Runtime: tree code differs by %.3g", gap)
        return None, f"ONNX Runtime (tree code differs by {gap:.3g})"
    return function, f"tree code (max |tree code - sklearn| on the probe: {gap:.2g})"
