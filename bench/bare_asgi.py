"""The floor: a bare ASGI app that reads a JSON body and answers a fixed JSON object.

Any Python HTTP service on uvicorn pays at least this much per request; the API's latency is
reported as a multiple of it, measured in the same run on the same machine.
"""

from __future__ import annotations

import json
from typing import Any

ANSWER = json.dumps(
    {
        "prediction": 0,
        "probability": 0.92,
        "risk_level": "Baixo",
        "recommendation": "Operação normal. Continuar monitoramento.",
    },
    ensure_ascii=False,
).encode()
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(ANSWER)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":  # lifespan: nothing to set up
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    if body:
        json.loads(body)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": ANSWER})
