"""The Open Inference Protocol routes in process: tensors in (JSON flat or nested, binary), the
answers of ``/predict/batch`` out, and a 400 ``{"error"}`` naming the element and the rule.

Binary bodies are built and read by Triton's own client library (``tritonclient.http``'s
``generate_request_body`` and ``parse_response_body``), so the byte layout is the client's, not
ours. The same routes over real HTTP with the client's network calls:
``tests/integration/test_api_oip.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.http as triton

from predmaint.api.oip import INPUT_NAME, OUTPUT_NAMES
from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.models.compiled import probe_readings
from tests.support.asgi import asgi_request

MODEL = "predmaint-failure-classifier"
INFER = f"/v2/models/{MODEL}/infer"
READINGS = probe_readings(40, seed=5)
#: Breaks the overstrain rule by far: predicted a failure by any reasonable model.
OVERSTRAIN = [300.0, 310.0, 1350.0, 65.0, 230.0]


def tensor_request(data: Any, shape: list[int] | None = None, **extra: Any) -> dict[str, Any]:
    rows = len(data) if data and isinstance(data[0], list) else len(data) // 5
    tensor = {"name": INPUT_NAME, "datatype": "FP64", "shape": shape or [rows, 5], "data": data}
    return {"inputs": [tensor], **extra}


def post(app: object, body: dict[str, Any] | bytes, **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return asgi_request(app, "POST", INFER, content, headers)


@pytest.fixture
def app(app_factory: Callable[..., object]) -> object:
    return app_factory()


def test_infer_answers_as_the_batch_route(app: object) -> None:
    # given readings, one of them a clear overstrain failure
    sensors = np.vstack([READINGS, OVERSTRAIN])
    # when scored as a tensor (nested rows) and as a /predict/batch request
    response = post(app, tensor_request(sensors.tolist(), id="req-42"))
    readings = [dict(zip(SENSOR_COLUMNS, row, strict=True)) for row in sensors.tolist()]
    batch = asgi_request(
        app,
        "POST",
        "/predict/batch",
        json.dumps({"readings": readings}).encode(),
        {"Content-Type": "application/json"},
    ).json()["predictions"]
    # then every output has one value per reading, equal to the batch route's answer
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["model_name"], body["model_version"]) == ("req-42", MODEL, "7")
    outputs = {o["name"]: o for o in body["outputs"]}
    assert list(outputs) == list(OUTPUT_NAMES), "all outputs, in metadata order, when none named"
    for name, output in outputs.items():
        assert output["shape"] == [len(sensors)], name
    for field in ("failure_probability", "prediction", "risk_level"):
        assert outputs[field]["data"] == [answer[field] for answer in batch], field
    assert outputs["prediction"]["data"][-1] == 1, "the overstrain reading is a failure"
    # the batch answer's failure_mode (null or absent: "", a BYTES tensor has no null)
    modes = [answer.get("failure_mode") or "" for answer in batch]
    assert outputs["failure_mode"]["data"] == modes
    ids = outputs["prediction_id"]["data"]
    assert len(set(ids)) == len(ids) and all(len(i) == 26 for i in ids), ids
    assert not set(ids) & {answer["prediction_id"] for answer in batch}, "each answer its own id"


def test_flat_and_nested_data_are_the_same_tensor(app: object) -> None:
    nested = post(app, tensor_request(READINGS[:3].tolist())).json()
    flat = post(app, tensor_request(READINGS[:3].ravel().tolist())).json()
    assert nested["outputs"][0] == flat["outputs"][0], "same failure probabilities"


def test_binary_tensors_both_ways_with_the_triton_client(app: object) -> None:
    # given the client's own binary request body: FP64 input as raw bytes, two outputs binary
    sensors = np.vstack([READINGS[:5], OVERSTRAIN])
    tensor = triton.InferInput(INPUT_NAME, list(sensors.shape), "FP64")
    tensor.set_data_from_numpy(sensors, binary_data=True)
    wanted = [
        triton.InferRequestedOutput("prediction", binary_data=True),
        triton.InferRequestedOutput("risk_level", binary_data=True),
        triton.InferRequestedOutput("failure_probability", binary_data=False),
    ]
    body, json_size = triton.InferenceServerClient.generate_request_body(
        [tensor], outputs=wanted, request_id="b-1"
    )
    # when posted as the client posts it (no Content-Type)
    response = post(app, body, **{"Inference-Header-Content-Length": str(json_size)})
    # then the answer is JSON followed by binary data, which the client decodes
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    length = int(response.headers["inference-header-content-length"])
    result = triton.InferenceServerClient.parse_response_body(
        response.content, header_length=length
    )
    assert [o["name"] for o in result.get_response()["outputs"]] == [w.name() for w in wanted]
    json_answer = post(app, tensor_request(sensors.tolist())).json()["outputs"]
    expected = {o["name"]: o["data"] for o in json_answer}
    assert result.as_numpy("prediction").tolist() == expected["prediction"]
    assert result.as_numpy("prediction").dtype == np.int64
    levels = [level.decode() for level in result.as_numpy("risk_level").tolist()]
    assert levels == expected["risk_level"], "BYTES: 4-byte length + UTF-8 (Médio, Crítico)"
    assert result.as_numpy("failure_probability").tolist() == expected["failure_probability"]


def test_binary_data_output_applies_to_every_output(app: object) -> None:
    body = tensor_request(READINGS[:2].tolist(), parameters={"binary_data_output": True})
    response = post(app, body)
    length = int(response.headers["inference-header-content-length"])
    head = json.loads(response.content[:length])
    assert all("data" not in o and o["parameters"]["binary_data_size"] > 0 for o in head["outputs"])
    result = triton.InferenceServerClient.parse_response_body(
        response.content, header_length=length
    )
    assert len(result.as_numpy("prediction_id")) == 2


def test_a_named_version_must_be_the_served_one(app: object) -> None:
    body = json.dumps(tensor_request(READINGS[:1].tolist())).encode()
    served = asgi_request(app, "POST", f"/v2/models/{MODEL}/versions/7/infer", body)
    assert served.status_code == 200, served.text
    other = asgi_request(app, "POST", f"/v2/models/{MODEL}/versions/6/infer", body)
    assert other.status_code == 404, other.text
    assert "serves version 7" in other.json()["error"], other.text
    unknown = asgi_request(app, "POST", "/v2/models/other/infer", body)
    assert unknown.status_code == 404 and MODEL in unknown.json()["error"], unknown.text


def test_probes_and_metadata(app: object) -> None:
    def get(path: str) -> httpx.Response:
        return asgi_request(app, "GET", path)

    assert get("/v2").json()["extensions"] == ["binary_tensor_data"]
    assert get("/v2/health/live").json() == {"live": True}
    assert get("/v2/health/ready").json() == {"ready": True}
    assert get(f"/v2/models/{MODEL}/ready").json() == {"name": MODEL, "ready": True}
    assert get(f"/v2/models/{MODEL}/versions/7/ready").status_code == 200
    assert get(f"/v2/models/{MODEL}/versions/8/ready").status_code == 404
    metadata = get(f"/v2/models/{MODEL}/versions/7").json()
    assert metadata["versions"] == ["7"] and metadata["platform"] == "onnxruntime_onnx"
    assert metadata["inputs"] == [{"name": INPUT_NAME, "datatype": "FP64", "shape": [-1, 5]}]
    assert [(o["name"], o["datatype"]) for o in metadata["outputs"]] == [
        ("failure_probability", "FP64"),
        ("prediction", "INT64"),
        ("risk_level", "BYTES"),
        ("failure_mode", "BYTES"),
        ("prediction_id", "BYTES"),
    ]


ROW = READINGS[0].tolist()
BAD_REQUESTS: dict[str, tuple[Any, list[str]]] = {
    "not JSON": (b"{inputs", ["not valid JSON"]),
    "no inputs": ({"id": "x"}, ["inputs", "required"]),
    "id not a string": (tensor_request([ROW], id=5), ["id", "string"]),
    "two inputs": ({"inputs": [tensor_request([ROW])["inputs"][0]] * 2}, ["exactly one"]),
    "wrong name": (
        {"inputs": [dict(tensor_request([ROW])["inputs"][0], name="x")]},
        ["inputs[0].name", INPUT_NAME],
    ),
    "FP32": (
        {"inputs": [dict(tensor_request([ROW])["inputs"][0], datatype="FP32")]},
        ["inputs[0].datatype must be FP64", "FP32"],
    ),
    "four columns": (tensor_request([ROW[:4]], shape=[1, 4]), ["inputs[0].shape", "[N, 5]"]),
    "shape says 2 rows": (tensor_request([ROW], shape=[2, 5]), ["1 rows", "says 2"]),
    "flat data too short": (tensor_request(ROW[:4], shape=[1, 5]), ["4 values", "needs 5"]),
    "a row of four": (tensor_request([ROW, ROW[:4]]), ["inputs[0].data[1] has 4 values"]),
    "zero readings": (tensor_request([], shape=[0, 5]), ["N must be 1 to"]),
    "over the batch cap": (tensor_request([ROW], shape=[1001, 5]), ["1 to 1,000", "1,001"]),
    "a string": (
        tensor_request([[*ROW[:3], "42.8", ROW[4]]]),
        ["sensor_readings[0, 3] (torque) must be a JSON number"],
    ),
    "a boolean": (tensor_request([[True, *ROW[1:]]]), ["[0, 0] (air_temperature)", "number"]),
    "negative torque": (
        tensor_request([ROW, [*ROW[:3], -1.5, ROW[4]]]),
        ["sensor_readings[1, 3] (torque) cannot be negative", "physically impossible"],
    ),
    "a temperature in °C": (
        tensor_request([[25.0, *ROW[1:]]]),
        ["[0, 0] (air_temperature)", "[250, 350] K", "°C"],
    ),
    "no data": (
        {"inputs": [{k: v for k, v in tensor_request([ROW])["inputs"][0].items() if k != "data"}]},
        ["inputs[0].data is required"],
    ),
    "unknown output": (
        tensor_request([ROW], outputs=[{"name": "torque"}]),
        ["outputs[0].name", "choose from"],
    ),
    "binary_data not a flag": (
        tensor_request(
            [ROW], outputs=[{"name": "prediction", "parameters": {"binary_data": "yes"}}]
        ),
        ["binary_data must be true or false"],
    ),
    "shared memory": (
        tensor_request(
            [ROW], outputs=[{"name": "prediction", "parameters": {"shared_memory_region": "r"}}]
        ),
        ["shared_memory_region", "does not implement"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_a_bad_request_is_a_400_naming_what_and_why(app: object, case: str) -> None:
    body, words = BAD_REQUESTS[case]
    response = post(app, body)
    assert response.status_code == 400, (case, response.text)
    assert set(response.json()) == {"error"}, response.text
    for word in words:
        assert word in response.json()["error"], (case, word, response.json())


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_values_are_refused(app: object, literal: str) -> None:
    body = json.dumps(tensor_request([ROW, ROW])).replace(str(ROW[2]), literal, 1)
    response = post(app, body.encode())
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert "(rotational_speed) must be a finite number" in error, error


def test_many_bad_elements_are_listed_then_counted(app: object) -> None:
    response = post(app, tensor_request([[*ROW[:3], -1.0, ROW[4]]] * 20))
    error = response.json()["error"]
    assert error.count("cannot be negative") == 5 and error.endswith("and 15 more"), error


@pytest.mark.parametrize(
    ("case", "binary", "words"),
    [
        ("not a length", b"", "Inference-Header-Content-Length must be"),
        ("past the body", b"", "Inference-Header-Content-Length must be"),
        ("data and bytes", b"\x00" * 40, "40 bytes follow the JSON"),
        ("no header", b"\x00" * 40, "needs Inference-Header-Content-Length"),
        ("bytes too short", b"\x00" * 39, "the binary data after the JSON is 39 bytes"),
        ("wrong size", b"\x00" * 40, "binary_data_size must be 40"),
    ],
)
def test_binary_framing_errors(app: object, case: str, binary: bytes, words: str) -> None:
    tensor: dict[str, Any] = {"name": INPUT_NAME, "datatype": "FP64", "shape": [1, 5]}
    if case == "data and bytes":
        tensor["data"] = ROW
    else:
        tensor["parameters"] = {"binary_data_size": 41 if case == "wrong size" else 40}
    head = json.dumps({"inputs": [tensor]}).encode()
    length = {"not a length": "abc", "past the body": str(len(head) + 1)}.get(case, str(len(head)))
    headers = {} if case == "no header" else {"Inference-Header-Content-Length": length}
    response = post(app, head + binary, **headers)
    assert response.status_code == 400, response.text
    assert words in response.json()["error"], response.text


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        (None, 200),
        ("application/json", 200),
        ("application/octet-stream", 200),
        ("text/plain", 415),
    ],
)
def test_infer_content_types(app: object, content_type: str | None, expected: int) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = post(app, tensor_request([ROW]), **headers)
    assert response.status_code == expected, response.text
    if expected == 415:
        assert "application/octet-stream" in response.json()["error"], response.text


def test_a_compressed_body_is_refused(app: object) -> None:
    response = post(app, tensor_request([ROW]), **{"Content-Encoding": "gzip"})
    assert response.status_code == 400 and "uncompressed" in response.json()["error"]
