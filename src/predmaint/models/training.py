"""Training: Random Forest and calibrated SVM, one MLflow run each, everything logged.

Fixed seeds; stratified train/validation/test split; class imbalance handled with class weights;
a small grid search by cross-validation on the training split; the decision threshold tuned for
F1 on the validation split only; metrics reported on the untouched test split.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
from mlflow.data.pandas_dataset import from_pandas
from mlflow.models import infer_signature
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.inspection import permutation_importance
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from predmaint.data.columns import SENSOR_COLUMNS, TARGET, TOOL_WEAR
from predmaint.data.schemas import labelled_schema
from predmaint.data.validation import validate_frame
from predmaint.errors import DataValidationError
from predmaint.features.formulas import MODEL_FEATURES
from predmaint.features.transformer import PhysicsFeatures
from predmaint.models import plots
from predmaint.models.candidates import TEST_SPLIT_ARTIFACT, CandidateRun
from predmaint.models.classifier import MODES_ARTIFACT, accepting_integers
from predmaint.models.drift_reference import log_drift_reference
from predmaint.models.evaluation import classification_metrics, report_text, tune_threshold
from predmaint.models.modes import fit_mode_model, has_mode_labels, mode_metrics
from predmaint.models.tracking import configure
from predmaint.settings import MODEL_KINDS, ModelKind, Settings

MODEL_ARTIFACT = "model"
PYFUNC_ENTRY = Path(__file__).with_name("pyfunc_entry.py")
#: What loading and scoring the model imports. Logged as its requirements: MLflow's inference would
#: also list whatever the training process happened to have imported (psutil, pytest...), and a
#: server without those then warns of a requirements mismatch on every load.
SERVING_PACKAGES = ("mlflow", "cloudpickle", "numpy", "pandas", "scikit-learn", "scipy", "skops")
#: Types skops must trust to load our pipelines (MLflow 3.17 refuses them otherwise).
SKOPS_TRUSTED_TYPES = [
    "predmaint.features.transformer.PhysicsFeatures",
    "sklearn.tree._tree.Tree",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
]
#: More tool wear (and the wear-derived features) can only raise the forest's failure score.
_MONOTONE_INCREASING = {TOOL_WEAR, "wear_per_operation", "overstrain"}
#: The SVM sees the features that carry the documented failure mechanisms (HDF: temperature
#: difference and speed; PWF: power; OSF: overstrain; TWF: wear); the rest only add distance noise.
SVM_FEATURES = (
    "temp_difference",
    "rotational_speed",
    "estimated_power",
    "overstrain",
    "torque",
    "tool_wear",
)
MIN_FAILURES = 10
#: Folds of the SVM's probability calibration, a cross-validation inside each training fold.
CALIBRATION_FOLDS = 3

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TrainingData:
    """A features file checked fit for training (what the training DAG hands its trainers)."""

    path: str
    rows: int
    failures: int
    failure_rate: float
    machine_types: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame

    def sizes(self) -> dict[str, int]:
        return {
            "train": len(self.train),
            "validation": len(self.validation),
            "test": len(self.test),
        }


def read_training_data(path: Path) -> pd.DataFrame:
    """The labelled sensor rows of a features file (the model derives features itself)."""
    frame = pd.read_parquet(path)
    missing = [c for c in (*SENSOR_COLUMNS, TARGET) if c not in frame.columns]
    if missing:
        raise DataValidationError(f"{path} lacks training column(s): {', '.join(missing)}")
    return frame


def validate_training_data(settings: Settings, path: Path) -> TrainingData:
    """Re-check the training file against the labelled schema and the class balance.

    Training must not start on data that cannot support it: a broken row here means the feature
    job's output changed after validation, so it fails instead of quarantining.
    """
    frame = read_training_data(path)
    outcome = validate_frame(frame, labelled_schema(), stage="training")
    if not outcome.quarantined.empty:
        first = outcome.quarantined.iloc[0]
        raise DataValidationError(
            f"training data {path} has {len(outcome.quarantined)} invalid row(s); "
            f"first: row {first['source_row']}: {first['quarantine_reason']}"
        )
    failures = int(outcome.valid[TARGET].sum())
    normal = len(outcome.valid) - failures
    needed = max(MIN_FAILURES, minimum_rows_per_class(settings))
    if min(failures, normal) < needed:
        raise DataValidationError(
            f"training data {path} has {failures} failure(s) and {normal} normal row(s); "
            f"at least {needed} of each are needed for a stratified train/validation/test "
            f"split and {settings.cv_folds}-fold cross-validation"
        )
    return TrainingData(
        path=str(path),
        rows=len(outcome.valid),
        failures=failures,
        failure_rate=round(failures / len(outcome.valid), 6),
        machine_types=sorted(outcome.valid["type"].unique().tolist()),
    )


def minimum_rows_per_class(settings: Settings) -> int:
    """Rows of each class (failure, normal) training needs before it can run at all.

    The training split (what is left after the test and validation shares) must give every
    cross-validation fold's training part at least ``CALIBRATION_FOLDS`` rows of each class (the
    SVM calibrates by its own cross-validation there), and each fold at least one; two more rows
    cover the stratified splits rounding a class down by one row each.
    """
    folds = settings.cv_folds
    in_training_split = max(folds, math.ceil(CALIBRATION_FOLDS * folds / (folds - 1)))
    train_share = 1.0 - settings.test_size - settings.validation_size
    return math.ceil((in_training_split + 2) / train_share)


def split(frame: pd.DataFrame, settings: Settings) -> Split:
    """Stratified train/validation/test split with the configured sizes and seed."""
    rest, test = train_test_split(
        frame, test_size=settings.test_size, stratify=frame[TARGET], random_state=settings.seed
    )
    val_share = settings.validation_size / (1.0 - settings.test_size)
    train, validation = train_test_split(
        rest, test_size=val_share, stratify=rest[TARGET], random_state=settings.seed
    )
    return Split(train, validation, test)


def build_search(kind: ModelKind, settings: Settings) -> GridSearchCV:
    """The pipeline (feature step first) and its small hyper-parameter grid."""
    if kind == "random_forest":
        monotone = [1 if name in _MONOTONE_INCREASING else 0 for name in MODEL_FEATURES]
        estimator = RandomForestClassifier(
            n_estimators=settings.rf_n_estimators,
            max_features=None,
            monotonic_cst=monotone,
            random_state=settings.seed,
            n_jobs=-1,
        )
        pipeline = Pipeline([("features", PhysicsFeatures()), ("model", estimator)])
        grid: dict[str, list[Any]] = {
            "model__max_depth": settings.rf_max_depth_grid,
            "model__class_weight": [None, "balanced_subsample"],
        }
        jobs = 1
    elif kind == "svm":
        svc = SVC(kernel="rbf", gamma="scale", random_state=settings.seed)
        calibrated = CalibratedClassifierCV(svc, method="sigmoid", cv=CALIBRATION_FOLDS)
        pipeline = Pipeline(
            [
                ("features", PhysicsFeatures(keep=SVM_FEATURES)),
                ("scale", StandardScaler()),
                ("model", calibrated),
            ]
        )
        grid = {
            "model__estimator__C": [10.0, 100.0, 1000.0],
            "model__estimator__class_weight": [None, "balanced"],
        }
        jobs = -1
    else:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {', '.join(MODEL_KINDS)}")
    folds = StratifiedKFold(settings.cv_folds, shuffle=True, random_state=settings.seed)
    return GridSearchCV(pipeline, grid, scoring="average_precision", cv=folds, n_jobs=jobs)


def _importance(kind: ModelKind, pipeline: Pipeline, data: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Impurity importance for the forest; permutation importance (validation data) for the SVM."""
    names = list(pipeline.named_steps["features"].get_feature_names_out())
    if kind == "random_forest":
        model = pipeline.named_steps["model"]
        spread = np.std([tree.feature_importances_ for tree in model.estimators_], axis=0)
        return pd.DataFrame(
            {"feature": names, "importance": model.feature_importances_, "std": spread}
        )
    transformed = pipeline.named_steps["features"].transform(data[list(SENSOR_COLUMNS)])
    result = permutation_importance(
        pipeline[1:],
        transformed,
        data[TARGET].to_numpy(),
        scoring="average_precision",
        n_repeats=5,
        random_state=seed,
        n_jobs=1,
    )
    return pd.DataFrame(
        {"feature": names, "importance": result.importances_mean, "std": result.importances_std}
    )


