"""A bounded load run: N concurrent keep-alive clients post readings for a fixed time.

Defaults are the issue's: 32 clients for 60 seconds against ``predmaint serve`` (started here on
a free loopback port, or ``--url`` of one already running on 127.0.0.1). Each client posts
plausible readings (the spec's example and probe readings) back to back; the run reports
throughput, latency percentiles and errors (any non-200 or connection failure). It never runs
longer than ``--duration`` (at most 600 s) and never targets anything but the loopback.

    .venv/bin/python -m bench.load [--home DIR] [--clients 32] [--duration 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from bench.common import HOST, SPEC_READING, Percentiles, machine, predmaint_server
from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.models.compiled import probe_readings
from predmaint.settings import Settings

MAX_DURATION_S = 600.0


def requests_pool(host: str, count: int = 256) -> list[bytes]:
    """Prepared HTTP requests: the spec's reading and plausible probe readings."""
    readings = [SPEC_READING] + [
        dict(zip(SENSOR_COLUMNS, row, strict=True)) for row in probe_readings(count - 1).tolist()
    ]
    pool = []
    for reading in readings:
        body = json.dumps(reading).encode()
        head = (
            f"POST /predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        pool.append(head.encode() + body)
    return pool


async def client(
    host: str, port: int, pool: list[bytes], stop_at: float, offset: int
) -> tuple[list[float], int]:
    """One keep-alive connection posting until ``stop_at``; (latencies, errors)."""
    latencies: list[float] = []
    errors = 0
    reader, writer = await asyncio.open_connection(host, port)
    clock = time.perf_counter
    i = offset
    try:
        while clock() < stop_at:
            request = pool[i % len(pool)]
            i += 1
            start = clock()
            try:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                latencies.append(clock() - start)
                if not head.startswith(b"HTTP/1.1 200"):
                    errors += 1
            except (OSError, asyncio.IncompleteReadError):
                errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    finally:
        writer.close()
    return latencies, errors


async def run(host: str, port: int, clients: int, duration: float) -> tuple[np.ndarray, int, float]:
    pool = requests_pool(f"{host}:{port}")
    start = time.perf_counter()
    stop_at = start + duration
    results = await asyncio.gather(
        *(client(host, port, pool, stop_at, k * 7) for k in range(clients))
    )
    elapsed = time.perf_counter() - start
    latencies = np.concatenate([np.asarray(lat) for lat, _ in results])
    return latencies, sum(err for _, err in results), elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="project home with a champion (default: cwd)")
    parser.add_argument("--url", help="an API already running on 127.0.0.1 (default: start one)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    duration = min(args.duration, MAX_DURATION_S)

    with ExitStack() as stack:
        if args.url:
            url = args.url
        else:
            settings = Settings(home=args.home) if args.home else Settings()
            log = Path("/tmp/predmaint-bench-load.log")
            url = stack.enter_context(predmaint_server(settings.home.resolve(), log=log))
        target = urlsplit(url)
        if target.hostname not in {HOST, "localhost"}:
            raise SystemExit(f"refusing to load anything but the loopback: {url}")
        print(f"machine: {machine()}")
        print(f"load: {args.clients} clients x {duration:g} s on {url}/predict")
        latencies, errors, elapsed = asyncio.run(
            run(target.hostname or HOST, target.port or 80, args.clients, duration)
        )
    stats = Percentiles.of(latencies)
    rate = len(latencies) / elapsed
    print(f"requests {len(latencies):,} in {elapsed:.1f} s: {rate:,.0f} req/s, errors {errors}")
    print(
        f"latency p50 {stats.p50 * 1e3:.2f} ms, p99 {stats.p99 * 1e3:.2f} ms, "
        f"p99.9 {stats.p999 * 1e3:.2f} ms, max {latencies.max() * 1e3:.1f} ms"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine(),
                    "clients": args.clients,
                    "duration_s": elapsed,
                    "requests": len(latencies),
                    "errors": errors,
                    "rate": rate,
                    **vars(stats),
                },
                indent=2,
            )
        )
    print(f"{'PASS' if errors == 0 else 'FAIL'}  errors {errors} (target 0)")
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
