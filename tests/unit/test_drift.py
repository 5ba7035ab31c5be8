"""Drift: the training reference, PSI, the autocorrelation-aware KS test, Holm, the verdict."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.data.scenarios import simulate_scenario
from predmaint.features.drift import (
    DriftCounts,
    DriftRule,
    _features,
    batch_features,
    count_drift,
    detect_drift,
    drift_verdict,
    effective_size,
    effective_sizes,
    holm,
    ks_test,
    psi,
)
from predmaint.features.formulas import MODEL_FEATURES
from predmaint.features.reference import DriftReference, FeatureReference, build_reference

FIRST = date(2027, 1, 1)


@pytest.fixture(scope="module")
def reference() -> DriftReference:
    training = pd.concat(simulate_scenario(2000, FIRST - timedelta(days=d + 1)) for d in range(5))
    return build_reference(training, source="simulated")


def test_reference_is_a_small_summary_that_survives_a_round_trip(
    reference: DriftReference, tmp_path: Path
) -> None:
    path = reference.write(tmp_path / "drift_reference.json")
    assert path.stat().st_size < 60_000, "binned quantiles, not the 10,000 training rows"
    again = DriftReference.read(path)
    assert again == reference
    assert set(again.features) == set(MODEL_FEATURES), "five sensors and the derived features"
    for name, feature in again.features.items():
        assert feature.cdf[-1] == 1.0 and abs(sum(feature.shares) - 1.0) < 1e-9, name
        assert list(feature.points) == sorted(feature.points), name


def test_reference_refuses_data_without_the_sensors() -> None:
    with pytest.raises(ValueError, match="torque"):
        build_reference(pd.DataFrame({"air_temperature": [300.0, 301.0]}))


def test_psi_is_zero_on_the_training_shares_and_grows_with_a_shift() -> None:
    rng = np.random.default_rng(1)
    train = pd.DataFrame({c: rng.normal(300, 2, 20_000) for c in SENSOR_COLUMNS})
    train["rotational_speed"] = rng.normal(1500, 150, 20_000)
    feature = build_reference(train).features["air_temperature"]
    same = train["air_temperature"].to_numpy()
    assert psi(feature, same) == pytest.approx(0.0, abs=1e-9)
    small, large = psi(feature, same + 0.5), psi(feature, same + 2.0)
    assert 0.0 < small < large, (small, large)


def test_ks_matches_scipy_on_independent_readings() -> None:
    # given independent readings, where the effective size is the row count
    rng = np.random.default_rng(7)
    train = pd.DataFrame({c: rng.normal(300, 2, 20_000) for c in SENSOR_COLUMNS})
    train["rotational_speed"] = rng.normal(1500, 150, 20_000)
    feature = build_reference(train).features["torque"]
    batch = rng.normal(300.3, 2, 1000)
    statistic, pvalue = ks_test(feature, batch, 20_000)
    expected = stats.ks_2samp(train["torque"], batch, method="asymp")
    # then the statistic (on percentile points) is within a percentile of scipy's
    assert abs(statistic - expected.statistic) < 0.011, (statistic, expected.statistic)
    assert 0.2 < pvalue / expected.pvalue < 5, (pvalue, expected.pvalue)


def test_effective_size_is_the_row_count_for_noise_and_far_less_for_a_walk() -> None:
    rng = np.random.default_rng(3)
    noise = rng.normal(size=2000)
    walk = np.cumsum(rng.normal(size=2000))
    assert effective_size(noise) == pytest.approx(2000, rel=0.2)
    assert effective_size(walk) < 100, "a slow walk holds few independent readings"


def test_holm_adjusts_step_down_and_stays_monotone() -> None:
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_a_normal_day_is_not_drifted_and_faults_are_named(reference: DriftReference) -> None:
    normal = detect_drift(simulate_scenario(2000, FIRST, "normal"), reference)
    hot = detect_drift(simulate_scenario(2000, FIRST, "cooling_loss"), reference)
    slow = detect_drift(simulate_scenario(2000, FIRST, "slow_spindle"), reference)
    assert normal.evaluated and not normal.drift_detected, normal.drifted_features
    assert "process_temperature" in hot.drifted_features, hot.drifted_features
    assert "temp_difference" in hot.drifted_features
    assert "rotational_speed" in slow.drifted_features, slow.drifted_features
    assert "torque" not in slow.drifted_features and "air_temperature" not in hot.drifted_features


def test_below_the_minimum_sample_there_is_no_verdict(reference: DriftReference) -> None:
    # given a small batch with a large shift
    small = simulate_scenario(150, FIRST, "slow_spindle", 0.3)
    result = detect_drift(small, reference, DriftRule(min_sample=200))
    # then figures are there but no feature is called drifted
    assert not result.evaluated and not result.drift_detected
    assert result.features["rotational_speed"].psi > 1.0
    assert "fewer than 200 readings (150)" in result.to_dict()["note"]
    assert detect_drift(small.head(0), reference).to_dict()["features"] == {}


def test_json_form_is_the_issues(reference: DriftReference) -> None:
    payload = detect_drift(simulate_scenario(2000, FIRST, "cooling_loss"), reference).to_dict()
    assert payload["drift_detected"] is True
    entry = payload["features"]["process_temperature"]
    assert {"psi", "ks_pvalue", "drifted"} <= set(entry) and entry["drifted"] is True
    assert payload["rule"]["correction"] == "holm"


def test_the_real_training_data_is_not_drifted_against_its_own_reference(
    raw_frame: pd.DataFrame,
) -> None:
    # given the AI4I 2020 type-L rows as training data
    # (read_ai4i keeps the file's text; validation parses it)
    training = raw_frame[raw_frame["type"] == "L"].astype({c: float for c in SENSOR_COLUMNS})
    real = build_reference(training, source="ai4i2020.csv")
    # when its own second half is checked (in file order)
    result = detect_drift(training.iloc[3000:], real)
    # then nothing is called drifted, while a 10 % slower copy is
    assert result.evaluated and not result.drift_detected, result.drifted_features
    slower = training.iloc[3000:].assign(rotational_speed=lambda f: f["rotational_speed"] * 0.9)
    assert "rotational_speed" in detect_drift(slower, real).drifted_features


def test_counting_autocorrelated_readings_as_independent_would_raise_false_alarms(
    reference: DriftReference,
) -> None:
    # given normal days, whose temperatures follow slow walks
    days = [simulate_scenario(2000, FIRST + timedelta(days=d)) for d in range(10)]
    naive = DriftRule(autocorrelation=False)
    flagged = [detect_drift(day, reference, naive).drifted_features for day in days]
    # then the iid test flags temperature features on most days, the corrected one on none
    assert sum(bool(f) for f in flagged) >= 5, flagged
    assert {f for found in flagged for f in found} <= {
        "air_temperature",
        "process_temperature",
        "temp_difference",
        "thermal_efficiency",
    }
    assert not any(detect_drift(day, reference).drift_detected for day in days)


def test_counts_of_chunks_add_up_to_the_verdict_on_the_whole_batch(
    reference: DriftReference,
) -> None:
    # given a hot day read in four chunks, each counted on its own (and through XCom's JSON)
    day = simulate_scenario(4000, FIRST, "cooling_loss")
    chunks = [day.iloc[i : i + 1000] for i in range(0, 4000, 1000)]
    counted = [DriftCounts.from_dict(count_drift(c, reference).to_dict()) for c in chunks]
    total = counted[0]
    for more in counted[1:]:
        total = total.merge(more)
    # when the verdict is taken on the summed counts
    chunked = drift_verdict(total, reference)
    whole = detect_drift(day, reference)
    # then PSI and the KS statistic are exactly those of the whole batch, the verdict the same
    assert total.rows == 4000
    for name, feature in whole.features.items():
        assert chunked.features[name].psi == pytest.approx(feature.psi, abs=1e-12), name
        assert chunked.features[name].ks_statistic == pytest.approx(feature.ks_statistic), name
    assert chunked.drifted_features == whole.drifted_features
    assert "process_temperature" in chunked.drifted_features
    # and effective sizes add up (autocorrelation is measured within each chunk)
    effective = sum(c.features["torque"].effective for c in counted)
    assert total.features["torque"].effective == pytest.approx(effective)


def test_effective_size_by_fft_equals_the_sum_over_lags() -> None:
    rng = np.random.default_rng(11)
    walk = np.cumsum(rng.normal(size=900)) + rng.normal(size=900)
    centred = walk - walk.mean()
    lags = int(np.sqrt(900))
    rho = np.array([centred[:-k] @ centred[k:] for k in range(1, lags + 1)]) / (centred @ centred)
    tau = 1 + 2 * np.sum((1 - np.arange(1, lags + 1) / (lags + 1)) * rho)
    assert effective_size(walk) == pytest.approx(900 / max(tau, 1.0), rel=1e-9)


def test_drift_and_metrics_do_not_import_scipy_stats() -> None:
    # given a fresh process that imports the drift and metrics modules (as the batch job, the
    # API and the monitoring pages do) and then computes an interval and a large batch's KS
    # p-values
    script = (
        "import sys\n"
        "import predmaint.features.drift, predmaint.monitoring.metrics\n"
        "print('scipy.stats' in sys.modules)\n"
        "from predmaint.monitoring.metrics import wilson\n"
        "print(wilson(8, 10).low is not None, 'scipy.stats' in sys.modules)\n"
        "from predmaint.features.kolmogorov import kstwo_sf\n"
        "values = [kstwo_sf(d, 4_800) for d in (0.001, 0.01, 0.03, 0.2)]\n"
        "print(0 < values[1] < 1, 'scipy.stats' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    # then scipy.stats (0.4-0.7 s to import) is not imported at all: the interval's quantile
    # and the p-values come from scipy.special (predmaint.features.kolmogorov)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["False", "True", "False", "True", "False"]


def _effective_size_by_fft(values: np.ndarray) -> float:
    """The definition as the FFT computed it before the window sums (the pre-change code)."""
    n = len(values)
    lags = min(int(np.sqrt(n)), n - 2)
    if lags < 1:
        return float(n)
    centred = values - values.mean()
    variance = float(np.square(centred).sum())
    if variance <= 0.0:
        return float(n)
    spectrum = np.fft.rfft(centred, 2 * n)
    autocovariance = np.fft.irfft(spectrum.real**2 + spectrum.imag**2, 2 * n)[1 : lags + 1]
    weights = 1.0 - np.arange(1, lags + 1) / (lags + 1)
    tau = 1.0 + 2.0 * float(np.sum(weights * autocovariance / variance))
    return n / max(tau, 1.0)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 17, 100, 1001, 125_000])
def test_effective_size_by_window_sums_is_the_fft_figure(n: int) -> None:
    # given noise, a slow walk, a daily cycle, discrete readings (ties) and a constant, n each
    rng = np.random.default_rng(n)
    cases = {
        "noise": rng.normal(300, 2, n),
        "walk": 300 + np.cumsum(rng.normal(size=n)),
        "cycle": 300 + 5 * np.sin(np.arange(n) / max(n, 1) * 12) + rng.normal(size=n),
        "discrete": np.round(rng.normal(1500, 100, n)),
        "constant": np.full(n, 1500.0),
    }
    # when counted by window sums (as count_drift does, all in one call) and by the FFT
    sizes = effective_sizes(list(cases.values()))
    # then the sizes agree to rounding (the identity is exact), so every p-value stays put
    for (label, values), size in zip(cases.items(), sizes, strict=True):
        expected = _effective_size_by_fft(values)
        assert size == pytest.approx(expected, rel=1e-11, abs=1e-9), label
        assert effective_size(values) == size, label


def _counts_by_definition(
    feature: FeatureReference, values: np.ndarray
) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    bins = np.bincount(
        np.searchsorted(np.asarray(feature.edges), values, side="left"),
        minlength=len(feature.edges) + 1,
    )
    at_or_below = [int(np.sum(values <= point)) for point in feature.points]
    return len(values), tuple(bins.tolist()), tuple(at_or_below)


def test_counts_are_each_values_bin_and_the_values_at_or_below_each_point(
    reference: DriftReference,
) -> None:
    # given a day with readings exactly on the reference's edges and points (ties, 0.1 K and
    # 1 rpm resolution) and outside its range, some of them not finite
    day = simulate_scenario(3000, FIRST, "cooling_loss")
    speed = reference.features["rotational_speed"]
    day.loc[:40, "rotational_speed"] = speed.edges[3]
    day.loc[41:80, "rotational_speed"] = speed.points[7]
    day.loc[81:90, "rotational_speed"] = speed.points[-1] + 1000.0
    day.loc[91:95, "rotational_speed"] = np.nan
    day.loc[96:97, "torque"] = np.inf
    # when the day is counted
    counted = count_drift(day, reference)
    # then every feature's counts are those of placing each finite value in its bin and
    # comparing it with each point, exactly
    data = batch_features(day)
    assert set(counted.features) == set(reference.features)
    for name, feature in reference.features.items():
        values = data[name].to_numpy()
        values = values[np.isfinite(values)]
        got = counted.features[name]
        assert (got.values, got.bins, got.at_or_below) == _counts_by_definition(feature, values)
    assert counted.features["rotational_speed"].values == 3000 - 5
    assert counted.features["torque"].values == 3000 - 2


@pytest.mark.parametrize("dtype", ["float64", "int64", "float32"])
def test_count_drift_derives_the_features_of_the_formulas_bit_for_bit(dtype: str) -> None:
    # given readings whose sensor columns have the dtype the readers may give (CSV integers)
    day = simulate_scenario(500, FIRST)
    day = day.astype({c: dtype for c in SENSOR_COLUMNS})
    # when the drift count derives the features from the columns
    derived = _features(day)
    # then they are the formulas' values (add_features, the spec's contract), bit for bit
    expected = batch_features(day)
    for name in MODEL_FEATURES:
        assert np.array_equal(derived[name], expected[name].to_numpy(), equal_nan=True), name
        assert derived[name].dtype == np.float64


def test_counting_a_chunk_imports_no_scipy() -> None:
    # given a fresh process with the batch job's modules and a chunk counted on the caller's
    # thread (as detect_drift does)
    script = (
        "import sys\n"
        "import pandas as pd\n"
        "from datetime import date, timedelta\n"
        "from predmaint.data.scenarios import simulate_scenario\n"
        "from predmaint.features.reference import build_reference\n"
        "from predmaint.inference import batch\n"
        "from predmaint.inference.watch import ChunkCounts, Watch\n"
        "training = simulate_scenario(2000, date(2026, 12, 1))\n"
        "day = simulate_scenario(2000, date(2027, 1, 1))\n"
        "watch = Watch(reference=build_reference(training))\n"
        "watch.count(day)\n"
        "print('scipy.stats' in sys.modules, 'scipy.fft' in sys.modules)\n"
        "with ChunkCounts(watch) as chunks:\n"
        "    chunks.add(day.iloc[:1000])\n"
        "    chunks.add(day.iloc[1000:])\n"
        "    total = chunks.total()\n"
        "print('scipy.stats' in sys.modules, 'scipy.fft' in sys.modules)\n"
        "print(watch.verdict(total).rows)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    # then counting needs no scipy (neither stats nor an FFT): the scoring path stays clear of
    # its 0.3 s import, whether a chunk is counted in turn or on ChunkCounts' thread
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["False", "False", "False", "False", "2000"]
