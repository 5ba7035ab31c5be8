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

from dataclasses import dataclass, field

import pandas as pd

from predmaint.features.drift import DriftCounts, DriftResult, DriftRule, count_drift, drift_verdict
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


def merge_counts(counts: list[DriftCounts | None]) -> DriftCounts | None:
    """The day's counts from its chunks' (None when no chunk was counted)."""
    present = [c for c in counts if c is not None]
    if not present:
        return None
    total = present[0]
    for more in present[1:]:
        total = total.merge(more)
    return total
