"""Streaming validation of plant readings: the readings schema's rules, vectorised with numpy.

Written for measured speed (docs/benchmarks.md): pandera's lazy validation builds a frame of
failure cases per check and was most of the batch job's time on a large day. Here each rule is
one numpy mask over a chunk and each distinct combination of broken rules is described once. The
rules, their order and their texts are those of :func:`predmaint.data.schemas.readings_schema`
(same constants from :mod:`predmaint.data.columns`); ``tests/unit/test_readings_check.py`` holds
the two to the same reasons on bad data. A chunk with a value that cannot even be parsed as its
column's type (a ``"broken"`` torque) is rare and goes to the pandera validation itself.

The checker keeps state across the chunks of one file, so chunking changes nothing: a ``udi``
seen in an earlier chunk is a duplicate, and an exact repeat of an earlier reading is counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from predmaint.data.columns import (
    MACHINE_ID,
    MACHINE_ID_RULE,
    MACHINE_TYPES,
    SENSOR_COLUMNS,
    SENSOR_RANGES,
    TIMESTAMP,
    TIMESTAMP_RULE,
    TYPE_RULE,
    finite_rule,
    range_rule,
)
from predmaint.data.plant import (
    bad_machine_ids,
    bad_timestamps,
    machine_ids,
    parse_timestamps,
)
from predmaint.errors import DataValidationError

REASON_COLUMN = "quarantine_reason"
ROW_COLUMN = "source_row"
MISSING_VALUE = "missing value"
DUPLICATE_VALUE = "duplicate value (first occurrence kept)"
DUPLICATE_UDI = f"udi: {DUPLICATE_VALUE}"
#: Row ids of repeated readings kept as examples in the report.
EXAMPLES = 20
#: Largest udi tracked in a dense bitmap (one byte per id); larger ids use a sorted array.
_DENSE_IDS = 1 << 27


@dataclass
class ChunkResult:
    """One chunk split into typed valid rows and quarantined rows (raw values + reasons)."""

    valid: pd.DataFrame
    quarantined: pd.DataFrame
    #: 1-based row numbers in the file of the valid rows (the quarantined ones have theirs).
    valid_rows: np.ndarray
    #: The machine type of every row of the chunk when they all have the same one (none
    #: missing), else None: the batch job then skips its per-reading type comparisons.
    only_type: str | None = None


class SeenIds:
    """Which ids an earlier chunk of the file already had (``udi`` must be unique per file)."""

    def __init__(self) -> None:
        self._dense = np.zeros(0, dtype=bool)
        self._sparse = np.zeros(0, dtype=np.int64)

    def seen_before(self, ids: np.ndarray) -> np.ndarray:
        """Mask of ``ids`` seen in an earlier call; then remember all of ``ids``."""
        before = np.zeros(len(ids), dtype=bool)
        dense = (ids >= 0) & (ids < _DENSE_IDS)
        small = ids[dense]
        if len(small):
            high = int(small.max())
            if high >= len(self._dense):
                grown = np.zeros(max(high + 1, 2 * len(self._dense)), dtype=bool)
                grown[: len(self._dense)] = self._dense
                self._dense = grown
            before[dense] = self._dense[small]
            self._dense[small] = True
        large = ids[~dense]
        if len(large):
            if len(self._sparse):
                where = np.searchsorted(self._sparse, large).clip(max=len(self._sparse) - 1)
                before[~dense] = self._sparse[where] == large
            self._sparse = np.union1d(self._sparse, large)
        return before


@dataclass
class RepeatedReadings:
    """Readings whose five sensor values equal an earlier reading's of the same file.

    Counted, not quarantined (docs/batch.md says why). Readings are compared by a 64-bit hash
    of their five values: two different readings share a hash with a probability of about
    ``n² / 2⁶⁵`` (1e-5 for 20 M distinct readings), which would count one repeat too many.
    """

    count: int = 0
    examples: list[Any] = field(default_factory=list)
    #: The hashes of earlier chunks as sorted runs of decreasing size (each at most half the
    #: one before it, as the bits of a binary counter): a chunk is looked up in the few runs
    #: and merged into the small ones only. One sorted array, merged whole with every chunk,
    #: made the day quadratic: 6.6 s for 5 M distinct readings, 57 s for 20 M (one core).
    _runs: list[np.ndarray] = field(default_factory=list)

    def add(self, sensors: np.ndarray, ids: np.ndarray) -> int:
        """Count the repeats among ``sensors`` (rows of five values); return how many."""
        if len(sensors) == 0:
            return 0
        return self.add_hashes(_row_hash(sensors), ids)

    def add_hashes(self, hashes: np.ndarray, ids: np.ndarray) -> int:
        """:meth:`add` of readings already hashed (:func:`column_hash` of their five columns)."""
        if len(hashes) == 0:
            return 0
        # pandas' hash table finds repeats inside the chunk in one pass (no sort)
        repeat = pd.Series(hashes, copy=False).duplicated(keep="first").to_numpy(copy=True)
        firsts = np.flatnonzero(~repeat)
        new = hashes[firsts]
        # in sorted order: searchsorted walks each run once instead of jumping about it
        order = np.argsort(new)
        new, firsts = new[order], firsts[order]
        if self._runs:
            known = np.zeros(len(new), dtype=bool)
            for run in self._runs:
                where = np.searchsorted(run, new).clip(max=len(run) - 1)
                known |= run[where] == new
            repeat[firsts[known]] = True  # first in this chunk, but an earlier chunk had it
            new = new[~known]
        self._remember(new)
        found = int(repeat.sum())
        if found and len(self.examples) < EXAMPLES:
            picked = ids[repeat][: EXAMPLES - len(self.examples)]
            self.examples.extend(v.item() if hasattr(v, "item") else v for v in picked)
        self.count += found
        return found

    def _remember(self, run: np.ndarray) -> None:
        """Keep ``run`` (sorted, none known yet), merged with the runs not larger than it."""
        while self._runs and len(self._runs[-1]) <= len(run):
            run = _merge(self._runs.pop(), run)
        if len(run):
            self._runs.append(run)


def _merge(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two sorted arrays without common values as one, in linear time (numpy's stable sort of
    their concatenation took 190 ms for 4 M + 125,000 hashes)."""
    at = np.searchsorted(a, b) + np.arange(len(b))
    merged = np.empty(len(a) + len(b), dtype=a.dtype)
    from_b = np.zeros(len(merged), dtype=bool)
    from_b[at] = True
    merged[at] = b
    merged[~from_b] = a
    return merged


