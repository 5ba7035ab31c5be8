"""The calibrated RBF SVM as an ONNX graph in float64, so the challenger compiles exactly.

Why our own: skl2onnx converts an ``SVC`` to ONNX-ML's ``SVMClassifier``, which computes the
kernel in float32; after the sigmoid calibration the probabilities differ from scikit-learn's by
up to 1.3e-5 on the AI4I file (6.4e-6 on the probe), outside the compiled form's promise
(:data:`predmaint.models.compiled.PARITY_TOLERANCE`). The same model written with standard ONNX
operators in float64 reproduces scikit-learn to about 1e-13:

- each calibrated fold's decision function ``f(x) = Σ dual_coef · exp(−γ‖x − sv‖²) + intercept``,
  the squared distances as ``‖x‖² + ‖sv‖² − 2 x·svᵀ``: the exponents of every fold's support
  vectors in one matrix product, the decision functions in a second;
- its sigmoid calibration ``p = 1 / (1 + exp(a·f + b))`` (``_SigmoidCalibration.predict``);
- the mean over the folds (``CalibratedClassifierCV.predict_proba``).

The steps before the SVM (feature step, scaler) are converted by skl2onnx as before. Handled:
``CalibratedClassifierCV`` (sigmoid, two classes) of an ``SVC`` with the RBF kernel; anything else
is converted by skl2onnx as a whole, and the probe check still decides what is used.
"""

from __future__ import annotations

from typing import Any

import numpy as np

PROBABILITIES = "probabilities"
LABEL = "label"


def is_calibrated_rbf_svm(model: Any) -> bool:
    """Whether ``model`` is the shape this module writes (binary, sigmoid, RBF SVC folds)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC

    if not isinstance(model, CalibratedClassifierCV) or model.method != "sigmoid":
        return False
    if list(model.classes_) != [0, 1]:
        return False
    return all(
        isinstance(fold.estimator, SVC)
        and fold.estimator.kernel == "rbf"
        and len(fold.calibrators) == 1
        and fold.estimator.dual_coef_.shape[0] == 1
        for fold in model.calibrated_classifiers_
    )


def append_calibrated_svm(onnx_model: Any, model: Any) -> Any:
    """``onnx_model`` (the steps before the SVM, one float64 output) extended by ``model``'s
    calibrated SVM: outputs ``label`` (int64) and ``probabilities`` (``(n, 2)`` float64)."""
    from onnx import TensorProto, helper, numpy_helper

    graph = onnx_model.graph
    x = graph.output[0].name
    nodes: list[Any] = []
    counter = iter(range(1_000_000))

    def const(value: Any) -> str:
        name = f"svm_const_{next(counter)}"
        graph.initializer.append(numpy_helper.from_array(np.asarray(value, np.float64), name))
        return name

    def node(op: str, inputs: list[str], **attrs: Any) -> str:
        out = f"svm_{op.lower()}_{next(counter)}"
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    # All folds at once: exponent = [x, ‖x‖²] · W + c = −γ(‖x‖² − 2 x·sv + ‖sv‖²) for every
    # support vector of every fold (one product), then one product with the dual
    # coefficients, block by fold, gives each fold's decision function.
    folds = model.calibrated_classifiers_
    weights, offsets, duals = [], [], np.zeros((0, len(folds)))
    for position, fold in enumerate(folds):
        svc = fold.estimator
        vectors, gamma = np.asarray(svc.support_vectors_, np.float64), float(svc._gamma)
        weights.append(np.vstack([2.0 * gamma * vectors.T, np.full((1, len(vectors)), -gamma)]))
        offsets.append(-gamma * (vectors**2).sum(axis=1))
        block = np.zeros((len(vectors), len(folds)))
        block[:, position] = svc.dual_coef_[0]
        duals = np.vstack([duals, block])
    squared = node("ReduceSumSquare", [x], axes=[1], keepdims=1)  # (n, 1)
    augmented = node("Concat", [x, squared], axis=1)
    exponent = node(
        "Add",
        [
            node("MatMul", [augmented, const(np.hstack(weights))]),
            const(np.concatenate(offsets)[None, :]),
        ],
    )
    decision = node(
        "Add",
        [
            node("MatMul", [node("Exp", [exponent]), const(duals)]),
            const([[float(f.estimator.intercept_[0]) for f in folds]]),
        ],
    )
    slope = const([[float(f.calibrators[0].a_) for f in folds]])
    shift = const([[float(f.calibrators[0].b_) for f in folds]])
    calibrated = node(
        "Sigmoid", [node("Neg", [node("Add", [node("Mul", [decision, slope]), shift])])]
    )
    positive = node("ReduceMean", [calibrated], axes=[1], keepdims=1)  # (n, 1)
    negative = node("Sub", [const(1.0), positive])
    nodes.append(helper.make_node("Concat", [negative, positive], [PROBABILITIES], axis=1))
    nodes.append(helper.make_node("ArgMax", [PROBABILITIES], [LABEL], axis=1, keepdims=0))
    graph.node.extend(nodes)
    del graph.output[:]
    graph.output.extend(
        [
            helper.make_tensor_value_info(LABEL, TensorProto.INT64, [None]),
            helper.make_tensor_value_info(PROBABILITIES, TensorProto.DOUBLE, [None, 2]),
        ]
    )
    return onnx_model
