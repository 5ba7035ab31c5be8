"""A fitted tree-ensemble pipeline compiled into one plain Python function, for single readings.

Why our own: ONNX Runtime scores a batch fast, but one ``session.run`` on one row costs about
11.5 µs of CPU (argument binding, allocations, the graph's twenty-odd feature nodes, the forest),
and two to three times that in latency on a loaded machine. A function whose body *is* the
forest (the feature formulas, then each tree as nested ``if``/``else`` on local floats, each leaf
adding its class probabilities) answers one reading of the 40-tree champion in about 2.5 µs of
CPU (measured by ``bench/api_inprocess.py``; figures in docs/benchmarks.md). It is built at load
time as a Python AST (no source text) and compiled once.

Exactness: scikit-learn trees compare ``float32(x) <= threshold`` (float64 threshold). Float32
rounding is monotonic, so that equals ``x <= t'`` where ``t'`` is the largest float64 whose
float32 rounding is still ``<= threshold``: thresholds are moved once here and the features stay
float64, computed by :func:`predmaint.features.formulas.derived_values`, the function
the pipeline's feature step itself calls. Leaves hold each tree's normalised class
probabilities, summed tree after tree and divided by the number of trees, as
``ForestClassifier.predict_proba`` does. :func:`predmaint.models.compiled.compile_pipeline`
still checks the function against the pipeline on the probe readings before using it.

Handled: ``[PhysicsFeatures, RandomForestClassifier | ExtraTreesClassifier |
DecisionTreeClassifier]`` (any classes, any ``keep``). Anything else returns None and single
readings keep going through ONNX Runtime.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.features.formulas import DERIVED_FEATURES, MODEL_FEATURES, derived_values
from predmaint.features.transformer import PhysicsFeatures

#: Above this many tree nodes in all, compiling (and the function's size) is not worth it.
MAX_NODES = 200_000
#: Deeper trees nest ``if`` blocks deeper than is worth compiling (and risk the compiler's
#: recursion limit).
MAX_DEPTH = 64

SingleReading = Callable[..., tuple[float, ...]]


def float32_threshold(threshold: float) -> float:
    """The largest float64 ``x`` with ``float32(x) <= threshold``: ``x <= t'`` decides exactly
    as scikit-learn's ``float32(x) <= threshold``."""
    t = np.float64(threshold)
    below = np.float32(t)
    if np.float64(below) > t:  # rounded up: the largest float32 not above t is one step down
        below = np.nextafter(below, np.float32(-np.inf))
    above = np.nextafter(below, np.float32(np.inf))
    if not (np.isfinite(below) and np.isfinite(above)):
        raise ValueError(f"threshold {threshold!r} is outside float32's finite range")
    mid = (np.float64(below) + np.float64(above)) / 2.0  # exact: float32 spacing is coarser
    candidate = mid if np.float64(np.float32(mid)) <= t else np.nextafter(mid, -np.inf)
    with np.errstate(over="ignore"):
        ok = np.float32(candidate) <= t and np.float32(np.nextafter(candidate, np.inf)) > t
    if not ok:
        raise ValueError(f"no float64 bound found for threshold {threshold!r}")
    return float(candidate)


def _estimators(model: Any) -> list[Any] | None:
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
    from sklearn.tree import DecisionTreeClassifier

    if getattr(model, "n_outputs_", 1) != 1:  # several targets: predict_proba gives a list
        return None
    if isinstance(model, RandomForestClassifier | ExtraTreesClassifier):
        return list(model.estimators_)
    if isinstance(model, DecisionTreeClassifier):
        return [model]
    return None


def _leaf_probabilities(values: np.ndarray) -> np.ndarray:
    """A leaf's class fractions normalised as ``DecisionTreeClassifier.predict_proba`` does."""
    total = values.sum()
    return values / (total if total != 0.0 else 1.0)


def _name(name: str, store: bool = False) -> ast.Name:
    return ast.Name(name, ast.Store() if store else ast.Load())


