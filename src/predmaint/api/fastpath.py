"""The single-reading route's fast path: one plain ASGI layer in front of the whole app.

FastAPI's generic request handling (middleware stack, routing, dependency solving, body parsing)
costs about as much as a bare ASGI app's whole answer, before any scoring (measured by
``bench/api_latency.py``; figures in docs/benchmarks.md). For ``POST /predict`` alone, when the
request is the common, valid case, this layer does in one place what the stack would do in
five: the request limits' checks (:class:`~predmaint.api.limits.BodyReader`, the same size,
content-type and read-deadline rules), the API key rule
(:func:`predmaint.api.auth.api_key_problem`), one pydantic-core pass over the body, the answer
(:class:`~predmaint.api.single.SingleAnswers`, the route's own writer) and the request metrics.
It sits outside Starlette's server-error layer, and hands an exception to it, so a failure is
the same 500, counted the same way.

Anything else goes to the app unchanged, before a byte of the body is read when the headers
already say so: a content type, length or chunked body the limits must judge, no model loaded
(503), a key the shared rule refuses (401), the scikit-learn fallback (scored in a worker thread
by the route), dependency overrides in tests. An invalid body goes to the app with the body
replayed, so its 422 is FastAPI's, through the same handlers. The route stays the contract and
the documentation; this is only a shorter way to the same answer.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from predmaint.api.auth import api_key_problem
from predmaint.api.deps import get_model
from predmaint.api.holder import ModelHolder
from predmaint.api.limits import BodyReader, body_headers, is_json, replay
from predmaint.api.metrics import ApiMetrics, RequestSeries
from predmaint.api.single import SingleAnswers
from predmaint.models.compiled import ONNX_RUNTIME

_JSON = (b"content-type", b"application/json")


def _raising(exc: Exception) -> ASGIApp:
    """An app that raises ``exc``: hands an exception over to Starlette's server-error layer."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise exc

    return app


class FastPredict:
    """Answers valid ``POST <path>`` requests itself; everything else goes to ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        path: str,
        body_model: type[BaseModel],
        holder: ModelHolder,
        api_key: str | None,
        overrides: dict[Any, Any],
        reader: BodyReader,
        single: SingleAnswers,
        metrics: ApiMetrics,
    ) -> None:
        self.app = app
        self.path = path
        # ``model_validate_json`` without its Python wrapper: the same pydantic-core call
        self.validate: Callable[[bytes], Any] = body_model.__pydantic_validator__.validate_json
        self.holder = holder
        self.api_key = api_key.encode() if api_key else None
        self.overrides = overrides
        self.reader = reader
        self.limit = reader.limit(path)
        self.answer = single.answer
        self.observe = metrics.observe
        self.metrics = metrics
        # its 200s' series, kept at hand once the first one is counted
        self.answered: RequestSeries | None = None
        # Starlette's 500 (its handler, its debug page) for an exception on the fast path
        self.errors = app if isinstance(app, ServerErrorMiddleware) else None

    def _takes(self, scope: Scope) -> bool:
        """Whether the headers alone show a request the fast path may answer: the key accepted
        (or none set), one JSON content type, a length within the limit, no chunked body."""
        content_type, length, chunked = body_headers(scope["headers"])
        return (
            not chunked
            and content_type is not None
            and is_json(content_type)
            and length is not None
            and length.isdigit()
            and int(length) <= self.limit
            and (self.api_key is None or api_key_problem(scope["headers"], self.api_key) is None)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        start = perf_counter()
        served = self.holder.current
        if (
            served is None
            or served.scorer.runtime != ONNX_RUNTIME
            or get_model in self.overrides
            or not self._takes(scope)
        ):
            await self.app(scope, receive, send)
            return
        message = await self.reader.read(scope, receive, send, self.limit)
        if isinstance(message, int):  # refused (408, 413), or the client went away
            self.observe(self.path, "POST", message or 500, perf_counter() - start)
            return
        try:
            reading = self.validate(message["body"])
        except ValidationError:  # FastAPI's 422, through the app's handlers
            await self.app(scope, replay(message, receive), send)
            return
        try:
            values = reading.values()
            body = self.answer(served.scorer.probability_one(values), values, served)
        except Exception as exc:
            await self._fail(scope, receive, send, exc, start)
            raise
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(body)).encode()), _JSON],
            }
        )
        await send({"type": "http.response.body", "body": body})
        answered = self.answered
        if answered is None:
            answered = self.answered = self.metrics.series_of(self.path, "POST", 200)
        answered.add(perf_counter() - start)

    async def _fail(
        self, scope: Scope, receive: Receive, send: Send, exc: Exception, start: float
    ) -> None:
        """The 500 that Starlette's server-error layer sends for ``exc``, counted as a 500."""
        try:
            if self.errors is not None:
                errors = ServerErrorMiddleware(
                    _raising(exc), handler=self.errors.handler, debug=self.errors.debug
                )
                await errors(scope, receive, send)
        except Exception as raised:
            if raised is not exc:
                raise
        finally:
            self.observe(self.path, "POST", 500, perf_counter() - start)