def _row_hash(sensors: np.ndarray) -> np.ndarray:
    values = np.asarray(sensors, dtype=np.float64)
    return column_hash([values[:, column] for column in range(values.shape[1])])


def column_hash(columns: list[np.ndarray]) -> np.ndarray:
    """A 64-bit hash of each reading given as its value columns (float64, any strides).

    The hash :func:`_row_hash` gives the rows of the same values; from the columns the frame
    already holds, in place: 1.1 ms instead of 2.5 ms for a 125,000-reading chunk (the row
    form copied the chunk into a row-major array and allocated a temporary per operation).
    """
    size = len(columns[0]) if columns else 0
    mixed = np.full(size, 0x9E3779B97F4A7C15, dtype=np.uint64)
    scratch = np.empty(size, dtype=np.float64)
    bits = scratch.view(np.uint64)
    shifted = np.empty(size, dtype=np.uint64)
    for column in columns:
        np.add(column, 0.0, out=scratch)  # -0.0 becomes 0.0: equal readings, equal bits
        mixed ^= bits
        mixed *= np.uint64(0xBF58476D1CE4E5B9)
        np.right_shift(mixed, np.uint64(31), out=shifted)
        mixed ^= shifted
    return mixed


class ReadingsCheck:
    """Validate the chunks of one file in order (row numbers and duplicates span chunks)."""

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self.rows_seen = 0
        self.ids = SeenIds()
        self.repeats = RepeatedReadings()

    def check(self, frame: pd.DataFrame) -> ChunkResult:
        missing = [c for c in SENSOR_COLUMNS if c not in frame.columns]
        if missing:
            raise DataValidationError(
                f"{self.stage} input is missing required column(s): {', '.join(missing)}"
            )
        frame = frame.reset_index(drop=True)
        offset, self.rows_seen = self.rows_seen, self.rows_seen + len(frame)
        typed = _parse(frame)
        if typed is None:
            result = self._reference(frame)
            self._count_repeats(result.valid)
        else:
            result, hashes = self._vectorised(frame, typed)
            self.repeats.add_hashes(hashes, _repeat_ids(result.valid))
        result.quarantined[ROW_COLUMN] += offset
        result.valid_rows += offset
        return result

    def _vectorised(
        self, frame: pd.DataFrame, typed: pd.DataFrame
    ) -> tuple[ChunkResult, np.ndarray]:
        """The chunk's verdicts, and the :func:`column_hash` of its valid readings."""
        # None: a rule no reading of the chunk breaks (its bit stays in place, unset)
        masks: list[tuple[str, np.ndarray | None]] = []
        sensors: list[np.ndarray] = []
        for name in SENSOR_COLUMNS:
            values = typed[name].to_numpy()
            sensors.append(values)
            bounds = SENSOR_RANGES[name]
            with np.errstate(invalid="ignore"):
                low_ok = values >= bounds.low if bounds.low_inclusive else values > bounds.low
                in_range = low_ok & (values <= bounds.high)
            rules = (f"{name}: {MISSING_VALUE}", finite_rule(name), range_rule(name))
            if math.isfinite(bounds.low) and math.isfinite(bounds.high) and in_range.all():
                # finite bounds hold no NaN nor infinity: the column breaks none of its rules
                masks.extend((rule, None) for rule in rules)
                continue
            missing = np.isnan(values)
            masks.append((rules[0], missing))
            masks.append((rules[1], ~missing & ~np.isfinite(values)))
            masks.append((rules[2], ~missing & ~in_range))
        if "udi" in typed.columns:
            masks.append((DUPLICATE_UDI, self._duplicates(typed["udi"])))
        only_type = None
        if "type" in typed.columns:
            kind = typed["type"]
            only_type = only_value(kind)
            if only_type is None:
                unknown = (kind.notna() & ~kind.isin(MACHINE_TYPES)).to_numpy()
            else:  # one type in the whole chunk (as plants send them): one comparison
                unknown = np.full(len(kind), only_type not in MACHINE_TYPES)
            masks.append((TYPE_RULE, unknown))
        if MACHINE_ID in typed.columns:
            masks.append((MACHINE_ID_RULE, bad_machine_ids(typed[MACHINE_ID])))
        if TIMESTAMP in typed.columns:
            masks.append((TIMESTAMP_RULE, bad_timestamps(frame[TIMESTAMP], typed[TIMESTAMP])))
        bad = np.zeros(len(frame), dtype=bool)
        for _, mask in masks:
            if mask is not None:
                bad |= mask
        hashes = column_hash(sensors)
        if not bad.any():
            empty = frame.iloc[:0].copy()
            empty.insert(0, ROW_COLUMN, np.zeros(0, dtype=np.int64))
            empty[REASON_COLUMN] = np.zeros(0, dtype=object)
            return ChunkResult(typed, empty, np.arange(1, len(frame) + 1), only_type), hashes
        rows = np.flatnonzero(bad)
        codes = np.zeros(len(rows), dtype=np.int64)
        for bit, (_, mask) in enumerate(masks):
            if mask is not None:
                codes |= mask[rows].astype(np.int64) << bit
        patterns, inverse = np.unique(codes, return_inverse=True)
        texts = np.array(
            ["; ".join(t for bit, (t, _) in enumerate(masks) if p >> bit & 1) for p in patterns],
            dtype=object,
        )
        quarantined = frame.iloc[rows].copy()
        quarantined.insert(0, ROW_COLUMN, rows + 1)
        quarantined[REASON_COLUMN] = texts[inverse]
        good = np.flatnonzero(~bad)
        valid = typed.iloc[good].reset_index(drop=True)
        return ChunkResult(valid, quarantined, good + 1, only_type), hashes[good]

    def _duplicates(self, udi: pd.Series) -> np.ndarray:
        present = udi.notna().to_numpy()
        ids = udi.to_numpy(dtype=np.int64, na_value=0)[present]
        if len(ids) < 2 or bool((ids[1:] > ids[:-1]).all()):
            # ids in increasing order (as plants number readings): none repeats in the chunk,
            # known in one pass instead of a hash table
            duplicate = np.zeros(len(udi), dtype=bool)
        else:
            duplicate = udi.duplicated(keep="first").to_numpy() & present
        duplicate[present] |= self.ids.seen_before(ids)
        return duplicate

    def _reference(self, frame: pd.DataFrame) -> ChunkResult:
        """The pandera validation, for a chunk with values that do not parse as their type."""
        from predmaint.data.schemas import readings_schema
        from predmaint.data.validation import validate_frame

        outcome = validate_frame(frame, readings_schema(identity_required=False), stage=self.stage)
        valid, quarantined = outcome.valid, outcome.quarantined
        # validate_frame keeps the valid rows in order: their positions are the others'.
        kept = np.setdiff1d(np.arange(len(frame)), quarantined[ROW_COLUMN].to_numpy() - 1)
        if "udi" in valid.columns and len(valid):
            again = self._duplicates(valid["udi"])
            if again.any():
                moved = frame.iloc[kept[again]].copy()
                moved.insert(0, ROW_COLUMN, kept[again] + 1)
                moved[REASON_COLUMN] = DUPLICATE_UDI
                quarantined = pd.concat([quarantined, moved]).sort_values(ROW_COLUMN)
                valid, kept = valid[~again].reset_index(drop=True), kept[~again]
        return ChunkResult(valid, quarantined, kept + 1)

    def _count_repeats(self, valid: pd.DataFrame) -> None:
        if valid.empty:
            return
        self.repeats.add(valid[list(SENSOR_COLUMNS)].to_numpy(dtype=np.float64), _repeat_ids(valid))


