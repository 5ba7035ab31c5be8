"""Risk levels and recommendations, shared by batch scoring and the API.

The spec's contract: prediction 0 is normal operation (risk ``Baixo`` or ``Médio``), prediction 1
means stop for immediate inspection (risk ``Alto`` or ``Crítico``). The level inside each half is
set by how far the failure probability sits from the model's tuned decision threshold, so the
level can never contradict the prediction. Pure Python floats: this runs on the API's hot path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

RiskLevel = Literal["Baixo", "Médio", "Alto", "Crítico"]
RISK_LEVELS: tuple[RiskLevel, ...] = ("Baixo", "Médio", "Alto", "Crítico")
Language = Literal["pt", "en"]

RECOMMENDATIONS: dict[Language, dict[RiskLevel, str]] = {
    "pt": {
        "Baixo": "Operação normal. Continuar monitoramento.",
        "Médio": "Operação normal. Continuar monitoramento com atenção redobrada aos sensores.",
        "Alto": "Risco de falha. Parar para inspeção imediata.",
        "Crítico": "Falha iminente. Parar o equipamento para inspeção imediata.",
    },
    "en": {
        "Baixo": "Normal operation. Keep monitoring.",
        "Médio": "Normal operation. Keep monitoring, with closer attention to the sensors.",
        "Alto": "Failure risk. Stop for immediate inspection.",
        "Crítico": "Failure imminent. Stop the machine for immediate inspection.",
    },
}


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    """What a reliability engineer reads for one reading."""

    prediction: int
    failure_probability: float
    #: Confidence in the predicted class: ``p`` when predicting failure, ``1 - p`` otherwise
    #: (the spec's example pairs prediction 0 with probability 0.92).
    probability: float
    risk_level: RiskLevel
    recommendation: str


def risk_level(failure_probability: float, threshold: float) -> RiskLevel:
    """Level of one reading given the model's decision threshold.

    Below the threshold (prediction 0): ``Baixo`` under half the threshold, else ``Médio``.
    At or above it (prediction 1): ``Crítico`` past the midpoint between threshold and 1, else
    ``Alto``.
    """
    if failure_probability < threshold:
        return "Baixo" if failure_probability < threshold / 2.0 else "Médio"
    return "Crítico" if failure_probability >= (1.0 + threshold) / 2.0 else "Alto"


def assess(
    failure_probability: float, threshold: float, language: Language = "pt"
) -> RiskAssessment:
    """Prediction, confidence, level and recommendation for one failure probability."""
    p = float(failure_probability)
    prediction = 1 if p >= threshold else 0
    level = risk_level(p, threshold)
    return RiskAssessment(
        prediction=prediction,
        failure_probability=p,
        probability=p if prediction else 1.0 - p,
        risk_level=level,
        recommendation=RECOMMENDATIONS[language][level],
    )


def risk_level_codes(failure_probability: np.ndarray, threshold: float) -> np.ndarray:
    """Vectorised :func:`risk_level` as positions in :data:`RISK_LEVELS` (int8).

    The batch job turns them into categorical columns without a string per reading.
    """
    p = np.asarray(failure_probability, dtype=np.float64)
    return np.where(
        p >= threshold,
        np.where(p >= (1.0 + threshold) / 2.0, 3, 2),
        np.where(p < threshold / 2.0, 0, 1),
    ).astype(np.int8)


def assess_many(
    failure_probability: Any, threshold: float, language: Language = "pt"
) -> dict[str, np.ndarray]:
    """Vectorised :func:`assess` for batch scoring: same rules, one array per field."""
    p = np.asarray(failure_probability, dtype=np.float64)
    failure = p >= threshold
    level_index = risk_level_codes(p, threshold)
    levels = np.asarray(RISK_LEVELS, dtype=object)[level_index]
    texts = np.asarray([RECOMMENDATIONS[language][lvl] for lvl in RISK_LEVELS], dtype=object)
    return {
        "prediction": failure.astype(np.int64),
        "failure_probability": p,
        "probability": np.where(failure, p, 1.0 - p),
        "risk_level": levels,
        "recommendation": texts[level_index],
    }
