"""Every answer the API gives, recorded without slowing it: a bounded queue drained to Parquet.

A request adds one tuple to an in-memory deque (a length check and an append, on the event loop)
and goes on. A background task swaps the deque for an empty one every
``api_record_flush_s`` seconds and writes what it took, in a worker thread, to
``served/ds=<UTC day>/served-<time>-<host>-<pid>-<n>.parquet`` (atomically; one file per flush
and day, so replicas and restarts never write the same file: replicas in containers share a data
volume and all run as pid 1, their host names, the container ids, tell them apart). When the
queue holds ``api_record_queue_max`` answers (the disk stalled, or a burst outran the flushes),
new answers are dropped and counted in ``predmaint_answers_dropped_total``: a request is never
blocked or failed for the record's sake. Stopping the app flushes what is left.

An answer's id is a ULID (:func:`predmaint.inference.ids.new_prediction_id`), the last field of
its JSON body (:func:`stamp` adds it to a written body; ``/predict``'s writer,
:mod:`predmaint.api.single`, writes it there itself), so the spec's fields keep their place and
shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections import deque
from datetime import UTC, datetime
from itertools import count

import pandas as pd
from prometheus_client import CollectorRegistry, Counter

from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.inference.ids import PREDICTION_ID, new_prediction_id
from predmaint.settings import Settings
from predmaint.storage import partition_dir, write_parquet_atomic

log = logging.getLogger(__name__)

#: One answer: id, time (ns since the epoch), the five inputs, prediction, score, level, version.
Answer = tuple[str, int, tuple[float, ...], int, float, str, str]


def stamp(body: str, prediction_id: str) -> str:
    """``body`` (a JSON object) with ``prediction_id`` as its last field."""
    return f'{body[:-1]},"prediction_id":"{prediction_id}"}}'


class AnswerRecorder:
    """The bounded queue of answers and the task that drains it."""

    def __init__(self, settings: Settings, registry: CollectorRegistry | None = None) -> None:
        self.settings = settings
        self.capacity = settings.api_record_queue_max
        self.interval = settings.api_record_flush_s
        self.enabled = settings.api_record_answers
        self._pending: deque[Answer] = deque()
        self._files = count()
        self._host = socket.gethostname()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        registry = registry or CollectorRegistry()
        self.recorded = Counter(
            "predmaint_answers_recorded",
            "API answers written to data/served/.",
            registry=registry,
        )
        self.dropped = Counter(
            "predmaint_answers_dropped",
            "API answers not recorded because the recording queue was full.",
            registry=registry,
        )

    def new_id(self) -> str:
        return new_prediction_id()

    def record(
        self,
        prediction_id: str,
        values: tuple[float, ...],
        prediction: int,
        failure_probability: float,
        risk_level: str,
        version: str,
    ) -> None:
        """Queue one answer; drop and count it when the queue is full (never wait)."""
        if not self.enabled:
            return
        if len(self._pending) >= self.capacity:
            self.dropped.inc()
            return
        self._pending.append(
            (
                prediction_id,
                time.time_ns(),
                values,
                prediction,
                failure_probability,
                risk_level,
                version,
            )
        )

    @property
    def queued(self) -> int:
        return len(self._pending)

    async def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.create_task(self._drain(), name="predmaint-answer-recorder")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def _drain(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.flush()
            except OSError:  # a full or read-only disk: keep serving, say why, try again
                log.exception("could not write the served answers; retrying")

    async def flush(self) -> int:
        """Write every queued answer now (the feedback route calls it before validating ids)."""
        async with self._lock:
            if not self._pending:
                return 0
            batch, self._pending = self._pending, deque()
            await asyncio.to_thread(self._write, list(batch))
            self.recorded.inc(len(batch))
            return len(batch)

    def _write(self, batch: list[Answer]) -> None:
        ids, stamps, values, predictions, scores, levels, versions = zip(*batch, strict=True)
        frame = pd.DataFrame(
            {
                PREDICTION_ID: ids,
                "answered_at": pd.to_datetime(stamps, unit="ns", utc=True),
                **{name: [v[i] for v in values] for i, name in enumerate(SENSOR_COLUMNS)},
                "prediction": pd.Series(predictions, dtype="int64"),
                "failure_probability": scores,
                "risk_level": levels,
                "model_version": versions,
            }
        )
        frame["day"] = frame["answered_at"].dt.date
        now = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        for day, group in frame.groupby("day"):
            name = f"served-{now}-{self._host}-{os.getpid()}-{next(self._files)}.parquet"
            path = partition_dir(self.settings.served_dir, day) / name  # type: ignore[arg-type]
            write_parquet_atomic(group.drop(columns="day"), path)
