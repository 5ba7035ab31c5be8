"""What the loop adds to batch scoring, on the real champion and challenger: every row's
prediction id (stable across re-runs, untouched by quarantined rows), the shadow challenger's
answers (its own step after the day is published, keyed by id), and the day's drift against the
champion's training reference in ``report.json``."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from predmaint.data.scenarios import simulate_scenario
from predmaint.features.drift import DriftResult
from predmaint.inference.batch import inference_partition, run_batch
from predmaint.inference.ids import batch_prediction_id
from predmaint.inference.shadow import SHADOW_COLUMNS, run_shadow
from predmaint.models.compiled import PARITY_TOLERANCE
from predmaint.models.drift_reference import load_drift_reference
from predmaint.models.loading import load_model
from predmaint.models.versions import champion_info
from predmaint.settings import Settings
from predmaint.storage import partition_dir, read_json
from tests.support.project import scored_parts, shadow_parts

DAY = date(2026, 12, 9)


def test_training_stored_a_drift_reference_with_the_champion(scoring_home: Settings) -> None:
    champion = champion_info(scoring_home)
    reference = load_drift_reference(scoring_home, champion)
    assert reference is not None, "training logs the reference with the model"
    assert {"process_temperature", "rotational_speed", "temp_difference"} <= set(reference.features)
    assert 1000 < reference.rows < 6000, "the training split, summarised"


def test_ids_shadow_and_drift_on_a_scored_day(scoring_home: Settings) -> None:
    # given a hot day (cooling loss) arriving as a CSV with one broken reading in row 5
    readings = simulate_scenario(1200, DAY, "cooling_loss")
    readings.loc[4, "torque"] = -1.0
    folder = inference_partition(scoring_home, DAY)
    folder.mkdir(parents=True)
    readings.to_csv(folder / "line_a.csv", index=False)
    # when the day is scored
    report = run_batch(scoring_home, DAY)
    scored = scored_parts(scoring_home, DAY)
    # then each row has the id of its place in the file: row 5 is quarantined, row 6 keeps its id
    ids = set(scored["prediction_id"])
    assert len(ids) == len(scored) == 1199
    assert batch_prediction_id(DAY, "line_a.csv", 6) in ids
    assert batch_prediction_id(DAY, "line_a.csv", 5) not in ids
    quarantine = pd.read_csv(
        partition_dir(scoring_home.quarantine_dir, DAY) / "inference" / "inference-line_a.csv"
    )
    assert quarantine["prediction_id"].tolist() == [batch_prediction_id(DAY, "line_a.csv", 5)]
    # and the published predictions carry no challenger column: the plant's job is the champion's
    assert not set(SHADOW_COLUMNS) & set(scored.columns)
    # when the shadow step runs on the published day
    shadow_report = run_shadow(scoring_home, DAY)
    answers = shadow_parts(scoring_home, DAY).set_index("prediction_id")
    # then the challenger answered every prediction, by id, computed by that version (its
    # compiled form: within the compiled form's documented parity bound of the pyfunc)
    challenger = champion_info(scoring_home, "challenger")
    assert shadow_report.challenger_version == challenger.version != report.model_version
    assert shadow_report.champion_version == report.model_version
    assert shadow_report.rows == 1199 and set(answers.index) == ids
    answers = answers.loc[scored["prediction_id"]]
    assert (answers["challenger_version"] == challenger.version).all()
    shadow = load_model(scoring_home, challenger.version)
    expected = shadow.failure_probability(scored)
    np.testing.assert_allclose(
        answers["challenger_failure_probability"], expected, rtol=0, atol=PARITY_TOLERANCE
    )
    decided = answers["challenger_failure_probability"] >= shadow.threshold
    assert (answers["challenger_prediction"].astype(int) == decided).all()
    agreed = (answers["challenger_prediction"].to_numpy() == scored["prediction"].to_numpy()).sum()
    assert shadow_report.agreements == agreed
    # and the day's drift names the hotter process, in report.json as the shape
    assert report.drift is not None and "process_temperature" in report.drift.drifted_features
    stored = read_json(partition_dir(scoring_home.predictions_dir, DAY) / "report.json")["drift"]
    assert stored["drift_detected"] is True
    assert stored["features"]["process_temperature"]["drifted"] is True
    assert DriftResult.from_dict(stored).drifted_features == report.drift.drifted_features


def test_rerunning_a_day_gives_the_same_ids(scoring_home: Settings) -> None:
    ds = date(2026, 12, 10)
    run_batch(scoring_home, ds, rows=300)
    first = scored_parts(scoring_home, ds)["prediction_id"].tolist()
    run_batch(scoring_home, ds, rows=300)
    assert scored_parts(scoring_home, ds)["prediction_id"].tolist() == first
    normal = read_json(partition_dir(scoring_home.predictions_dir, ds) / "report.json")["drift"]
    assert normal["evaluated"] is True


def test_ids_shadow_and_drift_do_not_depend_on_the_chunk_size(scoring_home: Settings) -> None:
    # given a slow-spindle day with broken readings in the first and in a later chunk
    ds = date(2026, 12, 11)
    readings = simulate_scenario(1000, ds, "slow_spindle")
    readings.loc[[2, 611], "torque"] = -1.0
    folder = inference_partition(scoring_home, ds)
    folder.mkdir(parents=True)
    readings.to_parquet(folder / "line_b.parquet", index=False)
    # when it is scored as one chunk, then in chunks of 250 readings
    whole = run_batch(scoring_home, ds)
    one = scored_parts(scoring_home, ds).reset_index(drop=True)
    chunked = run_batch(scoring_home.model_copy(update={"batch_chunk_rows": 250}), ds)
    many = scored_parts(scoring_home, ds).reset_index(drop=True)
    # then every row keeps the id of its place in the file, whatever the chunk it was read in
    assert len(many) == 998 and many["prediction_id"].tolist() == one["prediction_id"].tolist()
    ids = set(many["prediction_id"])
    assert batch_prediction_id(ds, "line_b.parquet", 613) in ids
    assert {batch_prediction_id(ds, "line_b.parquet", r) for r in (3, 612)}.isdisjoint(ids)
    # and the shadow step reading the day whole or in chunks of 250 answers every reading alike
    run_shadow(scoring_home, ds)
    whole_shadow = shadow_parts(scoring_home, ds).reset_index(drop=True)
    run_shadow(scoring_home.model_copy(update={"batch_chunk_rows": 250}), ds)
    chunked_shadow = shadow_parts(scoring_home, ds).reset_index(drop=True)
    assert chunked_shadow["prediction_id"].tolist() == one["prediction_id"].tolist()
    assert chunked_shadow["challenger_version"].notna().all()
    np.testing.assert_allclose(
        chunked_shadow["challenger_failure_probability"],
        whole_shadow["challenger_failure_probability"],
    )
    # and the chunks' drift counts add up to the same day: the slower spindle is named
    assert whole.drift is not None and chunked.drift is not None
    assert chunked.drift.rows == whole.drift.rows == 998
    assert "rotational_speed" in chunked.drift.drifted_features
    assert chunked.drift.drifted_features == whole.drift.drifted_features
