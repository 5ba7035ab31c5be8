"""One API-key rule: the fast path and FastAPI decide every request the same way, on every route.

The routes are read from the app itself, so a route added later is covered by the same checks:
a guarded route answers 401 exactly when the rule refuses the headers, an open one never does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence

import httpx
import pytest
from fastapi.routing import APIRoute

from predmaint.api.auth import MISSING_OR_WRONG, SEVERAL, api_key_problem
from predmaint.api.deps import get_model, require_api_key
from predmaint.api.holder import ServedModel
from predmaint.api.schemas import SPEC_EXAMPLE
from predmaint.settings import Settings
from tests.support.asgi import asgi_request

KEY = "k3y-0123"
Headers = Sequence[tuple[bytes, bytes]]
#: Header sets and whether the one rule lets them through.
CASES: dict[str, tuple[Headers, bool]] = {
    "none": ([], False),
    "wrong": ([(b"x-api-key", b"nope")], False),
    "right": ([(b"x-api-key", KEY.encode())], True),
    "name in upper case": ([(b"X-API-KEY", KEY.encode())], True),
    "wrong then right": ([(b"x-api-key", b"nope"), (b"x-api-key", KEY.encode())], False),
    "right then wrong": ([(b"x-api-key", KEY.encode()), (b"x-api-key", b"nope")], False),
    "right twice": ([(b"x-api-key", KEY.encode())] * 2, False),
    "non-ASCII (UTF-8)": ([(b"x-api-key", (KEY + "é").encode())], False),
    "non-ASCII (Latin-1)": ([(b"x-api-key", (KEY + "é").encode("latin-1"))], False),
    "key as a prefix": ([(b"x-api-key", KEY.encode() + b"0")], False),
    "empty": ([(b"x-api-key", b"")], False),
}


def send(app: object, method: str, path: str, headers: Headers) -> httpx.Response:
    body = json.dumps({"readings": [SPEC_EXAMPLE]} if path.endswith("/batch") else SPEC_EXAMPLE)
    content = body.encode() if method in {"POST", "PUT", "PATCH"} else None
    return asgi_request(
        app, method, path, content, [(b"content-type", b"application/json"), *headers]
    )


def operations(app: object) -> list[tuple[str, str, bool]]:
    """(method, path, guarded) for every API route; path parameters filled in."""
    out = []
    for route in app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, APIRoute):
            continue
        guarded = any(d.dependency is require_api_key for d in route.dependencies)
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        out += [(method, path, guarded) for method in sorted(route.methods - {"HEAD"})]
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_rule(case: str) -> None:
    headers, accepted = CASES[case]
    problem = api_key_problem(headers_lower(headers), KEY.encode())
    assert (problem is None) == accepted, (case, problem)
    if "twice" in case or "then" in case:
        assert problem == SEVERAL, problem
    elif not accepted:
        assert problem == MISSING_OR_WRONG and "X-API-Key" in problem, problem


def headers_lower(headers: Headers) -> list[tuple[bytes, bytes]]:
    return [(name.lower(), value) for name, value in headers]


def test_the_guarded_routes_are_the_documented_ones(app_factory: Callable[..., object]) -> None:
    found = {(m, p) for m, p, guarded in operations(app_factory(api_key=KEY)) if guarded}
    expected = {("POST", "/predict"), ("POST", "/predict/batch"), ("GET", "/model")}
    expected |= {("POST", "/v2/models/1/infer"), ("POST", "/v2/models/1/versions/1/infer")}
    assert expected | {("POST", "/feedback")} <= found, found
    probes = {("GET", "/health"), ("GET", "/ready"), ("GET", "/metrics"), ("GET", "/v2")}
    probes |= {("GET", "/v2/health/live"), ("GET", "/v2/health/ready"), ("GET", "/v2/models/1")}
    assert not found & probes, found


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_route_decides_as_the_rule(
    app_factory: Callable[..., object],
    served: ServedModel,
    case: str,
) -> None:
    headers, accepted = CASES[case]
    app = app_factory(api_key=KEY)
    for method, path, guarded in operations(app):
        response = send(app, method, path, headers)
        refused = response.status_code == 401
        key = "error" if path.startswith("/v2") else "detail"
        assert refused == (guarded and not accepted), (case, method, path, response.text)
        if refused:  # in the shape its clients read: {"error"} on the OIP routes (/v2/...)
            assert response.json() in ({key: MISSING_OR_WRONG}, {key: SEVERAL}), response.text
    # and /predict answers the same through the fast path and through FastAPI's route
    fast = send(app, "POST", "/predict", headers)
    app.dependency_overrides[get_model] = lambda: served  # type: ignore[attr-defined]
    routed = send(app, "POST", "/predict", headers)
    assert fast.status_code == routed.status_code == (200 if accepted else 401), case
    # the same bytes but for each answer's own prediction id
    ids = [r.json().get("prediction_id", "") if accepted else "" for r in (fast, routed)]
    assert accepted == all(len(i) == 26 for i in ids), (case, ids)
    same = [r.content.replace(i.encode(), b"") for r, i in zip((fast, routed), ids, strict=True)]
    assert same[0] == same[1], case


@pytest.mark.parametrize("key", ["chave-ç", "two words", "tab\tkey"])
def test_a_key_no_client_can_send_is_refused_at_startup(key: str) -> None:
    with pytest.raises(ValueError, match="printable ASCII"):
        Settings(api_key=key, _env_file=None)  # type: ignore[call-arg]
