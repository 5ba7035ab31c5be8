"""What the benchmarks share: free ports, servers as subprocesses, a minimal keep-alive client.

The client is a raw socket that sends one prepared request and reads one response
(``Content-Length`` framing): a full HTTP client library would add more microseconds than the
difference being measured. Every server runs in its own process on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from predmaint import process_group
from predmaint.api.schemas import SPEC_EXAMPLE

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
SPEC_READING = SPEC_EXAMPLE  # the spec's curl example, defined once in the API schemas


def free_port() -> int:
    """A port nobody listens on right now, on the loopback interface only."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def environment(**extra: str) -> dict[str, str]:
    """This environment with the venv's bin first on PATH (mlflow starts tools by name)."""
    env = {**os.environ, **extra}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


@contextlib.contextmanager
def server(
    command: Sequence[str],
    port: int,
    ready_path: str = "/",
    env: dict[str, str] | None = None,
    timeout: float = 120.0,
    log: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server process, wait until ``ready_path`` answers 200, stop it (its group) after."""
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        list(command),
        env=env or environment(),
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited with {process.returncode} (log: {log})")
            with contextlib.suppress(OSError):
                client = Client(port)
                status, _ = client.request("GET", ready_path)
                client.close()
                if status == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{' '.join(command)} not ready on :{port} in {timeout:.0f} s")
            time.sleep(0.2)
        yield process
    finally:
        process_group.stop(process, timeout=15)
        if log:
            out.close()  # type: ignore[union-attr]


class Client:
    """One keep-alive HTTP/1.1 connection; ``request`` returns (status, body)."""

    def __init__(self, port: int, host: str = HOST) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.host = f"{host}:{port}"
        self._buffer = b""

    def prepare(self, method: str, path: str, payload: Any = None, headers: str = "") -> bytes:
        body = b"" if payload is None else json.dumps(payload).encode()
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{headers}"
        if payload is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        return (head + "\r\n").encode() + body

    def send_prepared(self, request: bytes) -> tuple[int, bytes]:
        self.sock.sendall(request)
        return self._read()

    def request(self, method: str, path: str, payload: Any = None) -> tuple[int, bytes]:
        return self.send_prepared(self.prepare(method, path, payload))

    def _read(self) -> tuple[int, bytes]:
        data = self._buffer
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            rest += chunk
        self._buffer = rest[length:]
        return status, rest[:length]

    def close(self) -> None:
        self.sock.close()


def time_requests(client: Client, request: bytes, count: int) -> np.ndarray:
    """Latency of ``count`` sequential requests in seconds (every answer must be 200)."""
    out = np.empty(count)
    clock = time.perf_counter
    for i in range(count):
        start = clock()
        status, body = client.send_prepared(request)
        out[i] = clock() - start
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {body[:300]!r}")
    return out


@dataclass
class Percentiles:
    p50: float
    p99: float
    p999: float
    mean: float
    count: int

    @classmethod
    def of(cls, seconds: np.ndarray) -> Percentiles:
        return cls(
            float(np.percentile(seconds, 50)),
            float(np.percentile(seconds, 99)),
            float(np.percentile(seconds, 99.9)),
            float(seconds.mean()),
            len(seconds),
        )


def machine() -> str:
    """CPU model, cores and load: the context every figure needs."""
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()
    return f"{model}, {os.cpu_count()} cores, load average {load[0]:.2f} (1 min) at start"


def verdict(
    checks: Sequence[tuple[str, bool]], json_path: Path | None = None, **figures: Any
) -> int:
    """Print one PASS/FAIL line per check (its sentence holds the figures and the target), write
    the machine, ``figures`` and the checks to ``json_path``; the exit status: 0 when every check
    passed, so that a script or CI can tell a missed target."""
    print()
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    if json_path is not None:
        payload = {
            "machine": machine(),
            **figures,
            "checks": [{"check": text, "pass": ok} for text, ok in checks],
        }
        json_path.write_text(json.dumps(payload, indent=2))
    return 0 if all(ok for _, ok in checks) else 1


@contextlib.contextmanager
def predmaint_server(
    home: Path, log: Path | None = None, env: dict[str, str] | None = None, **settings: str
) -> Iterator[str]:
    """``predmaint serve`` on a free port for a project home; yields its base URL.

    ``env`` is added to the environment as is; ``settings`` become ``PREDMAINT_<NAME>`` variables
    (``api_key="s3cret"``, ``api_poll_interval_s="0.5"``); the champion is loaded before the URL
    is handed out when one exists (``/health`` answers once the lifespan has run).
    """
    port = free_port()
    variables = environment(PREDMAINT_HOME=str(home), **(env or {}))
    if "MLFLOW_TRACKING_URI" not in (env or {}):
        variables.pop("MLFLOW_TRACKING_URI", None)
    variables.update({f"PREDMAINT_{name.upper()}": value for name, value in settings.items()})
    command = [str(BIN / "predmaint"), "serve", "--host", HOST, "--port", str(port)]
    with server(command, port, "/health", env=variables, log=log, timeout=90):
        yield f"http://{HOST}:{port}"
