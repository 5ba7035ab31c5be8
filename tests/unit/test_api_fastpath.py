"""The fast path for POST /predict answers exactly as the FastAPI route does, and steps aside
for everything it does not handle (invalid bodies, no model, API key, overrides)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from predmaint.api.deps import get_model
from predmaint.api.holder import ServedModel
from predmaint.api.schemas import SPEC_EXAMPLE
from tests.support.asgi import asgi_request

OVERSTRAIN = dict(SPEC_EXAMPLE, rotational_speed=1350, torque=65.0, tool_wear=230)


def call(app: object, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    sent = {"Content-Type": "application/json", **(headers or {})}
    return asgi_request(app, "POST", "/predict", body, sent)


@pytest.mark.parametrize("reading", [SPEC_EXAMPLE, OVERSTRAIN], ids=["normal", "overstrain"])
def test_fast_path_and_route_give_the_same_bytes(
    app_factory: Callable[..., object], served: ServedModel, reading: dict[str, float]
) -> None:
    body = json.dumps(reading).encode()
    app = app_factory()
    fast = call(app, body)
    # when the route itself answers (a dependency override makes the fast path step aside)
    app.dependency_overrides[get_model] = lambda: served  # type: ignore[attr-defined]
    routed = call(app, body)
    assert fast.status_code == routed.status_code == 200
    # the same bytes but for each answer's own id
    ids = fast.json()["prediction_id"], routed.json()["prediction_id"]
    assert ids[0] != ids[1] and all(len(i) == 26 for i in ids), ids
    same = [r.content.replace(i.encode(), b"") for r, i in zip((fast, routed), ids, strict=True)]
    assert same[0] == same[1], (fast.content, routed.content)
    assert fast.headers["content-type"] == routed.headers["content-type"]
    answer = fast.json()
    assert answer["model_version"] == "7" and 0.0 <= answer["probability"] <= 1.0


def test_invalid_body_gets_the_routes_422(app_factory: Callable[..., object]) -> None:
    body = json.dumps(dict(SPEC_EXAMPLE, torque=-1)).encode()
    response = call(app_factory(), body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "torque", response.json()


def test_no_model_gets_503(app_factory: Callable[..., object]) -> None:
    app = app_factory()
    app.state.holder.current = None  # type: ignore[attr-defined]
    response = call(app, json.dumps(SPEC_EXAMPLE).encode())
    assert response.status_code == 503 and "predmaint run" in response.json()["detail"]


def test_api_key_is_checked_on_the_fast_path(app_factory: Callable[..., object]) -> None:
    app = app_factory(api_key="k3y")
    body = json.dumps(SPEC_EXAMPLE).encode()
    assert call(app, body).status_code == 401
    assert call(app, body, {"X-API-Key": "wrong"}).status_code == 401
    assert call(app, body, {"X-API-Key": "k3y"}).status_code == 200
