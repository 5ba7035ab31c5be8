"""Body limits per route: defaults sized for the request caps, overridable per route and template;
the content-type rule; the refusals documented on every route that takes a body."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from predmaint.api.limits import (
    OUTCOME_BYTES,
    READING_BYTES,
    SINGLE_READING_BODY,
    body_limits,
    is_json,
)
from predmaint.api.schemas import SPEC_EXAMPLE
from predmaint.monitoring.outcomes import FEEDBACK_MAX
from predmaint.settings import Settings
from tests.support.asgi import asgi_request


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_defaults_fit_the_caps_of_the_request_models() -> None:
    limits = body_limits(settings(api_batch_max=1000))
    # a full batch, written with every float at full precision and indented, fits
    reading = {name: 1 / 3 + value for name, value in SPEC_EXAMPLE.items()}
    full = json.dumps({"readings": [reading] * 1000}, indent=2).encode()
    assert len(full) < limits.for_path("/predict/batch"), (len(full), limits)
    assert len(json.dumps(reading, indent=8)) < limits.for_path("/predict") == SINGLE_READING_BODY
    # and the batch limit follows the batch cap
    bigger = body_limits(settings(api_batch_max=5000)).for_path("/predict/batch")
    assert bigger - limits.for_path("/predict/batch") == 4000 * READING_BYTES
    assert limits.for_path("/health") == settings().api_body_max_bytes == 1024 * 1024
    # the OIP infer routes take the same readings as a tensor: the batch route's limit
    for path in ("/v2/models/m/infer", "/v2/models/m/versions/3/infer"):
        assert limits.for_path(path) == limits.for_path("/predict/batch"), path


def test_the_feedback_limit_fits_its_cap_of_outcomes() -> None:
    limits = body_limits(settings())
    # a full /feedback, every field set and a 400-character note (not ASCII), indented, fits
    outcome = {
        "prediction_id": "b" * 64,
        "outcome": "failure",
        "failure_mode": "HDF",
        "observed_at": "2026-11-25T14:05:00.123456+00:00",
        "note": "fuso parou, dissipação de calor " * 12 + "abcdefgh",
    }
    full = json.dumps({"outcomes": [outcome] * FEEDBACK_MAX}, indent=2, ensure_ascii=False)
    assert len(full.encode()) < limits.for_path("/feedback"), len(full.encode())
    assert limits.for_path("/feedback") == FEEDBACK_MAX * OUTCOME_BYTES + SINGLE_READING_BODY


def test_limits_are_configurable_per_route_and_template() -> None:
    configured = {"/predict": 100, "/v2/models/{name}/infer": 5000}
    limits = body_limits(settings(api_body_limits=configured, api_body_max_bytes=2000))
    assert limits.for_path("/predict") == 100
    assert limits.for_path("/v2/models/predmaint/infer") == 5000
    assert limits.for_path("/v2/models/predmaint/ready") == 2000
    with pytest.raises(ValueError, match="api_body_limits"):
        settings(api_body_limits={"/predict": 0})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"application/json", True),
        (b"Application/JSON", True),
        (b"application/json; charset=utf-8", True),
        (b"application/json;charset=UTF-8", True),
        (b"application/jsonx", False),
        (b"application/json-patch+json", False),
        (b"text/json", False),
        (b"text/plain", False),
        (b"", False),
    ],
)
def test_only_application_json_is_json(value: bytes, expected: bool) -> None:
    assert is_json(value) is expected


def post(app: object, path: str, body: bytes, content_type: str) -> httpx.Response:
    return asgi_request(app, "POST", path, body, {"Content-Type": content_type})


def test_a_configured_limit_is_applied(app_factory: Callable[..., object]) -> None:
    body = json.dumps(SPEC_EXAMPLE).encode()
    app = app_factory(api_body_limits={"/predict": len(body)})
    assert post(app, "/predict", body, "application/json").status_code == 200
    refused = post(app, "/predict", body + b" ", "application/json")
    assert refused.status_code == 413, refused.text
    assert f"{len(body):,} bytes" in refused.json()["detail"], refused.text
    assert refused.headers["connection"] == "close"


def test_refusals_are_counted_under_their_route(app_factory: Callable[..., object]) -> None:
    app = app_factory()
    assert post(app, "/predict", b"{}", "text/plain").status_code == 415
    text = app.state.metrics.registry.get_sample_value(  # type: ignore[attr-defined]
        "predmaint_http_requests_total", {"route": "/predict", "method": "POST", "status": "415"}
    )
    assert text == 1


def test_every_route_with_a_body_documents_the_refusals(
    app_factory: Callable[..., object],
) -> None:
    spec = app_factory().openapi()  # type: ignore[attr-defined]
    posts = [(path, ops["post"]) for path, ops in spec["paths"].items() if "post" in ops]
    assert {path for path, _ in posts} >= {"/predict", "/predict/batch"}
    assert "/v2/models/{model_name}/infer" in {path for path, _ in posts}
    for path, operation in posts:
        assert {"408", "413", "415"} <= set(operation["responses"]), path
        # documented in the shape the route's clients read
        schema = operation["responses"]["413"]["content"]["application/json"]["schema"]
        assert schema["required"] == ["error" if path.startswith("/v2") else "detail"], path
