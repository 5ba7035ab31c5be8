"""The API-key rule, in one function that the fast path and the FastAPI dependency both call.

It reads the raw ASGI headers rather than a decoded mapping, so both ways see the same bytes:
exactly one ``X-API-Key`` header whose value equals the configured key byte for byte (constant
time). Two such headers are refused rather than picking one (frameworks disagree on which wins),
and the configured key is printable ASCII (checked by the settings), so a non-ASCII header can
only be wrong, whatever encoding a client used.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

API_KEY_HEADER = "X-API-Key"
_KEY_HEADER = API_KEY_HEADER.lower().encode()  # ASGI header names are lower case

MISSING_OR_WRONG = f"missing or wrong API key: send it in the {API_KEY_HEADER} header"
SEVERAL = f"several {API_KEY_HEADER} headers: send exactly one"


def api_key_problem(headers: Iterable[tuple[bytes, bytes]], expected: bytes) -> str | None:
    """Why the request's key is refused, or None when it is the expected one."""
    sent: bytes | None = None
    for name, value in headers:
        if name == _KEY_HEADER:
            if sent is not None:
                return SEVERAL
            sent = value
    if sent is None or not hmac.compare_digest(sent, expected):
        return MISSING_OR_WRONG
    return None
