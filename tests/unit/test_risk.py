"""Risk levels can never contradict the prediction; batch and single scoring agree."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from predmaint.inference.risk import RECOMMENDATIONS, assess, assess_many, risk_level

probabilities = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
thresholds = st.floats(min_value=0.01, max_value=0.99, allow_nan=False)


@given(probabilities, thresholds)
def test_level_is_consistent_with_prediction(p: float, threshold: float) -> None:
    result = assess(p, threshold)
    if result.prediction == 0:
        assert result.risk_level in ("Baixo", "Médio")
        assert result.probability == pytest.approx(1 - p)
    else:
        assert result.risk_level in ("Alto", "Crítico")
        assert result.probability == pytest.approx(p)


@given(probabilities)
def test_confidence_is_at_least_half_with_a_symmetric_threshold(p: float) -> None:
    assert assess(p, 0.5).probability >= 0.5


@given(st.lists(probabilities, min_size=1, max_size=50), thresholds)
def test_vectorised_assessment_equals_single(ps: list[float], threshold: float) -> None:
    many = assess_many(np.array(ps), threshold)
    for i, p in enumerate(ps):
        one = assess(p, threshold)
        assert many["prediction"][i] == one.prediction
        assert many["risk_level"][i] == one.risk_level
        assert many["recommendation"][i] == one.recommendation
        assert many["probability"][i] == pytest.approx(one.probability)


def test_spec_example_normal_reading_texts() -> None:
    # the spec: prediction 0, probability 0.92, Baixo, "Operação normal. Continuar monitoramento."
    result = assess(0.08, threshold=0.5)
    assert (result.prediction, result.risk_level) == (0, "Baixo")
    assert result.probability == pytest.approx(0.92)
    assert result.recommendation == "Operação normal. Continuar monitoramento."


def test_levels_split_each_side_of_the_threshold() -> None:
    t = 0.4
    assert risk_level(0.19, t) == "Baixo"
    assert risk_level(0.21, t) == "Médio"
    assert risk_level(0.41, t) == "Alto"
    assert risk_level(0.71, t) == "Crítico"


def test_failure_recommendations_say_stop_for_inspection() -> None:
    for level in ("Alto", "Crítico"):
        assert "inspeção imediata" in RECOMMENDATIONS["pt"][level]
        assert "inspection" in RECOMMENDATIONS["en"][level]
    assert assess(0.9, 0.5, "en").recommendation.startswith("Failure")
