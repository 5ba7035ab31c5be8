"""CPU time per ``POST /predict`` in process: the app's own cost, without sockets or a server.

``api_latency`` measures what a client sees, which on a shared machine moves with the load of
every other process. This calls the ASGI apps directly (one event loop, a prepared request, a
``send`` that keeps nothing) and counts the process's CPU time, so neighbours barely move it:
the figure to compare before and after a change on the hot path. The bare ASGI app of
``api_latency`` is measured alike in the same run, as the floor; predmaint with answer recording
on (as deployed) and off. Each figure is the best of ``--runs`` alternated runs.

    .venv/bin/python -m bench.api_inprocess [--home DIR] [--requests 5000] [--runs 7] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from bench.bare_asgi import app as bare_app
from bench.common import SPEC_READING
from predmaint.api.main import create_app
from predmaint.settings import Settings

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
BODY = json.dumps(SPEC_READING).encode()
SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0", "spec_version": "2.3"},
    "http_version": "1.1",
    "server": ("127.0.0.1", 8000),
    "client": ("127.0.0.1", 50000),
    "scheme": "http",
    "root_path": "",
    "query_string": b"",
    "headers": [
        (b"host", b"127.0.0.1:8000"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(BODY)).encode()),
    ],
}
MESSAGE = {"type": "http.request", "body": BODY, "more_body": False}


async def receive() -> dict[str, Any]:
    return MESSAGE


class Sink:
    """A ``send`` that keeps the last status and body (to check the answers once)."""

    def __init__(self) -> None:
        self.status = 0
        self.body = b""

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        else:
            self.body = message.get("body", b"")


async def cpu_per_request(app: App, path: str, count: int) -> float:
    """CPU seconds per request over ``count`` sequential requests (as uvicorn: a new scope each)."""
    send = Sink()
    start = time.process_time()
    scope = {**SCOPE, "method": "POST", "path": path, "raw_path": path.encode()}
    for _ in range(count):
        await app(dict(scope), receive, send)
    spent = time.process_time() - start
    if send.status != 200:
        raise RuntimeError(f"{path}: HTTP {send.status}: {send.body[:300]!r}")
    return spent / count


async def run(args: argparse.Namespace) -> dict[str, float]:
    settings = Settings(home=args.home) if args.home else Settings()
    apps: dict[str, tuple[App, str]] = {"bare ASGI": (bare_app, "/")}
    async with AsyncExitStack() as stack:
        for name, record in (("predmaint", True), ("predmaint (no rec)", False)):
            app = create_app(settings.model_copy(update={"api_record_answers": record}))
            await stack.enter_async_context(app.router.lifespan_context(app))
            if app.state.holder.current is None:
                raise SystemExit(f"no champion in {settings.home}: run `predmaint run` first")
            apps[name] = (app, "/predict")
        served = apps["predmaint"][0].state.holder.current  # type: ignore[attr-defined]
        print(f"model: v{served.info.version} ({served.info.model_type}), {served.scorer.detail}")
        best = dict.fromkeys(apps, float("inf"))
        for app, path in apps.values():  # warm-up
            await cpu_per_request(app, path, 2000)
        for _ in range(args.runs):
            for name, (app, path) in apps.items():
                best[name] = min(best[name], await cpu_per_request(app, path, args.requests))
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            await cpu_per_request(*apps["predmaint"], args.requests)
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="project home with a champion (default: cwd)")
    parser.add_argument("--requests", type=int, default=5000, help="per run and app")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="also cProfile predmaint")
    args = parser.parse_args(argv)
    try:
        import uvloop

        best = uvloop.run(run(args))
    except ImportError:
        best = asyncio.run(run(args))
    bare = best["bare ASGI"]
    print(f"\n{'app':<22}{'CPU µs / request':>18}{'× bare':>9}")
    for name, seconds in best.items():
        print(f"{name:<22}{seconds * 1e6:>18.1f}{seconds / bare:>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
