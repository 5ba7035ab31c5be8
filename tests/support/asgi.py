"""Calling an ASGI app in process, through httpx's ASGI transport: the whole app runs (middleware,
limits, the fast path, FastAPI), with no socket and no server process."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import httpx

Headers = Mapping[str, str] | Sequence[tuple[bytes, bytes]]


def asgi_request(
    app: object, method: str, path: str, content: bytes | None = None, headers: Headers = ()
) -> httpx.Response:
    """One request to ``app``, answered in full."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            request = client.build_request(method, path, content=content, headers=headers)
            return await client.send(request)

    return asyncio.run(go())
