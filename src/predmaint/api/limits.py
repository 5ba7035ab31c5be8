"""What every request with a body must meet before any route sees it: size, type, read time.

A plain ASGI layer in front of FastAPI, so one rule covers every route, the ones that exist and
the ones added later; the ``/predict`` fast path, in front of everything, reads its bodies with
the same :class:`BodyReader` and hands every request whose headers it would refuse to this layer.
FastAPI and the fast path both read a whole body before validating it; the only place a size
limit can act while the body streams in is here:

- **size** (413): a ``Content-Length`` above the route's limit is refused before a byte of the
  body is read; a chunked body is counted as it arrives and refused as soon as it passes the limit.
  Limits are per route (``api_body_limits``); ``/predict``, ``/predict/batch`` (and the OIP
  infer routes, the same readings as a tensor) and ``/feedback`` default to what one reading,
  ``api_batch_max`` readings and ``FEEDBACK_MAX`` outcomes need, every other route to
  ``api_body_max_bytes``.
- **type** (415): a body is read as JSON only when sent as ``application/json`` (parameters such
  as ``charset`` allowed); anything else, or a body without a type, is refused. The Open
  Inference Protocol's infer routes also take ``application/octet-stream`` (JSON followed by
  binary tensor data) and a body without a type (Triton's client sends none), as Triton does.
- **time** (408): the whole body must arrive within ``api_body_timeout_s``, so a client that
  trickles a body cannot hold a connection and a request slot forever.

The refusals close the connection (``Connection: close``): what is left of the body is not read.
The body, once read, is handed downstream in one message. The read deadline is enforced by one
sweep per period for all requests, not a timer per request: a timer per request would be a
visible share of the fast path's whole answer (``bench/api_latency.py``).
"""

from __future__ import annotations

import asyncio
import json
import re
from asyncio import CancelledError, current_task
from collections.abc import Iterable
from dataclasses import dataclass, field
from time import monotonic
from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from predmaint.api.oip import INFER_PATHS, is_oip, problem, takes_binary
from predmaint.monitoring.outcomes import FEEDBACK_MAX
from predmaint.settings import Settings

#: Bytes one reading may take in a request: the five fields with full-precision floats, indented,
#: fit in about 250.
READING_BYTES = 512
#: ``/predict``'s default: one reading and room for odd whitespace.
SINGLE_READING_BODY = 16 * 1024
#: Bytes one outcome may take: every field set (a 64-character id, a time with its offset) and a
#: note of several hundred characters, indented. A note may be longer (``NOTE_MAX``); a body of
#: many long notes is sent in several requests.
OUTCOME_BYTES = 1024
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_JSON = b"application/json"
_OCTET_STREAM = b"application/octet-stream"
_CLOSE = [(b"connection", b"close")]


def _problem_schema(key: str) -> dict[str, Any]:
    schema = {"type": "object", "properties": {key: {"type": "string"}}, "required": [key]}
    return {"application/json": {"schema": schema}}


#: The refusals as OpenAPI documents them on every route that takes a body.
REFUSALS: dict[int, str] = {
    408: "The body did not arrive within PREDMAINT_API_BODY_TIMEOUT_S.",
    413: "The body is larger than this route's limit (PREDMAINT_API_BODY_LIMITS).",
    415: "The body was not sent as Content-Type: application/json.",
}


def is_json(content_type: bytes) -> bool:
    """``application/json``, any case, with or without parameters (``; charset=utf-8``)."""
    return content_type == _JSON or content_type.split(b";", 1)[0].strip().lower() == _JSON


#: What :func:`body_headers` reports as the content type when a request sends several.
SEVERAL_TYPES = b"several Content-Type headers"


def body_headers(headers: Iterable[tuple[bytes, bytes]]) -> tuple[bytes | None, bytes | None, bool]:
    """What a request's headers say of its body: (content type, or :data:`SEVERAL_TYPES`;
    ``Content-Length``; chunked). One reading for this layer and the ``/predict`` fast path, so
    both judge the same headers the same way (a plain tuple: it runs on the hot path)."""
    content_type: bytes | None = None
    length: bytes | None = None
    chunked = False
    for name, value in headers:
        if name == b"content-type":
            content_type = value if content_type is None else SEVERAL_TYPES
        elif name == b"content-length":
            length = value
        elif name == b"transfer-encoding":
            chunked = True
    return content_type, length, chunked


