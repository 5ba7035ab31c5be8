"""What the loop adds to a day's scoring, one chunk at a time: the shadow challenger and drift.

The batch job calls these hooks on each scored chunk (a file today; a slice of a file when files
are streamed), so they stay the same whatever the job's shape:

- :func:`add_shadow`: the ``challenger`` alias scores the same readings; its answer is kept
  beside the champion's (``challenger_version``, ``challenger_prediction``,
  ``challenger_failure_probability``), never served;
- :meth:`Watch.count`: the chunk's drift counts against the champion's training reference,
  added up over the day and judged once (:func:`predmaint.features.drift.drift_verdict`).

Prediction ids are given before validation (:func:`predmaint.inference.ids.with_batch_ids`), so
they are not a hook on the scored frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from predmaint.errors import ModelNotFoundError
from predmaint.features.drift import DriftCounts, DriftResult, DriftRule, count_drift, drift_verdict
from predmaint.features.reference import DriftReference
from predmaint.models.drift_reference import load_drift_reference
from predmaint.models.loading import LoadedModel, load_version
from predmaint.models.tracking import CHALLENGER
from predmaint.models.versions import ModelVersion, champion_info
from predmaint.settings import Settings

SHADOW_COLUMNS = ("challenger_version", "challenger_prediction", "challenger_failure_probability")


@dataclass(frozen=True)
class Watch:
    """The shadow challenger (if any) and the champion's drift reference (if it has one)."""

    challenger: LoadedModel | None = None
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


def load_challenger(settings: Settings, champion: ModelVersion) -> LoadedModel | None:
    """The ``challenger`` alias loaded, or None when there is none (or it is the champion)."""
    try:
        info = champion_info(settings, CHALLENGER)
    except ModelNotFoundError:
        return None
    return None if info.version == champion.version else load_version(settings, info)


def load_watch(settings: Settings, champion: ModelVersion, *, shadow: bool = True) -> Watch:
    """What a day scored by ``champion`` is watched with (``shadow=False``: no challenger, for
    a step that only judges the day's drift)."""
    return Watch(
        challenger=load_challenger(settings, champion) if shadow else None,
        reference=load_drift_reference(settings, champion),
        rule=DriftRule.from_settings(settings),
    )


def add_shadow(scored: pd.DataFrame, challenger: LoadedModel | None) -> pd.DataFrame:
    """``scored`` with the challenger's answer for each reading (nulls when there is none)."""
    out = scored
    if challenger is None or scored.empty:
        out["challenger_version"] = pd.Series(pd.NA, index=scored.index, dtype="string")
        out["challenger_prediction"] = pd.Series(pd.NA, index=scored.index, dtype="Int64")
        out["challenger_failure_probability"] = np.nan
        return out
    probability = challenger.failure_probability(scored)
    out["challenger_version"] = pd.Series(
        challenger.info.version, index=scored.index, dtype="string"
    )
    out["challenger_prediction"] = pd.Series(
        (probability >= challenger.threshold).astype("int64"), index=scored.index, dtype="Int64"
    )
    out["challenger_failure_probability"] = probability
    return out


def merge_counts(counts: list[DriftCounts | None]) -> DriftCounts | None:
    """The day's counts from its chunks' (None when no chunk was counted)."""
    present = [c for c in counts if c is not None]
    if not present:
        return None
    total = present[0]
    for more in present[1:]:
        total = total.merge(more)
    return total
