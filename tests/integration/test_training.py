"""Training on the real Type L data: quality targets, what MLflow records, and model behaviour."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from predmaint.data.columns import SENSOR_COLUMNS, TARGET, normalise_header
from predmaint.errors import DataValidationError
from predmaint.features.job import build_features
from predmaint.models.tracking import alias_uri, configure
from predmaint.models.training import (
    minimum_rows_per_class,
    train_model,
    validate_training_data,
)
from predmaint.models.versions import champion_info
from predmaint.settings import Settings
from tests.support.project import DAY, make_settings


@pytest.fixture(scope="module")
def runs(trained_home: Settings) -> dict[str, Any]:
    client = MlflowClient(trained_home.resolved_tracking_uri)
    experiment = client.get_experiment_by_name(trained_home.experiment_name)
    assert experiment is not None, trained_home.experiment_name
    found = client.search_runs([experiment.experiment_id])
    return {run.data.tags["model_type"]: run for run in found}


@pytest.fixture(scope="module")
def champion(trained_home: Settings) -> Any:
    # both URIs: an earlier test in this process may have pointed MLflow's registry elsewhere
    configure(trained_home)
    return mlflow.pyfunc.load_model(alias_uri(trained_home))


def test_quality_targets_on_the_held_out_type_l_test_split(runs: dict[str, Any]) -> None:
    rf, svm = runs["random_forest"].data.metrics, runs["svm"].data.metrics
    assert rf["f1"] >= 0.90, f"Random Forest F1 {rf['f1']:.4f} < 0.90"
    assert svm["f1"] >= 0.80, f"SVM F1 {svm['f1']:.4f} < 0.80"
    assert rf["f1"] <= 0.97  # the documented ceiling is ~0.93: higher would mean leakage


def test_champion_is_the_best_candidate_with_its_metrics(
    trained_home: Settings, runs: dict[str, Any]
) -> None:
    info = champion_info(trained_home)
    best = max(runs.values(), key=lambda r: r.data.metrics["f1"])
    assert info.run_id == best.info.run_id
    assert info.metrics["f1"] == pytest.approx(best.data.metrics["f1"])
    assert info.threshold == pytest.approx(best.data.metrics["threshold"])


@pytest.mark.parametrize("kind", ["random_forest", "svm"])
def test_each_run_logs_parameters_metrics_dataset_and_artifacts(
    trained_home: Settings, runs: dict[str, Any], kind: str
) -> None:
    run = runs[kind]
    for metric in (
        "accuracy",
        "precision",
        "recall",
        "f1",
        "roc_auc",
        "pr_auc",
        "threshold",
        "val_f1",
        "cv_pr_auc",
    ):
        assert metric in run.data.metrics, metric
    params = run.data.params
    assert params["seed"] == "42" and params["model_type"] == kind
    assert {"rows_train", "rows_validation", "rows_test", "grid", "cv_folds"} <= set(params)
    assert int(params["rows_test"]) == 1200 and int(params["rows_validation"]) == 1200
    model_param = "model__n_estimators" if kind == "random_forest" else "model__estimator__C"
    assert model_param in params
    inputs = run.inputs.dataset_inputs
    assert inputs and inputs[0].dataset.digest, "dataset digest not logged"
    client = MlflowClient(trained_home.resolved_tracking_uri)
    names = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert names == {
        f"plots/{n}.png"
        for n in ("confusion_matrix", "roc_curve", "pr_curve", "feature_importance")
    }
    top = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"classification_report.txt", "feature_importance.json", "evaluation"} <= top
    report = client.download_artifacts(run.info.run_id, "classification_report.txt")
    assert "failure" in Path(report).read_text()


@pytest.mark.parametrize("kind", ["random_forest", "svm"])
def test_each_run_logs_per_mode_precision_and_recall(runs: dict[str, Any], kind: str) -> None:
    metrics = runs[kind].data.metrics
    for mode in ("twf", "hdf", "pwf", "osf", "rnf"):
        for name in ("precision", "recall", "support"):
            assert f"mode_{mode}_{name}" in metrics, (kind, mode, name)
    # the deterministic modes are told apart on the held-out failures
    for mode in ("hdf", "pwf", "osf"):
        assert metrics[f"mode_{mode}_precision"] >= 0.8, (mode, metrics)
        assert metrics[f"mode_{mode}_recall"] >= 0.8, (mode, metrics)
    assert metrics["mode_accuracy"] >= 0.9


def test_threshold_is_tuned_on_validation_not_left_at_half(runs: dict[str, Any]) -> None:
    for run in runs.values():
        assert 0.0 < run.data.metrics["threshold"] < 1.0
        assert run.data.metrics["threshold"] != 0.5


def test_pyfunc_contract(champion: Any, trained_home: Settings, raw_frame: pd.DataFrame) -> None:
    readings = raw_frame[raw_frame["type"] == "L"][list(SENSOR_COLUMNS)].astype(float).head(500)
    out = champion.predict(readings)
    assert isinstance(out, pd.DataFrame)
    assert {"prediction", "failure_probability", "failure_mode"} <= set(out.columns)
    assert set(out["prediction"].unique()) <= {0, 1}
    # a failure mode is named exactly for the predicted failures
    failing = out["prediction"] == 1
    assert (
        failing.any()
        and out.loc[failing, "failure_mode"].isin(["TWF", "HDF", "PWF", "OSF", "RNF"]).all()
    )
    assert out.loc[~failing, "failure_mode"].isna().all()
    assert out.loc[failing, "failure_mode_probability"].between(0, 1).all()
    threshold = champion_info(trained_home).threshold
    np.testing.assert_array_equal(
        out["prediction"].to_numpy(), (out["failure_probability"] >= threshold).astype(int)
    )


def _grid(**fixed: float) -> pd.DataFrame:
    base = {
        "air_temperature": 300.0,
        "process_temperature": 310.0,
        "rotational_speed": 1500.0,
        "torque": 40.0,
        "tool_wear": 100.0,
    }
    return pd.DataFrame([{**base, **fixed}])


def test_more_wear_at_high_torque_never_lowers_failure_probability(champion: Any) -> None:
    # direction test (Made-With-ML): over many operating points, wear only raises the risk
    rng = np.random.default_rng(0)
    for _ in range(30):
        point = {
            "air_temperature": rng.uniform(296, 304),
            "process_temperature": 0.0,
            "rotational_speed": rng.uniform(1250, 1700),
            "torque": rng.uniform(45, 70),
        }
        point["process_temperature"] = point["air_temperature"] + rng.uniform(8, 12)
        wear = pd.DataFrame([{**point, "tool_wear": float(w)} for w in range(0, 251, 10)])
        p = champion.predict(wear)["failure_probability"].to_numpy()
        assert np.all(np.diff(p) >= -1e-12), f"probability fell with wear at {point}: {p}"


@pytest.mark.parametrize(
    ("rule", "reading"),
    [
        (
            "HDF: process-air < 8.6 K and speed < 1380 rpm",
            {"air_temperature": 302.0, "process_temperature": 309.5, "rotational_speed": 1300.0},
        ),
        ("PWF: power > 9000 W", {"rotational_speed": 1400.0, "torque": 70.0}),
        ("PWF: power < 3500 W", {"rotational_speed": 2800.0, "torque": 10.0}),
        ("OSF: wear x torque > 11000 min·Nm", {"torque": 60.0, "tool_wear": 220.0}),
    ],
)
def test_a_reading_that_breaks_a_failure_rule_is_predicted_as_failure(
    champion: Any, rule: str, reading: dict[str, float]
) -> None:
    out = champion.predict(_grid(**reading))
    assert out["prediction"].iloc[0] == 1, f"{rule}: p={out['failure_probability'].iloc[0]:.3f}"


def test_a_normal_reading_is_predicted_normal(champion: Any) -> None:
    out = champion.predict(_grid(tool_wear=108.0, torque=42.8, rotational_speed=1551.0))
    assert out["prediction"].iloc[0] == 0


def test_the_registered_model_takes_the_ai4i_csv_as_pandas_reads_it(
    champion: Any, raw_csv: Path
) -> None:
    # given the real file read the most natural way, headers mapped as the loader maps them
    frame = pd.read_csv(raw_csv)
    frame.columns = [normalise_header(str(c)) for c in frame.columns]
    assert frame["rotational_speed"].dtype == np.int64, "the file's speeds are integers"
    assert frame["tool_wear"].dtype == np.int64, "the file's tool wear is integers"

    # when the model loaded from the registry scores it as it is
    out = champion.predict(frame[list(SENSOR_COLUMNS)])

    # then it scores every reading, exactly as the same readings given as floats
    as_floats = champion.predict(frame[list(SENSOR_COLUMNS)].astype(np.float64))
    assert len(out) == len(frame) == 10_000
    pd.testing.assert_frame_equal(out, as_floats)


def test_a_sensor_column_that_is_not_numbers_is_refused_by_name(champion: Any) -> None:
    readings = _grid().assign(tool_wear="a lot")
    with pytest.raises(ValueError, match="tool_wear must hold numbers"):
        champion.predict(readings)


@pytest.fixture(scope="module")
def features_frame(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The real Type L features (what the feature job writes for training)."""
    settings = make_settings(tmp_path_factory.mktemp("features"))
    return pd.read_parquet(build_features(settings, DAY).features_path)