def _flat_params(search: GridSearchCV) -> dict[str, Any]:
    params = {
        key: value
        for key, value in search.best_estimator_.get_params().items()
        if "__" in key and isinstance(value, (int, float, str, bool, type(None), list))
    }
    params["grid"] = json.dumps(search.param_grid, default=str)
    params["cv_scoring"] = search.scoring
    params["cv_folds"] = search.cv.get_n_splits()
    return params


def _log_figures(
    kind: ModelKind,
    y_true: np.ndarray,
    probability: np.ndarray,
    threshold: float,
    importance: pd.DataFrame,
) -> None:
    predicted = (probability >= threshold).astype(int)
    title = kind.replace("_", " ").title()
    figures = {
        "plots/confusion_matrix.png": plots.confusion_matrix_figure(
            y_true, predicted, f"{title}: test confusion matrix"
        ),
        "plots/roc_curve.png": plots.roc_figure(y_true, probability, f"{title}: ROC (test)"),
        "plots/pr_curve.png": plots.pr_figure(
            y_true, probability, threshold, f"{title}: PR (test)"
        ),
        "plots/feature_importance.png": plots.importance_figure(
            importance["feature"].tolist(),
            importance["importance"],
            importance["std"],
            f"{title}: "
            + ("impurity importance" if kind == "random_forest" else "permutation importance"),
        ),
    }
    for name, figure in figures.items():
        mlflow.log_figure(figure, name)
        plots.close(figure)


