"""The API over real HTTP: `predmaint serve` (uvicorn) on 127.0.0.1 with the session's champion.

Contract of the spec's curl example, behaviour on documented failure mechanisms, validation
answers, the operational routes, the API key and the missing-model case.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from bench.common import predmaint_server

from predmaint.api.schemas import SPEC_EXAMPLE
from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.inference.risk import RECOMMENDATIONS
from predmaint.models.compiled import probe_readings
from predmaint.models.versions import champion_info
from predmaint.settings import Settings

pytestmark = pytest.mark.slow

#: Readings that break a documented AI4I failure rule by a wide margin.
CLEAR_FAILURES = {
    "overstrain (wear x torque far above 11,000 min·Nm)": (300.0, 310.0, 1350, 65.0, 230),
    "power failure (about 10 kW, above 9,000 W)": (300.0, 310.0, 1250, 76.0, 50),
    "power failure (about 1.5 kW, below 3,500 W)": (300.0, 310.0, 2800, 5.0, 50),
}


@pytest.fixture(scope="module")
def api(trained_home: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    log = tmp_path_factory.mktemp("api") / "server.log"
    with (
        predmaint_server(trained_home.home, log=log) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        yield client


def reading(*values: float) -> dict[str, float]:
    return dict(zip(SENSOR_COLUMNS, values, strict=True))


def test_spec_curl_example(api: httpx.Client, trained_home: Settings) -> None:
    # when the spec's exact curl request is sent
    response = api.post("/predict", json=SPEC_EXAMPLE, headers={"Content-Type": "application/json"})
    # then the spec's fields come back, with the meaning the OpenAPI description gives them
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body)[:4] == ["prediction", "probability", "risk_level", "recommendation"], body
    assert body["prediction"] == 0, "a normal reading of the spec's example"
    assert body["risk_level"] in {"Baixo", "Médio"}, body
    assert body["recommendation"] == RECOMMENDATIONS["pt"][body["risk_level"]], body
    assert body["probability"] == pytest.approx(1.0 - body["failure_probability"]), body
    assert body["model_version"] == champion_info(trained_home).version


@pytest.mark.parametrize("case", sorted(CLEAR_FAILURES))
def test_clear_failures_are_predicted_with_high_risk(api: httpx.Client, case: str) -> None:
    body = api.post("/predict", json=reading(*CLEAR_FAILURES[case])).json()
    assert body["prediction"] == 1, (case, body)
    assert body["risk_level"] in {"Alto", "Crítico"}, (case, body)
    assert body["probability"] == pytest.approx(body["failure_probability"]), body


def test_a_reading_breaking_the_osf_rule_is_diagnosed_osf(api: httpx.Client) -> None:
    # given a reading whose tool wear × torque (195 min × 62 Nm = 12,090 min·Nm) breaks the
    # documented overstrain rule of type L machines (11,000 min·Nm), and no other rule: power
    # 8.4 kW, temperature difference 10 K, tool wear before the 200-240 min window
    body = api.post("/predict", json=reading(300.0, 310.0, 1300.0, 62.0, 195.0)).json()
    # then the answer is a failure of mode OSF, with the rule's figures and the mode's action
    assert body["prediction"] == 1, body
    assert body["failure_mode"] == "OSF", body
    assert 0.5 < body["failure_mode_probability"] <= 1.0, body
    entries = {entry["quantity"]: entry for entry in body["diagnosis"]}
    osf = entries["overstrain"]
    assert osf["mode"] == "OSF" and osf["unit"] == "min·Nm", osf
    assert osf["value"] == pytest.approx(12090.0) and osf["limit"] == 11000.0, osf
    assert osf["utilisation"] == pytest.approx(12090 / 11000, abs=1e-4), osf
    assert "regra violada" in osf["message"], osf
    for quantity in ("temp_difference", "power", "tool_wear"):
        assert entries[quantity]["utilisation"] < 1, entries[quantity]
    assert "reduzir a carga ou trocar a ferramenta" in body["recommendation"], body
    assert list(body)[:4] == ["prediction", "probability", "risk_level", "recommendation"]


def test_a_normal_answer_has_no_mode_and_a_diagnosis(api: httpx.Client) -> None:
    body = api.post("/predict", json=SPEC_EXAMPLE).json()
    assert body["failure_mode"] is None and body["failure_mode_probability"] is None, body
    assert [e["mode"] for e in body["diagnosis"]] == ["HDF", "HDF", "PWF", "OSF", "TWF"], body
    assert all(0 <= e["utilisation"] < 1 for e in body["diagnosis"]), body


def test_batch_matches_single_answers_and_risk_rules(api: httpx.Client) -> None:
    # given plausible readings, some of them clear failures
    readings = [reading(*row) for row in probe_readings(200, seed=3).tolist()]
    readings += [reading(*values) for values in CLEAR_FAILURES.values()]
    # when scored in one batch
    response = api.post("/predict/batch", json={"readings": readings})
    assert response.status_code == 200, response.text
    answers = response.json()["predictions"]
    assert response.json()["count"] == len(readings) == len(answers)
    # then each answer is the single-reading answer (but for its own prediction id), and the
    # level agrees with the prediction
    assert len({a["prediction_id"] for a in answers}) == len(answers)
    for index in (0, 17, 99, len(readings) - 1):
        single = api.post("/predict", json=readings[index]).json()
        assert single.pop("prediction_id") != answers[index]["prediction_id"]
        batch = {k: v for k, v in answers[index].items() if k != "prediction_id"}
        assert batch.pop("diagnosis") == single.pop("diagnosis"), index
        assert batch == pytest.approx(single), index
    for answer in answers:
        expected = {"Baixo", "Médio"} if answer["prediction"] == 0 else {"Alto", "Crítico"}
        assert answer["risk_level"] in expected, answer
        confidence = (
            answer["failure_probability"]
            if answer["prediction"]
            else 1 - answer["failure_probability"]
        )
        assert answer["probability"] == pytest.approx(confidence), answer
    assert {a["prediction"] for a in answers} == {0, 1}, "both classes occur in this batch"


def test_batch_limit_and_per_reading_validation(api: httpx.Client) -> None:
    limit = Settings(_env_file=None).api_batch_max  # type: ignore[call-arg]
    too_many = api.post("/predict/batch", json={"readings": [SPEC_EXAMPLE] * (limit + 1)})
    assert too_many.status_code == 422 and str(limit) in too_many.text, too_many.text
    bad = dict(SPEC_EXAMPLE, rotational_speed=0)
    response = api.post("/predict/batch", json={"readings": [SPEC_EXAMPLE, bad]})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["field"] == "readings[1].rotational_speed", error
    assert "physically impossible" in error["msg"], error


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({k: v for k, v in SPEC_EXAMPLE.items() if k != "torque"}, "torque", "required"),
        (dict(SPEC_EXAMPLE, torque="42.8"), "torque", "number"),
        (dict(SPEC_EXAMPLE, air_temperature=25.3), "air_temperature", "°C"),
        (dict(SPEC_EXAMPLE, process_temperature=35.0), "process_temperature", "kelvin"),
        (dict(SPEC_EXAMPLE, rotational_speed=0), "rotational_speed", "physically impossible"),
        (dict(SPEC_EXAMPLE, rotational_speed=-10), "rotational_speed", "physically impossible"),
        (dict(SPEC_EXAMPLE, torque=-1.5), "torque", "negative"),
        (dict(SPEC_EXAMPLE, tool_wear=-2), "tool_wear", "negative"),
        (dict(SPEC_EXAMPLE, tool_wear=9999), "tool_wear", "[0, 400] min"),
    ],
)
def test_validation_names_field_and_rule(
    api: httpx.Client, body: dict[str, object], field: str, words: str
) -> None:
    response = api.post("/predict", json=body)
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["field"] == field, error
    assert words in error["msg"] or words in error["rule"], error
    assert field in response.json()["message"], response.json()


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(api: httpx.Client, literal: str) -> None:
    raw = json.dumps(SPEC_EXAMPLE).replace("42.8", literal)
    response = api.post("/predict", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert "finite" in response.json()["detail"][0]["msg"], response.text


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"air_temperature": 298.5,', "application/json"),
        (b"", "application/json"),
        (b"\xff\xfe\x00garbage", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b"air_temperature=298.5", "application/x-www-form-urlencoded"),
        (json.dumps(SPEC_EXAMPLE).encode(), "text/plain"),
    ],
)
@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_malformed_requests_get_4xx_never_5xx(
    api: httpx.Client, path: str, content: bytes, content_type: str
) -> None:
    response = api.post(path, content=content, headers={"Content-Type": content_type})
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    response.json()  # an error answer is JSON too


def test_health_ready_model(api: httpx.Client, trained_home: Settings) -> None:
    assert api.get("/health").json() == {"status": "ok"}
    ready = api.get("/ready")
    info = champion_info(trained_home)
    assert ready.status_code == 200, ready.text
    assert ready.json()["model_version"] == info.version
    assert ready.json()["registry"] == "reachable", ready.json()
    model = api.get("/model").json()
    assert (model["name"], model["alias"], model["version"]) == (
        info.name,
        "champion",
        info.version,
    )
    assert model["run_id"] == info.run_id and model["threshold"] == pytest.approx(info.threshold)
    assert model["metrics"]["f1"] == pytest.approx(info.metrics["f1"]), model
    assert model["runtime"] == "onnxruntime", model["runtime_detail"]


def _sample(text: str, name: str, default: float | None = None, **labels: str) -> float:
    """Value of one Prometheus sample whose labels include ``labels``.

    A labelled counter appears only once it is first counted: ``default`` stands for it before then.
    """
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line))
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    if default is not None:
        return default
    raise AssertionError(f"no sample {name}{labels} in /metrics")


def test_metrics_count_routes_statuses_predictions_and_version(
    api: httpx.Client, trained_home: Settings
) -> None:
    before = api.get("/metrics").text
    ok_before = _sample(
        before, "predmaint_http_requests_total", 0.0, route="/predict", status="200"
    )
    failures_before = _sample(before, "predmaint_predictions_total", 0.0, prediction="1")
    # when two good readings (one failure) and one bad one are sent
    api.post("/predict", json=SPEC_EXAMPLE)
    api.post("/predict", json=reading(*CLEAR_FAILURES[sorted(CLEAR_FAILURES)[0]]))
    api.post("/predict", json=dict(SPEC_EXAMPLE, torque=-1))
    api.get("/no/such/route")
    after = api.get("/metrics")
    # then counts, latencies, classes and the served version are all visible
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text
    assert (
        _sample(text, "predmaint_http_requests_total", route="/predict", status="200")
        == ok_before + 2
    )
    assert _sample(text, "predmaint_http_requests_total", route="/predict", status="422") >= 1
    assert _sample(text, "predmaint_http_requests_total", route="unmatched", status="404") >= 1
    assert _sample(text, "predmaint_predictions_total", prediction="1") == failures_before + 1
    assert (
        _sample(
            text, "predmaint_http_request_duration_seconds_count", route="/predict", status="200"
        )
        >= 2
    )
    version = champion_info(trained_home).version
    assert _sample(text, "predmaint_model_info", version=version, runtime="onnxruntime") == 1
    assert _sample(text, "predmaint_registry_up") == 1


def test_openapi_documents_probability_and_offline_docs(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()
    predict = spec["paths"]["/predict"]["post"]
    assert "predicted class" in predict["description"], predict["description"]
    schema = spec["components"]["schemas"]["SensorReading"]
    assert schema["properties"]["air_temperature"]["minimum"] == 250
    html = api.get("/docs").text
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls and all(u.startswith("/static/") for u in urls), urls
    for url in urls:
        asset = api.get(url)
        assert asset.status_code == 200 and len(asset.content) > 500, url
    assert "http://" not in html and "https://" not in html, "nothing fetched from outside"


def test_api_key_guards_predict_and_model(trained_home: Settings, tmp_path: Path) -> None:
    with (
        predmaint_server(trained_home.home, log=tmp_path / "key.log", api_key="s3cret") as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        for path, body in (
            ("/predict", SPEC_EXAMPLE),
            ("/predict/batch", {"readings": [SPEC_EXAMPLE]}),
        ):
            assert client.post(path, json=body).status_code == 401
            wrong = client.post(path, json=body, headers={"X-API-Key": "nope"})
            assert wrong.status_code == 401 and "X-API-Key" in wrong.json()["detail"]
            assert client.post(path, json=body, headers={"X-API-Key": "s3cret"}).status_code == 200
        assert client.get("/model").status_code == 401
        assert client.get("/model", headers={"X-API-Key": "s3cret"}).status_code == 200
        assert client.get("/health").status_code == 200, "liveness needs no key"
        assert client.get("/ready").status_code == 200
        spec = client.get("/openapi.json").json()
        assert "APIKeyHeader" in spec["components"]["securitySchemes"], "Swagger offers Authorize"


def test_no_champion_means_503_that_says_how_to_train(tmp_path: Path) -> None:
    with (
        predmaint_server(tmp_path / "empty-home", log=tmp_path / "empty.log") as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        assert client.get("/health").status_code == 200
        for response in (
            client.get("/ready"),
            client.post("/predict", json=SPEC_EXAMPLE),
            client.get("/model"),
        ):
            assert response.status_code == 503, response.text
            assert "predmaint run" in response.json()["detail"], response.text
        assert np.isfinite(_sample(client.get("/metrics").text, "predmaint_registry_up"))