def _subset(frame: pd.DataFrame, failures: int, normal: int, path: Path) -> Path:
    """A features file with that many failure and normal rows of the real data."""
    chosen = pd.concat(
        [
            frame[frame[TARGET] == 1].head(failures),
            frame[frame[TARGET] == 0].head(normal),
        ]
    )
    chosen.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize(("failures", "normal"), [(10, 3), (3, 400), (40, 11)])
def test_too_few_rows_of_a_class_is_refused_in_one_line_before_training(
    features_frame: pd.DataFrame, tmp_path: Path, failures: int, normal: int
) -> None:
    settings = make_settings(tmp_path / "home")
    path = _subset(features_frame, failures, normal, tmp_path / "few.parquet")
    with pytest.raises(DataValidationError) as refused:
        validate_training_data(settings, path)
    message = str(refused.value)
    assert "\n" not in message
    assert f"{failures} failure(s) and {normal} normal row(s)" in message, message
    assert f"at least {minimum_rows_per_class(settings)} of each" in message, message
    assert "3-fold cross-validation" in message, message


@pytest.mark.parametrize("folds", [2, 3])
def test_the_minimum_evidence_is_enough_to_train_both_models(
    features_frame: pd.DataFrame, tmp_path: Path, folds: int
) -> None:
    # given exactly the minimum of each class that validation lets through
    settings = make_settings(
        tmp_path / "home", cv_folds=folds, rf_n_estimators=5, rf_max_depth_grid=[4]
    )
    needed = minimum_rows_per_class(settings)
    path = _subset(features_frame, needed, needed, tmp_path / "minimum.parquet")
    checked = validate_training_data(settings, path)
    assert checked.failures == needed and checked.rows == 2 * needed
    with pytest.raises(DataValidationError):
        validate_training_data(
            settings, _subset(features_frame, needed - 1, needed, tmp_path / "one_less.parquet")
        )

    # when both model kinds train on it, then both finish and log their test metrics
    for kind in ("random_forest", "svm"):
        run = train_model(settings, kind, path)
        assert 0.0 <= run.metrics["f1"] <= 1.0, (kind, run.metrics)