def serving_requirements() -> list[str]:
    """The pinned packages a server needs to load the model: ``SERVING_PACKAGES`` and predmaint
    itself (the model is logged from code that imports it), at the versions that trained it."""
    return [f"{name}=={version(name)}" for name in (*SERVING_PACKAGES, "predmaint")]


def _log_model(
    pipeline: Pipeline, threshold: float, example: pd.DataFrame, modes: Pipeline | None
) -> str:
    """The pyfunc: the binary pipeline and (when the data had mode labels) the mode model."""
    with tempfile.TemporaryDirectory() as tmp:
        artifacts = {}
        for name, fitted in (("pipeline", pipeline), (MODES_ARTIFACT, modes)):
            if fitted is None:
                continue
            artifacts[name] = str(Path(tmp) / name)
            mlflow.sklearn.save_model(
                fitted,
                artifacts[name],
                serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
                skops_trusted_types=SKOPS_TRUSTED_TYPES,
            )
        output = pd.DataFrame(
            {
                "prediction": [0],
                "failure_probability": [0.0],
                "failure_mode": ["OSF"],
                "failure_mode_probability": [0.0],
            }
        )
        info = mlflow.pyfunc.log_model(
            name=MODEL_ARTIFACT,
            python_model=str(PYFUNC_ENTRY),
            artifacts=artifacts,
            model_config={"threshold": threshold},
            signature=accepting_integers(infer_signature(example, output)),
            input_example=example,
            pip_requirements=serving_requirements(),
        )
    return str(info.model_uri)


def train_model(
    settings: Settings,
    kind: ModelKind,
    features_path: Path,
    *,
    ds: str | None = None,
    progress: Progress | None = None,
) -> CandidateRun:
    """Fit, tune, evaluate and log one model kind; returns its run as plain data."""
    step = progress or (lambda _message: None)
    configure(settings)
    frame = read_training_data(features_path)
    parts = split(frame, settings)
    features = list(SENSOR_COLUMNS)

    step(f"{kind}: grid search")
    search = build_search(kind, settings)
    search.fit(parts.train[features], parts.train[TARGET].astype(int))
    pipeline: Pipeline = search.best_estimator_

    step(f"{kind}: threshold and test metrics")
    val_probability = pipeline.predict_proba(parts.validation[features])[:, 1]
    threshold, val_f1 = tune_threshold(parts.validation[TARGET].astype(int), val_probability)
    y_test = parts.test[TARGET].astype(int).to_numpy()
    test_probability = pipeline.predict_proba(parts.test[features])[:, 1]
    metrics = classification_metrics(y_test, test_probability, threshold)
    metrics.update({"threshold": threshold, "val_f1": val_f1, "cv_pr_auc": search.best_score_})
    modes = None
    if has_mode_labels(parts.train):
        step(f"{kind}: failure-mode model")
        modes = fit_mode_model(parts.train, settings.seed)
        metrics.update(mode_metrics(modes, parts.test).as_mlflow())

    step(f"{kind}: logging to MLflow")
    params = _flat_params(search)
    params.update({"model_type": kind, "seed": settings.seed, "threshold": threshold})
    params.update({f"rows_{name}": size for name, size in parts.sizes().items()})
    with mlflow.start_run(run_name=f"{kind}{'-' + ds if ds else ''}") as run:
        mlflow.set_tags({"model_type": kind, "ds": ds or "", "features_path": str(features_path)})
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        dataset = from_pandas(
            frame[[*features, TARGET]], source=str(features_path), name="ai4i2020", targets=TARGET
        )
        mlflow.log_input(dataset, context="training")
        importance = _importance(kind, pipeline, parts.validation, settings.seed)
        _log_figures(kind, y_test, test_probability, threshold, importance)
        mlflow.log_text(
            report_text(y_test, test_probability, threshold), "classification_report.txt"
        )
        mlflow.log_table(importance, "feature_importance.json")
        with tempfile.TemporaryDirectory() as tmp:
            test_file = Path(tmp) / Path(TEST_SPLIT_ARTIFACT).name
            parts.test[[*features, TARGET]].to_parquet(test_file, index=False)
            mlflow.log_artifact(str(test_file), str(Path(TEST_SPLIT_ARTIFACT).parent))
        # what drift is measured against while this model serves (issue 10)
        log_drift_reference(parts.train[features], source=str(features_path))
        model_uri = _log_model(pipeline, threshold, parts.train[features].head(5), modes)
        mlflow.set_tag("model_uri", model_uri)
    return CandidateRun(kind, run.info.run_id, model_uri, threshold, metrics, params)


def train_models(
    settings: Settings,
    features_path: Path,
    *,
    ds: str | None = None,
    progress: Progress | None = None,
) -> list[CandidateRun]:
    """Train every configured model kind (sequentially: each uses both cores itself)."""
    return [
        train_model(settings, kind, features_path, ds=ds, progress=progress)
        for kind in settings.models
    ]
