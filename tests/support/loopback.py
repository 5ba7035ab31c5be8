"""Talking to the servers a test starts: a free port on 127.0.0.1 and one JSON call over HTTP.

Tests never reach outside the loopback interface; :func:`http_json` refuses any other URL.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from bench.common import HOST, free_port  # the benchmarks' own, shared (bench never imports tests)

__all__ = ["HOST", "free_port", "http_json"]


def http_json(
    method: str,
    url: str,
    body: Any = None,
    token: str | None = None,
    timeout: float = 10.0,
) -> tuple[int, Any]:
    """One HTTP call with a JSON body; returns (status, decoded JSON or text) even for 4xx/5xx,
    so a test can assert on the answer of a server that is up but not ready."""
    assert url.startswith(f"http://{HOST}:"), f"tests only talk to the loopback: {url}"
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        url,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers=headers,
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode("utf-8", "replace")
