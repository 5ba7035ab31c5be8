"""/predict's answer writer applies the spec's risk rules exactly as ``assess`` does, a failure on
the fast path is the same counted 500 as on the route, and /predict/batch, which writes its
JSON directly, sends the bytes json.dumps wrote for its Prediction models."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest

from predmaint.api.deps import get_model
from predmaint.api.holder import ServedModel
from predmaint.api.metrics import ApiMetrics
from predmaint.api.recording import AnswerRecorder
from predmaint.api.schemas import SPEC_EXAMPLE, DiagnosisItem, Prediction
from predmaint.api.single import SingleAnswers
from predmaint.inference.diagnosis import diagnose
from predmaint.inference.risk import assess
from tests.support.asgi import asgi_request
from tests.support.project import make_settings

NORMAL = tuple(float(v) for v in SPEC_EXAMPLE.values())


@pytest.mark.parametrize("language", ["pt", "en"])
def test_risk_fields_are_those_of_assess_at_and_around_every_boundary(
    served: ServedModel, tmp_path: Path, language: str
) -> None:
    settings = make_settings(tmp_path, language=language, api_record_answers=False)
    single = SingleAnswers(settings, ApiMetrics(), AnswerRecorder(settings))
    t = served.threshold
    probabilities = [0.0, 1.0, 0.5, 0.08]
    for edge in (t / 2.0, t, (1.0 + t) / 2.0):  # Baixo|Médio, Médio|Alto, Alto|Crítico
        probabilities += [math.nextafter(edge, 0.0), edge, math.nextafter(edge, 1.0)]
    for p in probabilities:
        answer = json.loads(single.answer(p, NORMAL, served))
        expected = assess(p, t, language)  # type: ignore[arg-type]
        got = {k: answer[k] for k in ("prediction", "probability", "failure_probability")}
        assert got == {
            "prediction": expected.prediction,
            "probability": expected.probability,
            "failure_probability": expected.failure_probability,
        }, p
        assert answer["risk_level"] == expected.risk_level, p
        assert answer["recommendation"].startswith(expected.recommendation), p


def test_a_failure_on_the_fast_path_is_a_counted_500_as_on_the_route(
    app_factory: Callable[..., object], served: ServedModel
) -> None:
    # given a served version whose mode model is broken, and a reading predicted to fail
    broken = dataclasses.replace(served, modes=object(), threshold=0.0)  # type: ignore[arg-type]
    body = json.dumps(SPEC_EXAMPLE).encode()
    headers = {"Content-Type": "application/json"}
    for route_answers in (False, True):
        app = app_factory()
        app.state.holder.current = broken  # type: ignore[attr-defined]
        if route_answers:  # a dependency override makes the fast path step aside
            app.dependency_overrides[get_model] = lambda: broken  # type: ignore[attr-defined]
        # then the error escapes to the server (which logs it) after the 500 was sent
        with pytest.raises(AttributeError):
            asgi_request(app, "POST", "/predict", body, headers)
        series = app.state.metrics.series  # type: ignore[attr-defined]
        assert series[("/predict", "POST", 500)].count == 1, (route_answers, series)


def test_batch_body_is_what_json_dumps_wrote_for_the_prediction_models(
    app_factory: Callable[..., object],
) -> None:
    # given a batch of a normal reading and one breaking OSF (a failure with its mode)
    readings = [SPEC_EXAMPLE, dict(SPEC_EXAMPLE, rotational_speed=1350, torque=65.0, tool_wear=230)]
    body = json.dumps({"readings": readings}).encode()
    response = asgi_request(
        app_factory(), "POST", "/predict/batch", body, {"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    # then the bytes are those of the first formulation: each answer a Prediction dict with
    # the diagnosis parsed into entries (diagnose), dumped by json.dumps
    sent = response.json()
    expected = {
        "predictions": [
            Prediction.model_construct(
                **{k: v for k, v in answer.items() if k != "diagnosis"},
                diagnosis=[
                    DiagnosisItem.model_construct(**entry.to_dict())
                    for entry in diagnose(tuple(float(v) for v in reading.values()))
                ],
            ).model_dump()
            for answer, reading in zip(sent["predictions"], readings, strict=True)
        ],
        "count": 2,
        "model_version": "7",
    }
    plain = json.dumps(expected, ensure_ascii=False, separators=(",", ":")).encode()
    assert response.content == plain
    assert [a["prediction"] for a in sent["predictions"]] == [0, 1]
    assert sent["predictions"][1]["failure_mode"] is not None
