"""The diagnosis of an answer: each documented mechanism in words, and what to do per failure mode.

:mod:`predmaint.features.mechanisms` computes the quantities, limits and utilisations; this module
adds what a technician reads: one message per mechanism and a recommendation per failure mode, in
Portuguese (default) or English. The spec's risk-level texts (:mod:`predmaint.inference.risk`)
stay the answer for readings predicted not to fail; a predicted failure adds its mode's action.
Pure Python floats on the single-reading path: :func:`diagnosis_json` writes the API's
``diagnosis`` array directly.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from predmaint.features.mechanisms import (
    HDF_SPEED_RPM,
    HDF_TEMP_DIFFERENCE_K,
    MECHANISMS,
    MODES,
    OSF_LIMITS,
    PWF_POWER_W,
    RAD_S_PER_RPM,
    TWF_WINDOW_MIN,
    FailureMode,
)
from predmaint.inference.risk import RECOMMENDATIONS, RISK_LEVELS, Language, RiskLevel

MODE_ACTIONS: dict[Language, dict[FailureMode, str]] = {
    "pt": {
        "TWF": "Desgaste da ferramenta (TWF): programar a troca da ferramenta.",
        "HDF": "Dissipação de calor (HDF): verificar refrigeração e ventilação.",
        "PWF": "Potência (PWF): trazer rotação e torque de volta à faixa de operação.",
        "OSF": "Sobrecarga (OSF): reduzir a carga ou trocar a ferramenta agora.",
        "RNF": "Falha aleatória (RNF): inspecionar o equipamento.",
    },
    "en": {
        "TWF": "Tool wear (TWF): schedule the tool change.",
        "HDF": "Heat dissipation (HDF): check cooling and ventilation.",
        "PWF": "Power (PWF): bring speed and torque back into the operating range.",
        "OSF": "Overstrain (OSF): reduce the load or change the tool now.",
        "RNF": "Random failure (RNF): inspect the machine.",
    },
}


@dataclass(frozen=True)
class _Words:
    """The words of the diagnosis messages in one language (numbers are formatted in)."""

    difference: str
    speed: str
    power: str
    overstrain: str
    wear: str
    of_limit: str
    below: str
    above: str
    hdf_speed: str
    hdf_difference: str
    window: str
    broken: str
    half: str  # one HDF condition holds, not the other: not yet the rule


_WORDS: dict[Language, _Words] = {
    "pt": _Words(
        difference="Diferença de temperatura processo−ar",
        speed="Rotação",
        power="Potência",
        overstrain="Desgaste × torque",
        wear="Desgaste da ferramenta",
        of_limit="do limite",
        below="abaixo de",
        above="acima de",
        hdf_speed=f"com rotação abaixo de {HDF_SPEED_RPM:g} rpm",
        hdf_difference=f"com diferença de temperatura abaixo de {HDF_TEMP_DIFFERENCE_K:g} K",
        window=f"na janela de troca {TWF_WINDOW_MIN[0]:g}–{TWF_WINDOW_MIN[1]:g} min",
        broken=" — regra violada",
        half=" — condição atingida (a outra não)",
    ),
    "en": _Words(
        difference="Process−air temperature difference",
        speed="Speed",
        power="Power",
        overstrain="Tool wear × torque",
        wear="Tool wear",
        of_limit="of the limit",
        below="below",
        above="above",
        hdf_speed=f"with speed below {HDF_SPEED_RPM:g} rpm",
        hdf_difference=f"with temperature difference below {HDF_TEMP_DIFFERENCE_K:g} K",
        window=f"in the replacement window {TWF_WINDOW_MIN[0]:g}–{TWF_WINDOW_MIN[1]:g} min",
        broken=" — rule broken",
        half=" — condition met (not the other)",
    ),
}
# Messages go into JSON unescaped (diagnosis_json): no character that JSON would escape.
assert not any(c in text for w in _WORDS.values() for text in vars(w).values() for c in '"\\\n')
assert [m.quantity for m in MECHANISMS] == [
    "temp_difference",
    "rotational_speed",
    "power",
    "overstrain",
    "tool_wear",
], "diagnosis_json writes the mechanisms in this order"


@dataclass(frozen=True, slots=True)
class DiagnosisEntry:
    """One documented mechanism for one reading (see :mod:`predmaint.features.mechanisms`)."""

    mode: FailureMode
    quantity: str
    value: float
    limit: float
    unit: str
    utilisation: float  # ≥ 1: the documented rule holds for this quantity
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def diagnosis_json(
    values: Sequence[float], language: Language = "pt", osf_limit: float = OSF_LIMITS["L"]
) -> str:
    """The five mechanism entries of one reading as the JSON array the API answers.

    :func:`diagnose` reads the same text back, so there is one source. Values are rounded to 3
    decimals, utilisations to 4 (the messages show whole percents). The API's hot path calls
    :func:`diagnosis_writer` once and the writer per answer.
    """
    return diagnosis_writer(language, osf_limit)(values)


DiagnosisWriter = Callable[[Sequence[float]], str]


@lru_cache(maxsize=32)  # one per (language, overstrain limit) in use: a handful
def diagnosis_writer(language: Language, osf_limit: float = OSF_LIMITS["L"]) -> DiagnosisWriter:
    """``values -> diagnosis JSON`` for one language and overstrain limit.

    Our own text assembly, for measured speed: everything that does not depend on the reading
    (keys, units, limits, rule texts) is joined once here, so an answer formats only its ten
    numbers and five message figures, each number with one cheap format
    (:func:`_rounded3`). Measured: 5.8 µs of CPU per answer instead of 9.1 µs for one f-string
    formatting all 35 fields every time, and the app's whole ``/predict`` 4 µs cheaper
    (``bench/api_inprocess.py``; figures in docs/benchmarks.md). The bytes are those of that
    plain formulation, which ``tests/unit/test_diagnosis.py`` keeps as its reference.
    """
    t = _WORDS[language]
    low, high = PWF_POWER_W
    hdf_d = '[{"mode":"HDF","quantity":"temp_difference","value":'
    hdf_d_limit = f',"limit":{HDF_TEMP_DIFFERENCE_K!r},"unit":"K","utilisation":'
    hdf_d_message = f',"message":"{t.difference} '
    hdf_d_rule = f" {t.of_limit} (HDF {t.below} {HDF_TEMP_DIFFERENCE_K:g} K {t.hdf_speed})"
    hdf_s = '"},{"mode":"HDF","quantity":"rotational_speed","value":'
    hdf_s_limit = f',"limit":{HDF_SPEED_RPM!r},"unit":"rpm","utilisation":'
    hdf_s_message = f',"message":"{t.speed} '
    hdf_s_rule = f" {t.of_limit} (HDF {t.below} {HDF_SPEED_RPM:g} rpm {t.hdf_difference})"
    pwf = '"},{"mode":"PWF","quantity":"power","value":'
    pwf_limit = {  # the bound in play: the low one when its utilisation is the larger
        bound: f',"limit":{bound!r},"unit":"W","utilisation":' for bound in (low, high)
    }
    pwf_message = f',"message":"{t.power} '
    pwf_rule = {
        low: f" {t.of_limit} (PWF {t.below} {low:g} W)",
        high: f" {t.of_limit} (PWF {t.above} {high:g} W)",
    }
    osf = '"},{"mode":"OSF","quantity":"overstrain","value":'
    osf_limit_ = f',"limit":{osf_limit!r},"unit":"min·Nm","utilisation":'
    osf_message = f',"message":"{t.overstrain} '
    osf_rule = f" {t.of_limit} (OSF {t.above} {osf_limit:g} min·Nm)"
    twf = '"},{"mode":"TWF","quantity":"tool_wear","value":'
    twf_limit = f',"limit":{TWF_WINDOW_MIN[0]!r},"unit":"min","utilisation":'
    twf_message = f',"message":"{t.wear} '
    twf_rule = f" {t.of_limit} (TWF {t.window})"
    broken, half, end = t.broken, t.half, '"}]'

    hdf_min, speed_min, wear_limit = HDF_TEMP_DIFFERENCE_K, HDF_SPEED_RPM, TWF_WINDOW_MIN[0]

    def write(values: Sequence[float]) -> str:
        # utilisation_one's arithmetic, written out (same operations in the same order; the
        # tests compare with it): a call and five tuples less per answer
        air, process, s, torque, w = values
        d = process - air
        p = torque * (s * RAD_S_PER_RPM)
        o = w * torque
        du = 2.0 - d / hdf_min
        du = du if du > 0.0 else 0.0
        su = 2.0 - s / speed_min
        su = su if su > 0.0 else 0.0
        pu = 2.0 - p / low
        pu = pu if pu > 0.0 else 0.0
        pl = low
        if not pu > p / high:
            pu, pl = p / high, high
        ou = o / osf_limit
        wu = w / wear_limit
        # speed and tool wear are whole numbers in practice: their two texts without formatting
        if type(s) is float and 0.0 < s < 1e11 and s.is_integer():
            s0 = str(int(s))
            s3 = s0 + ".0"
        else:
            s0, s3 = f"{s:.0f}", _rounded3(s)
        if type(w) is float and 0.0 < w < 1e11 and w.is_integer():
            w0 = str(int(w))
            w3 = w0 + ".0"
        else:
            w0, w3 = f"{w:.0f}", _rounded3(w)
        hdf = broken if du >= 1.0 and su >= 1.0 else half  # HDF needs both conditions
        return (
            f"{hdf_d}{_rounded3(d)}{hdf_d_limit}{_rounded4(du)}{hdf_d_message}"
            f"{d:.1f} K: {du:.0%}{hdf_d_rule}{hdf if du >= 1.0 else ''}"
            f"{hdf_s}{s3}{hdf_s_limit}{_rounded4(su)}{hdf_s_message}"
            f"{s0} rpm: {su:.0%}{hdf_s_rule}{hdf if su >= 1.0 else ''}"
            f"{pwf}{_rounded3(p)}{pwf_limit[pl]}{_rounded4(pu)}{pwf_message}"
            f"{p:.0f} W: {pu:.0%}{pwf_rule[pl]}{broken if pu >= 1.0 else ''}"
            f"{osf}{_rounded3(o)}{osf_limit_}{_rounded4(ou)}{osf_message}"
            f"{o:.0f} min·Nm: {ou:.0%}{osf_rule}{broken if ou >= 1.0 else ''}"
            f"{twf}{w3}{twf_limit}{_rounded4(wu)}{twf_message}"
            f"{w0} min: {wu:.0%}{twf_rule}{broken if wu >= 1.0 else ''}{end}"
        )

    return write


def _rounded3(x: float) -> str:
    """``repr(round(x, 3))`` at a third of its cost.

    ``round`` formats the correctly rounded decimal and parses it back, ``repr`` formats again;
    here the decimal is formatted once and its trailing zeros dropped. The same text whenever
    it has at most 15 significant digits (``|x| < 1e11``): such a decimal is the shortest
    string that reads back as its double, which is what ``repr`` writes, in fixed notation
    (a nonzero value rounded to 4 decimals is at least 1e-4). Larger values take the plain way.
    One function per number of decimals: a format spec written in the code is cheaper than
    one chosen per call.
    """
    if -1e11 < x < 1e11:
        text = f"{x:.3f}".rstrip("0")
        return text + "0" if text[-1] == "." else text
    return repr(round(x, 3))


def _rounded4(x: float) -> str:
    """``repr(round(x, 4))``, as :func:`_rounded3`."""
    if -1e11 < x < 1e11:
        text = f"{x:.4f}".rstrip("0")
        return text + "0" if text[-1] == "." else text
    return repr(round(x, 4))


def diagnose(
    values: Sequence[float], language: Language = "pt", osf_limit: float = OSF_LIMITS["L"]
) -> list[DiagnosisEntry]:
    """The five mechanism entries of one reading (sensor values in ``SENSOR_COLUMNS`` order)."""
    entries = json.loads(diagnosis_json(values, language, osf_limit))
    return [DiagnosisEntry(**entry) for entry in entries]


def recommendation(level: RiskLevel, mode: FailureMode | None, language: Language = "pt") -> str:
    """The spec's text for the risk level, followed by the failure mode's action if any."""
    text = RECOMMENDATIONS[language][level]
    return f"{text} {MODE_ACTIONS[language][mode]}" if mode else text


def recommendation_table(language: Language) -> dict[tuple[RiskLevel, FailureMode | None], str]:
    """Every (level, mode) recommendation, computed once (the API encodes them at start).

    Ordered level-major, modes as ``(None, *MODES)``: the batch job's text code of a reading is
    ``level_code × 6 + mode_code + 1`` (mode code −1: no mode).
    """
    modes: tuple[FailureMode | None, ...] = (None, *MODES)
    return {
        (level, mode): recommendation(level, mode, language)
        for level in RISK_LEVELS
        for mode in modes
    }
