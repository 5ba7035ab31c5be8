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
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from predmaint.features.mechanisms import (
    MECHANISMS,
    MODES,
    OSF_LIMITS,
    PWF_POWER_W,
    TWF_WINDOW_MIN,
    FailureMode,
    utilisation_one,
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
        hdf_speed="com rotação abaixo de 1380 rpm",
        hdf_difference="com diferença de temperatura abaixo de 8.6 K",
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
        hdf_speed="with speed below 1380 rpm",
        hdf_difference="with temperature difference below 8.6 K",
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

    One f-string for the whole array: the API's hot path pays a few microseconds, not a
    generic encoder's tens. :func:`diagnose` reads the same text back, so there is one source.
    Values are rounded to 3 decimals, utilisations to 4 (the messages show whole percents).
    """
    (d, dl, du), (s, sl, su), (p, pl, pu), (o, ol, ou), (w, wl, wu) = utilisation_one(
        values, osf_limit
    )
    t = _WORDS[language]
    side = t.below if pl < PWF_POWER_W[1] else t.above
    hdf = t.broken if du >= 1.0 and su >= 1.0 else t.half  # HDF needs both conditions
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
