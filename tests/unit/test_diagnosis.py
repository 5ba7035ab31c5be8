"""The documented failure mechanisms: utilisation per quantity, texts, and the failure-mode model.

The rules are the dataset's own (``../shared/data/README.md``): on the real file, a reading breaks
HDF, PWF or OSF by our utilisation exactly when the file flags that mode.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from predmaint.data.columns import SENSOR_COLUMNS, normalise_header
from predmaint.features.mechanisms import (
    MECHANISMS,
    MODES,
    OSF_LIMITS,
    PWF_POWER_W,
    overstrain_limits,
    rules_broken,
    utilisation_many,
    utilisation_one,
)
from predmaint.inference.diagnosis import (
    _WORDS,
    MODE_ACTIONS,
    diagnose,
    diagnosis_json,
    recommendation,
    recommendation_table,
)
from predmaint.inference.risk import RECOMMENDATIONS
from predmaint.models.mode_scorer import compile_modes
from predmaint.models.modes import fit_mode_model, mode_examples, mode_metrics

#: tool wear 230 min × torque 65 Nm = 14,950 min·Nm, far above type L's 11,000.
OSF_READING = (300.0, 310.0, 1350.0, 65.0, 230.0)
NORMAL_READING = (298.5, 308.9, 1551.0, 42.8, 108.0)  # the spec's example


@pytest.fixture(scope="module")
def ai4i(raw_csv: Path) -> pd.DataFrame:
    """The real file with typed columns (``raw_frame`` keeps the raw text)."""
    frame = pd.read_csv(raw_csv)
    frame.columns = [normalise_header(c) for c in frame.columns]
    return frame


readings = st.tuples(
    st.floats(290.0, 310.0),
    st.floats(300.0, 320.0),
    st.floats(1000.0, 3000.0),
    st.floats(1.0, 80.0),
    st.floats(0.0, 260.0),
)


def by_quantity(values: tuple[float, ...], osf_limit: float = OSF_LIMITS["L"]) -> dict[str, float]:
    return {e.quantity: e.utilisation for e in diagnose(values, osf_limit=osf_limit)}


def test_a_reading_breaking_osf_uses_more_than_its_limit() -> None:
    # given wear × torque of 14,950 min·Nm on a type L machine (limit 11,000)
    entries = {e.quantity: e for e in diagnose(OSF_READING)}
    osf = entries["overstrain"]
    # then the OSF entry says so, with its value, limit and unit
    assert (osf.mode, osf.value, osf.limit, osf.unit) == ("OSF", 14950.0, 11000.0, "min·Nm")
    assert osf.utilisation == pytest.approx(14950 / 11000, abs=1e-4) and osf.utilisation > 1
    assert "regra violada" in osf.message and "14950" in osf.message, osf.message
    # and on an H machine (limit 13,000) the same reading still breaks it, by less
    assert 1 < by_quantity(OSF_READING, OSF_LIMITS["H"])["overstrain"] < osf.utilisation


def test_normal_reading_uses_less_than_every_limit() -> None:
    entries = diagnose(NORMAL_READING, "en")
    assert [(e.mode, e.quantity) for e in entries] == [(m.mode, m.quantity) for m in MECHANISMS]
    assert all(0 <= e.utilisation < 1 for e in entries), entries
    assert not any("rule broken" in e.message for e in entries)


@pytest.mark.parametrize(
    ("values", "quantity", "limit"),
    [
        ((300.0, 308.5, 1300.0, 40.0, 0.0), "temp_difference", 8.6),  # 8.5 K < 8.6 K
        ((300.0, 308.5, 1300.0, 40.0, 0.0), "rotational_speed", 1380.0),  # 1,300 < 1,380 rpm
        ((300.0, 310.0, 1250.0, 76.0, 0.0), "power", 9000.0),  # about 9.9 kW
        ((300.0, 310.0, 2800.0, 5.0, 0.0), "power", 3500.0),  # about 1.5 kW
        ((300.0, 310.0, 1500.0, 40.0, 210.0), "tool_wear", 200.0),  # in the 200-240 min window
    ],
)
def test_each_lower_upper_and_window_rule_broken_passes_one(
    values: tuple[float, ...], quantity: str, limit: float
) -> None:
    entry = next(e for e in diagnose(values) if e.quantity == quantity)
    assert entry.limit == limit and entry.utilisation > 1, entry


def test_utilisation_of_a_minimum_mirrors_the_margin() -> None:
    # 1 at the limit, 0 at twice the limit (and above: clipped), 2 at zero
    for speed, expected in ((1380.0, 1.0), (2760.0, 0.0), (2900.0, 0.0), (690.0, 1.5)):
        values = (300.0, 310.0, speed, 40.0, 0.0)
        assert by_quantity(values)["rotational_speed"] == pytest.approx(expected), speed


@given(readings)
def test_vectorised_equals_scalar(values: tuple[float, ...]) -> None:
    many = utilisation_many(np.array([values]), np.array([OSF_LIMITS["M"]]))[0]
    one = [use for _, _, use in utilisation_one(values, OSF_LIMITS["M"])]
    assert many == pytest.approx(one, rel=1e-12, abs=1e-12)


@given(readings, st.sampled_from(["pt", "en"]))
def test_json_answer_is_valid_and_finite(values: tuple[float, ...], language: str) -> None:
    entries = json.loads(diagnosis_json(values, language))  # type: ignore[arg-type]
    assert len(entries) == len(MECHANISMS)
    assert all(np.isfinite(e["utilisation"]) and e["utilisation"] >= 0 for e in entries)


SPEC_DIAGNOSIS_PT = (
    '[{"mode":"HDF","quantity":"temp_difference","value":10.4,"limit":8.6,"unit":"K",'
    '"utilisation":0.7907,"message":"Diferença de temperatura processo−ar 10.4 K: 79% do limite '
    '(HDF abaixo de 8.6 K com rotação abaixo de 1380 rpm)"},'
    '{"mode":"HDF","quantity":"rotational_speed","value":1551.0,"limit":1380.0,"unit":"rpm",'
    '"utilisation":0.8761,"message":"Rotação 1551 rpm: 88% do limite (HDF abaixo de 1380 rpm '
    'com diferença de temperatura abaixo de 8.6 K)"},'
    '{"mode":"PWF","quantity":"power","value":6951.591,"limit":9000.0,"unit":"W",'
    '"utilisation":0.7724,"message":"Potência 6952 W: 77% do limite (PWF acima de 9000 W)"},'
    '{"mode":"OSF","quantity":"overstrain","value":4622.4,"limit":11000.0,"unit":"min·Nm",'
    '"utilisation":0.4202,"message":"Desgaste × torque 4622 min·Nm: 42% do limite '
    '(OSF acima de 11000 min·Nm)"},'
    '{"mode":"TWF","quantity":"tool_wear","value":108.0,"limit":200.0,"unit":"min",'
    '"utilisation":0.54,"message":"Desgaste da ferramenta 108 min: 54% do limite '
    '(TWF na janela de troca 200–240 min)"}]'
)


def plain_diagnosis_json(values: tuple[float, ...], language: str, osf_limit: float) -> str:
    """The reference: every field formatted in one f-string with ``repr(round(…))`` (the
    first implementation). ``diagnosis_json`` assembles its text faster and must match it."""
    (d, dl, du), (s, sl, su), (p, pl, pu), (o, ol, ou), (w, wl, wu) = utilisation_one(
        values, osf_limit
    )
    t = _WORDS[language]  # type: ignore[index]
    side = t.below if pl < PWF_POWER_W[1] else t.above
    hdf = t.broken if du >= 1.0 and su >= 1.0 else t.half
    return (
        f'[{{"mode":"HDF","quantity":"temp_difference","value":{round(d, 3)!r},'
        f'"limit":{dl!r},"unit":"K","utilisation":{round(du, 4)!r},"message":"{t.difference} '
        f"{d:.1f} K: {du:.0%} {t.of_limit} (HDF {t.below} {dl:g} K {t.hdf_speed})"
        f'{hdf if du >= 1.0 else ""}"}},'
        f'{{"mode":"HDF","quantity":"rotational_speed","value":{round(s, 3)!r},'
        f'"limit":{sl!r},"unit":"rpm","utilisation":{round(su, 4)!r},"message":"{t.speed} '
        f"{s:.0f} rpm: {su:.0%} {t.of_limit} (HDF {t.below} {sl:g} rpm {t.hdf_difference})"
        f'{hdf if su >= 1.0 else ""}"}},'
        f'{{"mode":"PWF","quantity":"power","value":{round(p, 3)!r},'
        f'"limit":{pl!r},"unit":"W","utilisation":{round(pu, 4)!r},"message":"{t.power} '
        f'{p:.0f} W: {pu:.0%} {t.of_limit} (PWF {side} {pl:g} W){t.broken if pu >= 1.0 else ""}"}},'
        f'{{"mode":"OSF","quantity":"overstrain","value":{round(o, 3)!r},'
        f'"limit":{ol!r},"unit":"min·Nm","utilisation":{round(ou, 4)!r},"message":"{t.overstrain} '
        f"{o:.0f} min·Nm: {ou:.0%} {t.of_limit} (OSF {t.above} {ol:g} min·Nm)"
        f'{t.broken if ou >= 1.0 else ""}"}},'
        f'{{"mode":"TWF","quantity":"tool_wear","value":{round(w, 3)!r},'
        f'"limit":{wl!r},"unit":"min","utilisation":{round(wu, 4)!r},"message":"{t.wear} '
        f'{w:.0f} min: {wu:.0%} {t.of_limit} (TWF {t.window}){t.broken if wu >= 1.0 else ""}"}}]'
    )


def test_spec_reading_diagnosis_bytes_are_pinned() -> None:
    assert diagnosis_json(NORMAL_READING) == SPEC_DIAGNOSIS_PT
    assert plain_diagnosis_json(NORMAL_READING, "pt", OSF_LIMITS["L"]) == SPEC_DIAGNOSIS_PT


# any float, including the edges of the fast rounding: zeros, tiny, huge (plain repr there)
any_value = st.one_of(
    st.floats(-1e13, 1e13, allow_nan=False),
    st.sampled_from([0.0, -0.0, 5e-5, -5e-5, 1.5e-4, 0.0005, 99999999999.9996, 1e11, 1e300]),
    st.integers(0, 3000).map(float),
    st.integers(0, 800).map(lambda tenths: tenths / 10),
)


@given(
    st.one_of(readings, st.tuples(*[any_value] * 5)),
    st.sampled_from(["pt", "en"]),
    st.sampled_from([*OSF_LIMITS.values(), 11111.5]),
)
def test_fast_json_is_byte_identical_to_the_plain_formulation(
    values: tuple[float, ...], language: str, osf_limit: float
) -> None:
    expected = plain_diagnosis_json(values, language, osf_limit)
    assert diagnosis_json(values, language, osf_limit) == expected  # type: ignore[arg-type]


def test_rules_match_the_real_files_flags_exactly(ai4i: pd.DataFrame) -> None:
    # given every reading of the real file, each with its own type's overstrain limit
    sensors = ai4i[list(SENSOR_COLUMNS)].to_numpy(np.float64)
    utilisation = utilisation_many(sensors, overstrain_limits(ai4i["type"].to_numpy(object)))
    broken = rules_broken(utilisation)
    # then HDF, PWF and OSF (deterministic) break exactly where the file flags them
    for mode in ("HDF", "PWF", "OSF"):
        flagged = ai4i[mode.lower()].to_numpy(bool)
        assert (broken[mode] == flagged).all(), mode
    # and every tool-wear failure happened in the window (one of 46 at 198 min: 99 %)
    assert (utilisation[ai4i["twf"].to_numpy(bool), 4] >= 0.99).all()


def test_recommendations_keep_the_spec_text_and_add_the_modes_action() -> None:
    assert recommendation("Baixo", None) == RECOMMENDATIONS["pt"]["Baixo"]
    text = recommendation("Crítico", "OSF", "en")
    assert text.startswith(RECOMMENDATIONS["en"]["Crítico"]) and "reduce the load" in text
    assert "refrigeração" in MODE_ACTIONS["pt"]["HDF"]
    assert "troca da ferramenta" in MODE_ACTIONS["pt"]["TWF"]
    assert len(recommendation_table("pt")) == 4 * 6


def test_mode_model_names_clear_osf_readings_of_the_real_data(ai4i: pd.DataFrame) -> None:
    # given the mode model trained on type L failures of the real file
    type_l = ai4i[ai4i["type"] == "L"]
    model = fit_mode_model(type_l, seed=42)
    scorer = compile_modes(model)
    assert scorer.runtime == "onnxruntime"
    # when asked about the real OSF-only failures (far above the limit)
    only_osf = type_l[
        (type_l["osf"] == 1) & (type_l[["twf", "hdf", "pwf", "rnf"]].sum(axis=1) == 0)
    ]
    sensors = only_osf[list(SENSOR_COLUMNS)].to_numpy(np.float64)
    clear = sensors[sensors[:, 3] * sensors[:, 4] > 12_000]
    assert len(clear) >= 15
    codes, probability = scorer.best_many(clear)
    # then it says OSF, confidently, in bulk and one by one
    assert (codes == 3).all() and (probability > 0.5).all()
    assert scorer.best_one(OSF_READING)[0] == "OSF"
    # and one reading at a time goes through the forest's tree code, which says the same
    assert scorer.single is not None, scorer.single_detail
    for row, code, p in zip(clear.tolist(), codes, probability, strict=True):
        mode, p_one = scorer.best_one(row)
        assert mode == MODES[code] and p_one == pytest.approx(p, abs=1e-6), row
    # and its per-mode metrics on the file it learnt from are those of a working model (recall
    # below 1 where a failure carries two modes: one mode is named per reading)
    metrics = mode_metrics(model, type_l)
    assert metrics.accuracy >= 0.95 and metrics.precision["OSF"] >= 0.95, metrics
    assert metrics.recall["OSF"] >= 0.85, metrics
    assert {"mode_osf_precision", "mode_hdf_recall"} <= set(metrics.as_mlflow())


def test_failures_with_two_modes_teach_both(ai4i: pd.DataFrame) -> None:
    sensors, labels = mode_examples(ai4i)
    flags = ai4i.loc[ai4i["machine_failure"] == 1, ["twf", "hdf", "pwf", "osf", "rnf"]]
    assert len(sensors) == len(labels) == int(flags.to_numpy().sum())