def _tree_body(tree: Any, features: list[str], columns: Sequence[int]) -> list[ast.stmt]:
    """One tree as nested ``if`` statements; each leaf adds to the accumulators ``p<i>``."""
    left, right = tree.children_left, tree.children_right
    feature, threshold, value = tree.feature, tree.threshold, tree.value[:, 0, :]

    def node(i: int) -> list[ast.stmt]:
        if left[i] == -1:
            leaf = _leaf_probabilities(value[i])
            adds: list[ast.stmt] = [  # adding 0.0 to a non-negative sum changes nothing
                ast.AugAssign(_name(f"p{k}", store=True), ast.Add(), ast.Constant(float(leaf[c])))
                for k, c in enumerate(columns)
                if leaf[c] != 0.0
            ]
            return adds or [ast.Pass()]
        test = ast.Compare(
            _name(features[feature[i]]),
            [ast.LtE()],
            [ast.Constant(float32_threshold(float(threshold[i])))],
        )
        return [ast.If(test, node(int(left[i])), node(int(right[i])))]

    return node(0)


def _feature_names(pipeline: Any) -> list[str] | None:
    steps = [step for _, step in pipeline.steps]
    if len(steps) != 2 or not isinstance(steps[0], PhysicsFeatures):
        return None
    keep = steps[0].keep
    return list(MODEL_FEATURES if keep is None else keep)


def ieee_derived_values(*values: float) -> tuple[float, ...]:
    """:func:`derived_values` of one reading with IEEE 754 division, as arrays and ONNX Runtime
    divide: Python floats raise where a speed so small that ``speed / 1000`` underflows to 0.0
    (the rules accept any speed above 0) gives inf or nan there. The tree code's rare path."""
    with np.errstate(all="ignore"):
        return tuple(float(v) for v in derived_values(*(np.float64(v) for v in values)))


def compile_trees(pipeline: Any, columns: Sequence[int]) -> SingleReading | None:
    """``f(*five sensor values) -> tuple(p[c] for c in columns)``: the pipeline's
    ``predict_proba`` of one reading, restricted to ``columns``; None if not a handled pipeline.

    The values come in :data:`SENSOR_COLUMNS` order, as ``SensorReading.values()`` gives them.
    """
    names = _feature_names(pipeline)
    estimators = _estimators(pipeline.steps[-1][1]) if names is not None else None
    if names is None or not estimators:
        return None
    trees = [e.tree_ for e in estimators]
    if sum(t.node_count for t in trees) > MAX_NODES or max(t.max_depth for t in trees) > MAX_DEPTH:
        return None
    # every feature is a local float: the sensors are the arguments, the derived ones one call
    derived = ast.Tuple([_name(d, store=True) for d in DERIVED_FEATURES], ast.Store())
    sensors: list[ast.expr] = [_name(c) for c in SENSOR_COLUMNS]
    ieee = ast.Call(_name("ieee_derived_values"), sensors, [])
    body: list[ast.stmt] = [
        ast.Try(  # free when nothing is raised: the common reading pays nothing for it
            body=[ast.Assign([derived], ast.Call(_name("derived_values"), sensors, []))],
            handlers=[
                ast.ExceptHandler(_name("ZeroDivisionError"), None, [ast.Assign([derived], ieee)])
            ],
            orelse=[],
            finalbody=[],
        )
    ]
    sums = [f"p{k}" for k in range(len(columns))]
    body += [ast.Assign([_name(total, store=True)], ast.Constant(0.0)) for total in sums]
    for tree in trees:
        body += _tree_body(tree, names, columns)
    count = ast.Constant(float(len(trees)))
    average: list[ast.expr] = [ast.BinOp(_name(total), ast.Div(), count) for total in sums]
    body.append(ast.Return(ast.Tuple(average, ast.Load())))
    arguments = ast.arguments(
        posonlyargs=[],
        args=[ast.arg(c) for c in SENSOR_COLUMNS],
        kwonlyargs=[],
        kw_defaults=[],
        defaults=[],
    )
    definition = ast.FunctionDef("trees", arguments, body, [], None, None)
    module = ast.fix_missing_locations(ast.Module([definition], []))
    namespace: dict[str, Any] = {
        "derived_values": derived_values,
        "ieee_derived_values": ieee_derived_values,
    }
    exec(compile(module, "<predmaint tree code>", "exec"), namespace)
    compiled: SingleReading = namespace["trees"]
    return compiled
