"""The Open Inference Protocol over real HTTP, called by Triton's client (``tritonclient[http]``).

`predmaint serve` (uvicorn) on 127.0.0.1 with the session's champion and an API key: what a
plant running KServe, Seldon or Triton clients would do, unchanged. Probes and metadata need no
key (like ``/health``); ``infer`` does (like ``/predict``), its answers are those of
``/predict/batch``, recorded in ``served/`` with their prediction ids, which ``/feedback`` takes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from predmaint.api.oip import INPUT_NAME, OUTPUT_NAMES
from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.models.compiled import probe_readings
from predmaint.models.versions import champion_info
from predmaint.settings import Settings
from tests.support.recording_api import KEY, RecordingApi, served_answers
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow
MODEL = "predmaint-failure-classifier"
#: Break a documented AI4I failure rule by a wide margin (overstrain; power above 9,000 W).
FAILURES = np.array([[300.0, 310.0, 1350, 65.0, 230], [300.0, 310.0, 1250, 76.0, 50]])


@pytest.fixture(scope="module")
def data_dir(recording_api: RecordingApi) -> Path:
    return recording_api.data_dir


@pytest.fixture(scope="module")
def url(recording_api: RecordingApi) -> str:
    return recording_api.url


@pytest.fixture(scope="module")
def client(url: str) -> Iterator[triton.InferenceServerClient]:
    parts = urlsplit(url)
    with triton.InferenceServerClient(f"{parts.hostname}:{parts.port}") as oip:
        yield oip


def infer(
    client: triton.InferenceServerClient, sensors: np.ndarray, binary: bool = True, **kwargs: object
) -> triton.InferResult:
    tensor = triton.InferInput(INPUT_NAME, list(sensors.shape), "FP64")
    tensor.set_data_from_numpy(sensors.astype(np.float64), binary_data=binary)
    # a copy: the client adds its own headers to the dict it is given
    return client.infer(MODEL, [tensor], headers=dict(KEY), **kwargs)


def test_probes_and_metadata_answer_without_a_key(
    client: triton.InferenceServerClient, trained_home: Settings
) -> None:
    version = champion_info(trained_home).version
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready(MODEL) and client.is_model_ready(MODEL, version)
    assert not client.is_model_ready(MODEL, "999") and not client.is_model_ready("other")
    assert "binary_tensor_data" in client.get_server_metadata()["extensions"]
    metadata = client.get_model_metadata(MODEL)
    assert metadata == client.get_model_metadata(MODEL, version)
    assert (metadata["name"], metadata["versions"]) == (MODEL, [version])
    assert metadata["inputs"] == [{"name": INPUT_NAME, "datatype": "FP64", "shape": [-1, 5]}]
    datatypes = {o["name"]: o["datatype"] for o in metadata["outputs"]}
    assert datatypes == {
        "failure_probability": "FP64",
        "prediction": "INT64",
        "risk_level": "BYTES",
        "failure_mode": "BYTES",
        "prediction_id": "BYTES",
    }


def test_infer_answers_as_predict_batch(
    client: triton.InferenceServerClient, url: str, trained_home: Settings
) -> None:
    # given plausible readings and two clear failures
    sensors = np.vstack([probe_readings(100, seed=11), FAILURES])
    # when the client sends them as it does by default (binary tensors both ways), with an id
    result = infer(client, sensors, request_id="plant-7/line-2")
    # then the id is echoed, the champion answered, and each output has one value per reading
    response = result.get_response()
    assert response["id"] == "plant-7/line-2"
    assert response["model_version"] == champion_info(trained_home).version
    assert [o["name"] for o in response["outputs"]] == list(OUTPUT_NAMES)
    # equal to the /predict/batch answers for the same readings
    readings = [dict(zip(SENSOR_COLUMNS, row, strict=True)) for row in sensors.tolist()]
    batch = httpx.post(
        f"{url}/predict/batch", json={"readings": readings}, headers=KEY, timeout=30
    ).json()["predictions"]
    probability = result.as_numpy("failure_probability")
    assert probability.dtype == np.float64 and probability.shape == (len(sensors),)
    assert probability.tolist() == pytest.approx([a["failure_probability"] for a in batch])
    assert result.as_numpy("prediction").tolist() == [a["prediction"] for a in batch]
    levels = [level.decode() for level in result.as_numpy("risk_level").tolist()]
    assert levels == [a["risk_level"] for a in batch]
    assert result.as_numpy("prediction").tolist()[-2:] == [1, 1], "the clear failures"
    ids = [i.decode() for i in result.as_numpy("prediction_id").tolist()]
    assert len(set(ids)) == len(ids) and all(len(i) == 26 for i in ids)
    modes = [mode.decode() for mode in result.as_numpy("failure_mode").tolist()]
    assert modes == [a.get("failure_mode") or "" for a in batch], "null or absent: empty"


def test_json_tensors_and_a_subset_of_outputs(client: triton.InferenceServerClient) -> None:
    sensors = np.vstack([probe_readings(5, seed=2), FAILURES])
    wanted = [
        triton.InferRequestedOutput(n, binary_data=False) for n in ("risk_level", "prediction")
    ]
    result = infer(client, sensors, binary=False, outputs=wanted)
    outputs = result.get_response()["outputs"]
    assert [o["name"] for o in outputs] == ["risk_level", "prediction"]
    assert all("data" in o for o in outputs), "JSON data when binary_data is false"
    assert result.as_numpy("prediction").tolist()[-2:] == [1, 1]
    assert set(result.as_numpy("risk_level").tolist()[-2:]) <= {"Alto", "Crítico"}
    assert result.as_numpy("failure_probability") is None, "not asked for"


def test_infer_answers_are_recorded_and_take_feedback(
    client: triton.InferenceServerClient, url: str, data_dir: Path
) -> None:
    result = infer(client, FAILURES)
    ids = [i.decode() for i in result.as_numpy("prediction_id").tolist()]
    wait_for(
        "the OIP answers in served/",
        lambda: set(ids) <= set(served_answers(data_dir).get("prediction_id", [])),
        timeout=20,
        interval=0.2,
    )
    row = served_answers(data_dir).set_index("prediction_id").loc[ids[0]]
    assert row["torque"] == FAILURES[0][3] and row["prediction"] == 1
    outcome = {"prediction_id": ids[0], "outcome": "failure"}
    answer = httpx.post(f"{url}/feedback", json=outcome, headers=KEY, timeout=30).json()
    assert (answer["recorded"], answer["quarantined"]) == (1, 0), answer


@pytest.mark.parametrize(
    ("case", "status", "words"),
    [
        ("no key", "401", "API key"),
        ("FP32", "400", "inputs[0].datatype must be FP64"),
        ("negative torque", "400", "sensor_readings[0, 3] (torque) cannot be negative"),
        ("another version", "404", "is not served here"),
        ("over the batch cap", "400", "1 to 1,000 readings"),
    ],
)
def test_errors_reach_the_client_as_messages(
    client: triton.InferenceServerClient, case: str, status: str, words: str
) -> None:
    sensors = probe_readings(1, seed=4).astype(np.float64)
    datatype, headers, version = "FP64", dict(KEY), ""
    if case == "no key":
        headers = {}
    elif case == "FP32":
        datatype, sensors = "FP32", sensors.astype(np.float32)
    elif case == "negative torque":
        sensors[0, 3] = -1.0
    elif case == "another version":
        version = "999"
    elif case == "over the batch cap":
        sensors = np.repeat(sensors, 1001, axis=0)
    tensor = triton.InferInput(INPUT_NAME, list(sensors.shape), datatype)
    tensor.set_data_from_numpy(sensors)
    with pytest.raises(InferenceServerException) as raised:
        client.infer(MODEL, [tensor], model_version=version, headers=headers)
    assert raised.value.status() == status, raised.value
    assert words in raised.value.message(), raised.value
