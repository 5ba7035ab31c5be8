"""The single-reading route's fast path: a plain ASGI layer in front of FastAPI.

FastAPI's generic request handling (middleware stack, routing, dependency solving, body parsing)
costs about as much as a bare ASGI app's whole answer, before any scoring (measured by
``bench/api_latency.py``; figures in docs/benchmarks.md). For ``POST /predict`` alone, when the
request is the common, valid case, this layer does what the route would do in three steps: read
the body, parse and validate it in one pydantic-core pass, and call the route's own endpoint with
the model snapshot. Anything else goes to FastAPI unchanged (the body is replayed): an invalid
body (so the 422 is FastAPI's, through the same handlers), no model loaded (503), a key the
shared rule refuses (401, :func:`predmaint.api.auth.api_key_problem`), the scikit-learn fallback
(scored in a worker thread by the route), dependency overrides in tests. Size, content type and
read time were checked before, for every route, by :mod:`predmaint.api.limits`. The route stays
the contract and the documentation; this is only a shorter way to the same endpoint.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from predmaint.api.auth import api_key_problem
from predmaint.api.deps import get_model
from predmaint.api.holder import ModelHolder, ServedModel
from predmaint.models.compiled import ONNX_RUNTIME

Endpoint = Callable[[Any, ServedModel], Awaitable[Response]]


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

    def _key_ok(self, scope: Scope) -> bool:
        """No key configured, or the shared rule accepts the request's."""
        return self.api_key is None or api_key_problem(scope["headers"], self.api_key) is None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        served = self.holder.current
        if (
            served is None
            or served.scorer.runtime != ONNX_RUNTIME
            or not self._key_ok(scope)
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
