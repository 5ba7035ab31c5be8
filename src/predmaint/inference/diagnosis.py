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
    :func:`diagnosis_writer` once and the writer per answer (UTF-8 bytes: this text, encoded).
    """
    return diagnosis_writer(language, osf_limit)(values).decode()


DiagnosisWriter = Callable[[Sequence[float]], bytes]


def _template(text: str) -> bytes:
    """Constant text for a ``bytes % args`` template: UTF-8, its ``%`` signs doubled."""
    return text.replace("%", "%%").encode()


@lru_cache(maxsize=32)  # one per (language, overstrain limit) in use: a handful
def diagnosis_writer(language: Language, osf_limit: float = OSF_LIMITS["L"]) -> DiagnosisWriter:
    """``values -> diagnosis JSON`` (UTF-8 bytes) for one language and overstrain limit.

    Our own text assembly, for measured speed: everything that does not depend on the reading
    (keys, units, limits, rule texts) is one ``bytes`` template made here, UTF-8 already, so an
    answer fills in only its ten numbers and five message figures with one ``%`` operation and
    is never encoded as a whole (the texts are not ASCII: encoding 1.3 KB of them cost 0.8 µs).
    ``b"%.1f" % x`` is ``f"{x:.1f}"``, ``b"%.0f%%" % (x * 100)`` is ``f"{x:.0%}"`` (Python
    formats a percent exactly so), and each rounded value takes one cheap format
    (:func:`_rounded3`). Measured (CPU per answer, spec reading, best of 30 × 10,000): 2.9 µs,
    against 4.8 µs for the same text as ``str`` (then encoded) and 5.8 µs before that (one
    template per entry, ``utilisation_one``, every number formatted); the first formulation,
    one f-string formatting all 35 fields, took 9.1 µs. The bytes are those of that plain
    formulation, which ``tests/unit/test_diagnosis.py`` keeps as its reference.
    """
    t = _WORDS[language]
    low, high = PWF_POWER_W
    hdf_min, speed_min, wear_limit = HDF_TEMP_DIFFERENCE_K, HDF_SPEED_RPM, TWF_WINDOW_MIN[0]
    template = b"".join(
        (
            _template('[{"mode":"HDF","quantity":"temp_difference","value":'),
            b"%b",
            _template(f',"limit":{hdf_min!r},"unit":"K","utilisation":'),
            b"%b",
            _template(f',"message":"{t.difference} '),
            b"%.1f K: %.0f%%",
            _template(f" {t.of_limit} (HDF {t.below} {hdf_min:g} K {t.hdf_speed})"),
            b"%b",
            _template('"},{"mode":"HDF","quantity":"rotational_speed","value":'),
            b"%b",
            _template(f',"limit":{speed_min!r},"unit":"rpm","utilisation":'),
            b"%b",
            _template(f',"message":"{t.speed} '),
            b"%b rpm: %.0f%%",
            _template(f" {t.of_limit} (HDF {t.below} {speed_min:g} rpm {t.hdf_difference})"),
            b"%b",
            _template('"},{"mode":"PWF","quantity":"power","value":'),
            b"%b%b%b",  # value, the limit in play with its unit, utilisation
            _template(f',"message":"{t.power} '),
            b"%.0f W: %.0f%%%b%b",  # ... the rule of the bound in play, broken or not
            _template('"},{"mode":"OSF","quantity":"overstrain","value":'),
            b"%b",
            _template(f',"limit":{osf_limit!r},"unit":"min·Nm","utilisation":'),
            b"%b",
            _template(f',"message":"{t.overstrain} '),
            "%.0f min·Nm: %.0f%%".encode(),
            _template(f" {t.of_limit} (OSF {t.above} {osf_limit:g} min·Nm)"),
            b"%b",
            _template('"},{"mode":"TWF","quantity":"tool_wear","value":'),
            b"%b",
            _template(f',"limit":{wear_limit!r},"unit":"min","utilisation":'),
            b"%b",
            _template(f',"message":"{t.wear} '),
            b"%b min: %.0f%%",
            _template(f" {t.of_limit} (TWF {t.window})"),
            b'%b"}]',
        )
    )
    pwf_limit = {  # the bound in play: the low one when its utilisation is the larger
        bound: f',"limit":{bound!r},"unit":"W","utilisation":'.encode() for bound in (low, high)
    }
    pwf_rule = {
        low: f" {t.of_limit} (PWF {t.below} {low:g} W)".encode(),
        high: f" {t.of_limit} (PWF {t.above} {high:g} W)".encode(),
    }
    broken, half = t.broken.encode(), t.half.encode()

    def write(values: Sequence[float]) -> bytes:
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
        # speed and tool wear are whole numbers in practice: their two texts without rounding
        if type(s) is float and 0.0 < s < 1e11 and s.is_integer():
            s0 = b"%d" % s
            s3 = s0 + b".0"
        else:
            s0, s3 = b"%.0f" % s, _rounded3(s)
        if type(w) is float and 0.0 < w < 1e11 and w.is_integer():
            w0 = b"%d" % w
            w3 = w0 + b".0"
        else:
            w0, w3 = b"%.0f" % w, _rounded3(w)
        hdf = broken if du >= 1.0 and su >= 1.0 else half  # HDF needs both conditions
        return template % (
            _rounded3(d),
            _rounded4(du),
            d,
            du * 100.0,
            hdf if du >= 1.0 else b"",
            s3,
            _rounded4(su),
            s0,
            su * 100.0,
            hdf if su >= 1.0 else b"",
            _rounded3(p),
            pwf_limit[pl],
            _rounded4(pu),
            p,
            pu * 100.0,
            pwf_rule[pl],
            broken if pu >= 1.0 else b"",
            _rounded3(o),
            _rounded4(ou),
            o,
            ou * 100.0,
            broken if ou >= 1.0 else b"",
            w3,
            _rounded4(wu),
            w0,
            wu * 100.0,
            broken if wu >= 1.0 else b"",
        )

    return write


def _rounded3(x: float) -> bytes:
    """``repr(round(x, 3))`` (as UTF-8) at a third of its cost.

    ``round`` formats the correctly rounded decimal and parses it back, ``repr`` formats again;
    here the decimal is formatted once and its trailing zeros dropped. The same text whenever
    it has at most 15 significant digits (``|x| < 1e11``): such a decimal is the shortest
    string that reads back as its double, which is what ``repr`` writes, in fixed notation
    (a nonzero value rounded to 4 decimals is at least 1e-4). Larger values take the plain way.
    One function per number of decimals: a format written in the code is cheaper than one
    chosen per call.
    """
    if -1e11 < x < 1e11:
        text = (b"%.3f" % x).rstrip(b"0")
        return text + b"0" if text[-1] == 46 else text  # 46: "."
    return repr(round(x, 3)).encode()


def _rounded4(x: float) -> bytes:
    """``repr(round(x, 4))``, as :func:`_rounded3`."""
    if -1e11 < x < 1e11:
        text = (b"%.4f" % x).rstrip(b"0")
        return text + b"0" if text[-1] == 46 else text
    return repr(round(x, 4)).encode()


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
