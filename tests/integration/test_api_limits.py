"""Request limits over real HTTP: `predmaint serve` (uvicorn) on 127.0.0.1, raw sockets as clients.

A body over its route's limit is refused with 413 while it streams in (before it is parsed), a
body not sent as JSON with 415, a body that trickles in with 408 and a closed connection; the
loop stays free meanwhile (``/health`` answers in milliseconds). These hold before any model or
key check, so the server runs on an empty home (no champion) with an API key set.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest
from bench.common import HOST, Client, predmaint_server

from predmaint.api.limits import OUTCOME_BYTES, READING_BYTES, SINGLE_READING_BODY
from predmaint.api.schemas import SPEC_EXAMPLE
from predmaint.monitoring.outcomes import FEEDBACK_MAX
from predmaint.settings import Settings

pytestmark = pytest.mark.slow

KEY = "s3cret"
TIMEOUT_S = 1.0
DEFAULTS = Settings(_env_file=None)  # type: ignore[call-arg]
BATCH_LIMIT = DEFAULTS.api_batch_max * READING_BYTES + SINGLE_READING_BODY
FEEDBACK_LIMIT = FEEDBACK_MAX * OUTCOME_BYTES + SINGLE_READING_BODY
OUTCOME = {"prediction_id": "01JQ8Z6M4T5R2X9V0K3B7N1C8D", "outcome": "failure"}
INFER = "/v2/models/predmaint-failure-classifier/infer"
TENSOR = {
    "inputs": [
        {"name": "sensor_readings", "datatype": "FP64", "shape": [1, 5], "data": [298.5] * 5}
    ]
}


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    home = tmp_path_factory.mktemp("limits")
    with predmaint_server(
        home / "home", log=home / "server.log", api_key=KEY, api_body_timeout_s=str(TIMEOUT_S)
    ) as url:
        yield int(urlsplit(url).port or 0)


def head(path: str, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {HOST}", f"X-API-Key: {KEY}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_answer(sock: socket.socket, timeout: float) -> tuple[int, bytes, bool]:
    """(status, body, closed): one response, and whether the server then closed the connection."""
    sock.settimeout(timeout)
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    assert b"\r\n\r\n" in data, f"no answer within {timeout} s: {data[:200]!r}"
    top, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in top.lower().split(b"\r\n")
        if line.startswith(b"content-length")
    )
    while len(rest) < length:
        rest += sock.recv(65536)
    closed = False
    with contextlib.suppress(ConnectionResetError, TimeoutError):
        sock.settimeout(2.0)
        closed = sock.recv(1) == b""
    return int(top.split()[1]), rest[:length], closed


def chunk(payload: bytes) -> bytes:
    return f"{len(payload):x}\r\n".encode() + payload + b"\r\n"


def test_a_declared_length_over_the_limit_is_refused_before_the_body(port: int) -> None:
    for path, limit in (
        ("/predict", SINGLE_READING_BODY),
        ("/predict/batch", BATCH_LIMIT),
        ("/feedback", FEEDBACK_LIMIT),
        (INFER, BATCH_LIMIT),  # the batch's readings, as a tensor
    ):
        with socket.create_connection((HOST, port)) as sock:
            # when only the headers are sent, announcing one byte more than the route's limit
            sock.sendall(
                head(path, "Content-Type: application/json", f"Content-Length: {limit + 1}")
            )
            # then the 413 comes at once, says the limit, and the connection is closed
            status, body, closed = read_answer(sock, 10)
            assert status == 413, body
            problem = json.loads(body)  # in the shape the route's clients read
            assert f"{limit:,}" in problem["error" if path == INFER else "detail"], body
            assert closed, "the rest of the body is not read"


def stream_chunked(
    port: int, path: str, opening: bytes, piece: bytes, total: int
) -> tuple[threading.Thread, threading.Thread, list[tuple[int, bytes, bool]], list[int]]:
    """Start streaming a chunked body of ``total`` bytes to ``path``, and reading the answer.

    Returns the two started threads, the answer (once read) and the bytes sent so far.
    """
    sock = socket.create_connection((HOST, port))
    sock.sendall(head(path, "Content-Type: application/json", "Transfer-Encoding: chunked"))
    sock.sendall(chunk(opening))
    sent = [0]
    answer: list[tuple[int, bytes, bool]] = []

    def stream() -> None:
        with contextlib.suppress(OSError):  # the server closes the connection on its 413
            while sent[0] < total:
                sock.sendall(chunk(piece))
                sent[0] += len(piece)

    def read() -> None:
        try:
            answer.append(read_answer(sock, 60))
        finally:
            sock.close()

    sender = threading.Thread(target=stream, daemon=True)
    reader = threading.Thread(target=read, daemon=True)
    sender.start()
    reader.start()
    return sender, reader, answer, sent


def test_a_100_mb_body_is_refused_while_it_streams_and_health_stays_fast(port: int) -> None:
    total = 100 * 1024 * 1024
    latencies: list[float] = []
    with contextlib.closing(Client(port)) as health:
        health.request("GET", "/health")
        # given a client streaming a 100 MB batch, chunked (no length announced)
        sender, reader, answer, sent = stream_chunked(
            port,
            "/predict/batch",
            b'{"readings": [',
            (json.dumps(SPEC_EXAMPLE) + ", ").encode() * 2000,
            total,
        )
        # when it is refused, while another client checks the liveness route (until the answer
        # came, and for half a second at least)
        start = time.monotonic()
        while (reader.is_alive() or time.monotonic() - start < 0.5) and len(latencies) < 5000:
            before = time.perf_counter()
            status, _ = health.request("GET", "/health")
            latencies.append(time.perf_counter() - before)
            assert status == 200
    sender.join(30)
    reader.join(30)
    # then the answer is a 413 that came long before the body ended, and /health kept answering
    assert answer and answer[0][0] == 413, answer
    assert sent[0] < total / 4, f"{sent[0]:,} bytes sent before the refusal: the body was read on"
    assert max(latencies) < 0.05, f"/health took up to {max(latencies) * 1e3:.1f} ms"
    assert np.median(latencies) < 0.01, np.median(latencies)


def full_outcome(index: int) -> dict[str, str]:
    """An outcome with every field set and a note of about 400 characters."""
    return OUTCOME | {
        "prediction_id": f"{index:064d}",
        "failure_mode": "HDF",
        "observed_at": "2026-11-25T14:05:00.123456+00:00",
        "note": "fuso parou, dissipação de calor " * 12,
    }


def test_feedback_takes_its_cap_of_outcomes_and_refuses_more_while_it_streams(port: int) -> None:
    # given 10,000 outcomes (the route's cap), every field set, about 5 MB: above the 1 MiB
    # default of routes without a limit of their own
    outcomes = [full_outcome(i) for i in range(FEEDBACK_MAX)]
    body = json.dumps({"outcomes": outcomes}, ensure_ascii=False).encode()
    assert len(body) > DEFAULTS.api_body_max_bytes, len(body)
    # when they are sent, then all reach the route (quarantined there: nobody answered those ids)
    headers = {"X-API-Key": KEY, "Content-Type": "application/json"}
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=120) as client:
        response = client.post("/feedback", content=body, headers=headers)
    assert response.status_code == 200, response.text[:500]
    assert (response.json()["recorded"], response.json()["quarantined"]) == (0, FEEDBACK_MAX)
    # and a body streaming on past the route's limit is refused with 413 as it passes the limit
    total = 4 * FEEDBACK_LIMIT
    piece = b"".join(json.dumps(o, ensure_ascii=False).encode() + b", " for o in outcomes[:100])
    sender, reader, answer, sent = stream_chunked(
        port, "/feedback", b'{"outcomes": [', piece, total
    )
    sender.join(60)
    reader.join(60)
    assert answer and answer[0][0] == 413, answer
    assert f"{FEEDBACK_LIMIT:,}" in json.loads(answer[0][1])["detail"], answer
    assert sent[0] < total / 2, f"{sent[0]:,} bytes sent before the refusal: the body was read on"


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/plain", 415),
        ("application/jsonx", 415),
        ("application/x-www-form-urlencoded", 415),
        (None, 415),
        ("application/json", 503),
        ("Application/JSON; charset=utf-8", 503),
    ],
)
@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_only_json_is_read(port: int, path: str, content_type: str | None, expected: int) -> None:
    # a JSON body under any other name is refused with 415; as JSON it reaches the route
    # (503 here: the home has no champion)
    body = {"readings": [SPEC_EXAMPLE]} if path.endswith("batch") else SPEC_EXAMPLE
    headers = {"X-API-Key": KEY} | ({"Content-Type": content_type} if content_type else {})
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=30) as client:
        response = client.post(path, content=json.dumps(body).encode(), headers=headers)
    assert response.status_code == expected, response.text
    if expected == 415:
        assert "application/json" in response.json()["detail"], response.text


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/plain", 415),
        ("application/x-www-form-urlencoded", 415),
        (None, 503),  # Triton's client sends no Content-Type
        ("application/json", 503),
        ("application/octet-stream", 503),  # JSON then binary tensor data
    ],
)
def test_the_oip_infer_route_also_takes_binary_and_untyped_bodies(
    port: int, content_type: str | None, expected: int
) -> None:
    # past the limits layer the route answers 503 here (no champion), as {"error": ...}
    headers = {"X-API-Key": KEY} | ({"Content-Type": content_type} if content_type else {})
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=30) as client:
        response = client.post(INFER, content=json.dumps(TENSOR).encode(), headers=headers)
    assert response.status_code == expected, response.text
    assert list(response.json()) == ["error"], response.text
    if expected == 415:
        assert "application/octet-stream" in response.json()["error"], response.text


@pytest.mark.parametrize(
    ("content_type", "expected"), [("text/plain", 415), (None, 415), ("application/json", 200)]
)
def test_feedback_is_json_only_too(port: int, content_type: str | None, expected: int) -> None:
    # outcomes come through the same limits layer: as JSON they reach the route, which
    # quarantines the unknown id (this home has answered nothing) and says so
    headers = {"X-API-Key": KEY} | ({"Content-Type": content_type} if content_type else {})
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=30) as client:
        response = client.post("/feedback", content=json.dumps(OUTCOME).encode(), headers=headers)
    assert response.status_code == expected, response.text
    if expected == 415:
        assert "application/json" in response.json()["detail"], response.text
    else:
        assert (response.json()["recorded"], response.json()["quarantined"]) == (0, 1)


def test_a_trickling_body_gets_408_and_its_connection_is_closed(port: int) -> None:
    body = json.dumps(SPEC_EXAMPLE).encode()
    with socket.create_connection((HOST, port)) as sock:
        # given a client that sends the headers, then its body a byte every 0.1 s
        sock.sendall(
            head("/predict", "Content-Type: application/json", f"Content-Length: {len(body)}")
        )
        start = time.monotonic()
        for byte in body:
            if select.select([sock], [], [], 0.1)[0] or time.monotonic() - start > 10:
                break  # the server answered (or the test's own bound)
            sock.sendall(bytes([byte]))
        # then it gets a 408 after the read timeout, and the connection is freed
        status, answer, closed = read_answer(sock, 10)
        elapsed = time.monotonic() - start
    assert status == 408, answer
    assert "did not arrive" in json.loads(answer)["detail"], answer
    assert TIMEOUT_S <= elapsed < TIMEOUT_S + 3, elapsed
    assert closed, "the server closed the connection"


def test_two_key_headers_are_refused_on_every_guarded_route(port: int) -> None:
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=30) as client:
        # (one key: 503 without a champion; /feedback needs none)
        for method, path, body, served in (
            ("POST", "/predict", SPEC_EXAMPLE, 503),
            ("POST", "/predict/batch", {"readings": [SPEC_EXAMPLE]}, 503),
            ("GET", "/model", None, 503),
            ("POST", "/feedback", OUTCOME, 200),
            ("POST", INFER, TENSOR, 503),
        ):
            content = json.dumps(body).encode() if body else None
            for keys, expected in (([b"nope", KEY.encode()], 401), ([KEY.encode()], served)):
                headers = [(b"content-type", b"application/json")]
                headers += [(b"x-api-key", key) for key in keys]
                response = client.request(method, path, content=content, headers=headers)
                assert response.status_code == expected, (path, keys, response.text)