def _repeat_ids(valid: pd.DataFrame) -> np.ndarray:
    """The ids a repeated reading is shown by in the report (its udi, else its valid row)."""
    return valid["udi"].to_numpy() if "udi" in valid.columns else np.arange(len(valid)) + 1


def only_value(column: pd.Series) -> Any:
    """The value every row of a text column holds, when it is one and none is missing, else
    None (also for a column not stored in Arrow, which would need a Python object per row).

    One ``pyarrow.compute.unique`` (0.6 ms for 125,000 readings) instead of the per-reading
    ``isin`` and ``==`` on the type column (about 3 ms per use, three uses per chunk).
    """
    array = column.array
    if len(array) == 0 or getattr(column.dtype, "storage", None) != "pyarrow":
        return None
    import pyarrow.compute as pc

    arrow = array.__arrow_array__()
    if arrow.null_count:
        return None
    distinct = pc.unique(arrow)
    return distinct[0].as_py() if len(distinct) == 1 else None


def _parse(frame: pd.DataFrame) -> pd.DataFrame | None:
    """The frame with the schema's dtypes, or None if some value does not parse.

    The conversions are the ones pandera's ``coerce`` applies (``Series.astype``), so a chunk that
    parses here parses the same way there.
    """
    typed: dict[str, pd.Series[Any]] = {}
    try:
        for name in frame.columns:
            column = frame[name]
            if name in SENSOR_COLUMNS:
                if column.dtype == bool:
                    return None
                typed[name] = column.astype(np.float64)
            elif name == "udi":
                typed[name] = column.astype("Int64")
            elif name in ("product_id", "type"):
                typed[name] = column if column.dtype == "str" else column.astype("str")
            elif name == MACHINE_ID:
                typed[name] = machine_ids(column)
            elif name == TIMESTAMP:
                typed[name] = parse_timestamps(column)  # NaT where it does not parse: a reason
            else:
                typed[name] = column
    except (ValueError, TypeError, OverflowError):
        return None
    # copy=False: the columns as they are, not copied into one block (0.3 ms, not 1.3 ms)
    return pd.DataFrame(typed, index=frame.index, copy=False)
