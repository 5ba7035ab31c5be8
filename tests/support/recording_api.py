"""``predmaint serve`` as a plant runs it in the loop, for the tests of what it records.

The session's champion, an API key, and a data folder of the server's own where answers are
recorded (``served/``, flushed every 0.2 s so a test waits fractions of a second) and outcomes sent
to ``/feedback`` land (``outcomes/``). The ``recording_api`` fixture of ``tests/conftest.py`` starts
one per test module that asks for it (the Open Inference Protocol and the loop tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from bench.common import predmaint_server

API_KEY = "rec0rding-k3y"
#: The header every guarded route of the server needs.
KEY = {"X-API-Key": API_KEY}


@dataclass(frozen=True)
class RecordingApi:
    """A running server: its base URL and the data folder it records into."""

    url: str
    data_dir: Path


@contextmanager
def serve_recording(home: Path, data_dir: Path, log: Path) -> Iterator[RecordingApi]:
    """The server on a free loopback port for project ``home``, until the block ends."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with predmaint_server(
        home, log=log, data_dir=str(data_dir), api_key=API_KEY, api_record_flush_s="0.2"
    ) as url:
        yield RecordingApi(url, data_dir)


def served_answers(data_dir: Path) -> pd.DataFrame:
    """Every answer recorded in ``served/`` so far (empty when none is)."""
    files = sorted((data_dir / "served").glob("ds=*/*.parquet"))
    return pd.concat(pd.read_parquet(f) for f in files) if files else pd.DataFrame()
