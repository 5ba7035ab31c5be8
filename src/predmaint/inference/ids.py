"""Prediction ids: every answer, batch or real time, can be named when its outcome comes back.

Batch ids are deterministic: the same day, input file and row give the same id, so re-running a
day rewrites the same ids and outcomes recorded against the first run still join. They read
``YYYYMMDD-`` + 16 hex digits of a BLAKE2b hash of (day, file name, 1-based row of the file as it
arrived, before validation), so a quarantined row never shifts the ids of the rows after it.

API ids are ULIDs (26 Crockford base-32 characters: 48 bits of milliseconds, 80 random bits):
unique without coordination between replicas, and sorted by time as strings. The two forms
cannot collide: a batch id has a dash, a ULID never does.
"""

from __future__ import annotations

import hashlib
import os
import time
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

PREDICTION_ID = "prediction_id"
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def batch_prediction_id(ds: date, source: str, row: int) -> str:
    """The id of row ``row`` (1-based, as it arrived) of input file ``source`` scored on ``ds``.

    ``source`` is the file's name, not its path: moving the data folder keeps the ids.
    """
    key = f"{ds.isoformat()}|{source}|{row}".encode()
    return f"{ds:%Y%m%d}-{hashlib.blake2b(key, digest_size=8).hexdigest()}"


def batch_prediction_ids(ds: date, source: str, rows: int, first_row: int = 1) -> Any:
    """Ids of rows ``first_row``.. of one input file (a pandas string array, one per row).

    ``first_row`` > 1 names a chunk of a file read in pieces: its rows keep their file numbers.
    The same ids as :func:`batch_prediction_id`, made for millions of rows: the keys are bytes,
    the hashes raw digests, and the hex digits and the day prefix are laid out by numpy into one
    Arrow buffer, so no Python string is made per row (a third of the per-row cost was
    ``hexdigest`` and string concatenation).
    """
    import pyarrow as pa

    prefix = f"{ds.isoformat()}|{source}|".encode()
    blake2b = hashlib.blake2b
    digests = b"".join(
        [
            blake2b(prefix + b"%d" % row, digest_size=8).digest()
            for row in range(first_row, first_row + rows)
        ]
    )
    raw = np.frombuffer(digests, dtype=np.uint8).reshape(rows, 8)
    day = np.frombuffer(f"{ds:%Y%m%d}-".encode(), dtype=np.uint8)
    text = np.empty((rows, len(day) + 16), dtype=np.uint8)
    text[:, : len(day)] = day
    text[:, len(day) :: 2] = _HEX[raw >> 4]
    text[:, len(day) + 1 :: 2] = _HEX[raw & 15]
    offsets = np.arange(0, text.size + 1, text.shape[1], dtype=np.int64)
    array = pa.LargeStringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(text))
    return pd.array(array, dtype="str")


def with_batch_ids(frame: pd.DataFrame, ds: date, source: str, first_row: int = 1) -> pd.DataFrame:
    """``frame`` (an input file as read, before validation) with a ``prediction_id`` column first.

    Done before validation so the id follows the row into the predictions or the quarantine. A
    ``prediction_id`` column the file brought is replaced: ids are predmaint's to give.
    """
    out = frame.reset_index(drop=True).drop(columns=PREDICTION_ID, errors="ignore")
    out.insert(0, PREDICTION_ID, batch_prediction_ids(ds, source, len(out), first_row))
    return out


def _crockford(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "".join(reversed(chars))


#: Every pair of Crockford digits, for 10 bits at a time.
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]
_last_ms = -1
_last_prefix = ""
#: Random parts of future ids, from one ``os.urandom`` call per thousand ids (a system call per
#: id was a third of its cost). ``list.pop`` is atomic, so threads never share a part.
_random_parts: list[int] = []


def _random_part() -> int:
    """80 fresh random bits (the ULID's random part)."""
    try:
        return _random_parts.pop()
    except IndexError:
        block = os.urandom(10 * 1024)
        parts = [int.from_bytes(block[i : i + 10], "big") for i in range(0, len(block), 10)]
        _random_parts[:] = parts[1:]
        return parts[0]


def new_prediction_id(now_ms: int | None = None) -> str:
    """A fresh ULID for one API answer; ids made later sort after (to the millisecond).

    On the API's hot path, so: the time part is encoded once per millisecond, and the random
    part ten bits at a time from a table; the digit loop of :func:`_crockford` for every id
    cost several microseconds (``bench/api_inprocess.py``).
    """
    global _last_ms, _last_prefix
    ms = (time.time_ns() // 1_000_000 if now_ms is None else now_ms) & ((1 << 48) - 1)
    if ms != _last_ms:
        _last_prefix, _last_ms = _crockford(ms, 10), ms
    v = _random_part()
    pairs, m = _PAIRS, 1023
    return (
        _last_prefix
        + pairs[v >> 70]
        + pairs[(v >> 60) & m]
        + pairs[(v >> 50) & m]
        + pairs[(v >> 40) & m]
        + pairs[(v >> 30) & m]
        + pairs[(v >> 20) & m]
        + pairs[(v >> 10) & m]
        + pairs[v & m]
    )


def prediction_id_time_ms(prediction_id: str) -> int | None:
    """The creation time (ms since the epoch) of an API id; None for a batch id."""
    if len(prediction_id) != 26 or "-" in prediction_id:
        return None
    value = 0
    for char in prediction_id[:10].upper():
        index = _CROCKFORD.find(char)
        if index < 0:
            return None
        value = value * 32 + index
    return value