def accepted(path: str, content_type: bytes | None) -> bool:
    """Whether a body sent as ``content_type`` (None: no header) is read on ``path``."""
    if takes_binary(path):
        kind = (content_type or b"").split(b";", 1)[0].strip().lower()
        return content_type is None or kind in (_JSON, _OCTET_STREAM)
    return content_type is not None and is_json(content_type)


@dataclass(frozen=True)
class BodyLimits:
    """The largest body, in bytes, each route accepts."""

    default: int
    exact: dict[str, int] = field(default_factory=dict)
    templates: tuple[tuple[re.Pattern[str], int], ...] = ()

    def for_path(self, path: str) -> int:
        limit = self.exact.get(path)
        if limit is not None:
            return limit
        for pattern, value in self.templates:
            if pattern.match(path):
                return value
        return self.default


def body_limits(settings: Settings) -> BodyLimits:
    """Defaults sized for the request models' caps, then the configured per-route limits.

    A route template (``/v2/models/{name}/infer``) in ``api_body_limits`` applies to every path
    it matches, before the defaults (whatever its parameters are called).
    """
    batch = settings.api_batch_max * READING_BYTES + SINGLE_READING_BODY
    defaults = {
        "/predict": SINGLE_READING_BODY,
        "/predict/batch": batch,
        "/feedback": FEEDBACK_MAX * OUTCOME_BYTES + SINGLE_READING_BODY,
    }
    defaults |= dict.fromkeys(INFER_PATHS, batch)  # the same readings, as a tensor
    routes = settings.api_body_limits | {
        path: limit for path, limit in defaults.items() if path not in settings.api_body_limits
    }
    exact = {path: limit for path, limit in routes.items() if "{" not in path}
    templates = tuple(
        (compile_path(path)[0], limit) for path, limit in routes.items() if "{" in path
    )
    return BodyLimits(settings.api_body_max_bytes, exact, templates)


@dataclass
class _Deadlines:
    """Read deadlines of the requests now reading a body, checked by one sweep per period.

    The sweep cancels a late request's task; the request tells that cancellation from any other
    by finding itself in ``expired``. The sweep stays armed only while bodies are being read.
    """

    timeout: float
    reading: dict[asyncio.Task[Any], float] = field(default_factory=dict)
    expired: set[asyncio.Task[Any]] = field(default_factory=set)
    armed_on: asyncio.AbstractEventLoop | None = None

    @property
    def period(self) -> float:
        return min(1.0, max(0.02, self.timeout / 4))

    def start(self, task: asyncio.Task[Any]) -> None:
        self.reading[task] = monotonic() + self.timeout
        loop = task.get_loop()
        if self.armed_on is not loop:  # not armed yet, or armed on a loop that has ended
            self.armed_on = loop
            loop.call_later(self.period, self._sweep, loop)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.armed_on is not loop:  # a newer loop took over (tests run one per call)
            return
        if not self.reading:
            self.armed_on = None  # the next body read arms it again
            return
        now = monotonic()
        for task, deadline in list(self.reading.items()):
            if deadline <= now and task not in self.expired:
                self.expired.add(task)
                task.cancel()
        loop.call_later(self.period, self._sweep, loop)


