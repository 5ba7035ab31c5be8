"""A JSON answer already encoded, sent as Starlette's ``Response`` would send it, built cheaper.

``Response.__init__`` works out its headers generically (a list of candidates, a charset rule,
encodings) on every answer: about a microsecond and a half of ``/predict``'s few dozen
(``bench/api_inprocess.py``). :class:`JSONBytes` writes the same two headers, in the same order
and bytes, directly; FastAPI and the fast path handle it as any ``Response``.
"""

from __future__ import annotations

from starlette.responses import Response

_JSON = (b"content-type", b"application/json")


class JSONBytes(Response):
    """``Response(body, media_type="application/json")`` for a body that is already JSON bytes."""

    media_type = "application/json"

    def __init__(self, body: bytes, status_code: int = 200) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body
        self.raw_headers = [(b"content-length", str(len(body)).encode()), _JSON]
