"""The single-reading route's fast path: a plain ASGI layer in front of FastAPI.

FastAPI's generic request handling (middleware stack, routing, dependency solving, body parsing)
costs about as much as a bare ASGI app's whole answer, before any scoring (measured by
``bench/api_latency.py``; figures in docs/benchmarks.md). For ``POST /predict`` alone, when the
request is the common, valid case, this layer does what the route would do in three steps: read
the body, parse and validate it in one pydantic-core pass, and call the route's own endpoint with
the model snapshot. Anything else goes to FastAPI unchanged (the body is replayed): an invalid
body (so the 422 is FastAPI's, through the same handlers), a body not sent as JSON, no model
loaded (503), a missing or wrong API key (401), the scikit-learn fallback (scored in a worker
thread by the route), dependency overrides in tests. The route stays the contract and the
documentation; this is only a shorter way to the same endpoint.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from predmaint.api.deps import API_KEY_HEADER, get_model
from predmaint.api.holder import ModelHolder, ServedModel
from predmaint.models.compiled import ONNX_RUNTIME

Endpoint = Callable[[Any, ServedModel], Awaitable[Response]]
_KEY_HEADER = API_KEY_HEADER.lower().encode()
_CONTENT_TYPE = b"content-type"


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the already-read body over once, then defers to the original."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class FastPredict:
    """Serves valid ``POST <route.path>`` requests with the route's endpoint, skipping the
    framework."""

    def __init__(
        self,
        app: ASGIApp,
        route: APIRoute,
        body_model: type[BaseModel],
        holder: ModelHolder,
        api_key: str | None,
        overrides: dict[Any, Any],
    ) -> None:
        self.app = app
        self.route = route
        self.path = route.path
        self.endpoint: Endpoint = route.endpoint
        self.validate = body_model.model_validate_json
        self.holder = holder
        self.api_key = api_key.encode() if api_key else None
        self.overrides = overrides

    def _headers_ok(self, scope: Scope) -> bool:
        """A JSON body (FastAPI parses no other) and, when one is set, the right API key."""
        json_body = False
        key_ok = self.api_key is None
        for name, value in scope["headers"]:
            if name == _CONTENT_TYPE:
                json_body = value.startswith(b"application/json")
            elif name == _KEY_HEADER and self.api_key is not None:
                key_ok = hmac.compare_digest(value, self.api_key)
        return json_body and key_ok

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        served = self.holder.current
        if (
            served is None
            or served.scorer.runtime != ONNX_RUNTIME
            or not self._headers_ok(scope)
            or get_model in self.overrides
        ):
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        try:
            reading = self.validate(body)
        except ValidationError:
            await self.app(scope, _replay(body, receive), send)
            return
        scope["route"] = self.route  # the metrics label, as if the router had matched it
        response = await self.endpoint(reading, served)
        await response(scope, receive, send)