async def _refuse(send: Send, path: str, status: int, detail: str) -> None:
    """A JSON ``{"detail": ...}`` answer (``{"error": ...}`` on OIP paths) that closes the
    connection (the rest is not read)."""
    body = json.dumps(problem(path, detail)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *_CLOSE,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def replay(message: Message, receive: Receive) -> Receive:
    """A ``receive`` that hands the whole body over once, then defers to the server's."""
    pending: list[Message] = [message]

    async def replayed() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replayed


def document_refusals(routes: Iterable[BaseRoute]) -> None:
    """Add the refusals to the OpenAPI responses of every route that takes a body."""
    for route in routes:
        if isinstance(route, APIRoute) and route.methods & _BODY_METHODS:
            content = _problem_schema("error" if is_oip(route.path) else "detail")
            for status, description in REFUSALS.items():
                route.responses.setdefault(status, {"description": description, "content": content})


class BodyReader:
    """Reads a request's whole body within the route's size limit and the read deadline.

    Shared by :class:`RequestLimits` (every route) and the ``/predict`` fast path
    (:mod:`predmaint.api.fastpath`), so both apply the same rules with one deadline sweep.
    """

    def __init__(self, limits: BodyLimits, timeout_s: float, routes: Iterable[BaseRoute] = ()):
        self.limits = limits
        self.exact = limits.exact
        self.deadlines = _Deadlines(timeout_s)
        self.routes = routes  # for the metrics label of a refused request

    def limit(self, path: str) -> int:
        return self.exact.get(path) or self.limits.for_path(path)

    async def read(self, scope: Scope, receive: Receive, send: Send, limit: int) -> Message | int:
        """The whole body as one message, or the status of the refusal sent instead (408, 413;
        0 when the client went away)."""
        task = current_task()
        assert task is not None
        deadlines = self.deadlines
        deadlines.start(task)
        try:
            message = await receive()
            if message.get("more_body", False) or message["type"] != "http.request":
                whole = await self._read_rest(message, receive, limit)
                if whole is None:  # the client went away
                    return 0
                message = whole
            if len(message.get("body", b"")) > limit:
                await self.refuse(scope, send, 413, self.too_large(scope, limit))
                return 413
        except CancelledError:
            if task not in deadlines.expired:
                raise
            task.uncancel()
            detail = f"the request body did not arrive within {deadlines.timeout:g} s"
            await self.refuse(scope, send, 408, detail)
            return 408
        finally:
            del deadlines.reading[task]
            if deadlines.expired:
                deadlines.expired.discard(task)
        return message

    @staticmethod
    async def _read_rest(first: Message, receive: Receive, limit: int) -> Message | None:
        """The whole body as one message (cut just past ``limit``); None if the client left."""
        chunks: list[bytes] = []
        size = 0
        message = first
        while True:
            if message["type"] != "http.request":  # the client went away
                return None
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if size > limit or not message.get("more_body", False):
                break
            message = await receive()
        return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

    @staticmethod
    def too_large(scope: Scope, limit: int) -> str:
        return (
            f"the request body is larger than {limit:,} bytes, the limit of {scope['path'][:100]}"
            " (PREDMAINT_API_BODY_LIMITS)"
        )

    async def refuse(self, scope: Scope, send: Send, status: int, detail: str) -> None:
        for route in self.routes:  # label the refusal with its route, as the router would
            if route.matches(scope)[0] is not Match.NONE:
                scope["route"] = route
                break
        await _refuse(send, scope["path"], status, detail)


class RequestLimits:
    """Refuses oversized (413), non-JSON (415) and too slow (408) bodies on every route."""

    def __init__(self, app: ASGIApp, reader: BodyReader) -> None:
        self.app = app
        self.reader = reader

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        reader = self.reader
        limit = reader.limit(scope["path"])
        content_type, length, chunked = body_headers(scope["headers"])
        if length is not None and length.isdigit() and int(length) > limit:
            await reader.refuse(scope, send, 413, reader.too_large(scope, limit))
            return
        has_body = chunked or (length is not None and length != b"0")
        if (content_type is not None or has_body) and not accepted(scope["path"], content_type):
            sent = (
                "no Content-Type" if content_type is None else content_type[:100].decode("latin-1")
            )
            wanted = "application/json"
            if takes_binary(scope["path"]):
                wanted += " or application/octet-stream (binary tensor data)"
            detail = f"send the body as Content-Type: {wanted} (got {sent})"
            await reader.refuse(scope, send, 415, detail)
            return
        message = await reader.read(scope, receive, send, limit)
        if isinstance(message, int):  # refused, or the client went away
            return
        await self.app(scope, replay(message, receive), send)
