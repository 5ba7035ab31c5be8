"""What the loop adds to a day's scoring, one chunk at a time: drift against the champion's
training reference.

:meth:`Watch.count` gives a chunk's drift counts; they are added up over the day and judged once
(:func:`predmaint.features.drift.drift_verdict`), so the verdict does not depend on the chunking.

The shadow challenger is not scored here any more: it is a step of its own after the day is
published (:mod:`predmaint.inference.shadow`), so that it can neither delay nor fail the
champion's predictions. Prediction ids are given before validation
(:func:`predmaint.inference.ids.with_batch_ids`), so they are not a hook on the scored frame.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import pandas as pd

from predmaint.features.drift import (
    DriftCounts,
    DriftResult,
    DriftRule,
    count_drift,
    drift_verdict,
)
from predmaint.features.reference import DriftReference
from predmaint.models.drift_reference import load_drift_reference
from predmaint.models.versions import ModelVersion
from predmaint.settings import Settings


@dataclass(frozen=True)
class Watch:
    """The champion's drift reference (if it has one) and the rule that judges a day."""

    reference: DriftReference | None = None
    rule: DriftRule = field(default_factory=DriftRule)

    def count(self, readings: pd.DataFrame) -> DriftCounts | None:
        """Drift counts of one chunk of valid readings, in arrival order."""
        if self.reference is None:
            return None
        return count_drift(readings, self.reference, self.rule.autocorrelation)

    def verdict(self, counts: DriftCounts | None) -> DriftResult | None:
        """The day's drift verdict from its summed counts (None without a reference)."""
        if self.reference is None or counts is None:
            return None
        return drift_verdict(counts, self.reference, self.rule)


def load_watch(settings: Settings, champion: ModelVersion) -> Watch:
    """What a day scored by ``champion`` is watched with."""
    return Watch(
        reference=load_drift_reference(settings, champion),
        rule=DriftRule.from_settings(settings),
    )


class ChunkCounts:
    """A file's chunks counted for drift on a thread of their own, one chunk in flight.

    Counting is numpy work that mostly releases the GIL (a sort and running sums per feature,
    about 14 ms for 125,000 readings): it runs while the job validates, scores and writes the
    next chunk. ``total`` is the file's counts (None without a reference).
    """

    def __init__(self, watch: Watch | None) -> None:
        self.watch = watch if watch is not None and watch.reference is not None else None
        self._counts: list[DriftCounts | None] = []
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future[DriftCounts | None] | None = None

    def __enter__(self) -> ChunkCounts:
        return self

    def add(self, readings: pd.DataFrame) -> None:
        """Count one chunk of valid readings (in arrival order)."""
        if self.watch is None:
            return
        self._wait()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="predmaint-drift")
        self._pending = self._pool.submit(self.watch.count, readings)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            self._counts.append(pending.result())

    def total(self) -> DriftCounts | None:
        self._wait()
        return merge_counts(self._counts)

    def __exit__(self, *_: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)


def merge_counts(counts: list[DriftCounts | None]) -> DriftCounts | None:
    """The day's counts from its chunks' (None when no chunk was counted)."""
    present = [c for c in counts if c is not None]
    if not present:
        return None
    total = present[0]
    for more in present[1:]:
        total = total.merge(more)
    return total
