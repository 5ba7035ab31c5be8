"""Prediction ids: every answer, batch or real time, can be named when its outcome comes back.

Batch ids are deterministic: the same day, input file and row give the same id, so re-running a
day rewrites the same ids and outcomes recorded against the first run still join. They read
``YYYYMMDD-`` + 16 hex digits of the 1-based row of the file as it arrived (before validation,
so a quarantined row never shifts the ids of the rows after it), mixed by a 64-bit bijection
keyed by a BLAKE2b hash of (day, file name): ids of one file never collide, and ids of
different files or days look unrelated (:func:`row_codes` says why it is not a hash per row).

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
#: The two hex digits of each byte value, as one 2-byte item (the digits in memory order).
_HEX_PAIRS = np.frombuffer(b"".join(b"%02x" % v for v in range(256)), dtype=np.uint16)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: SplitMix64's increment and finaliser multipliers (Steele, Lea and Flood, 2014).
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


def batch_prediction_id(ds: date, source: str, row: int) -> str:
    """The id of row ``row`` (1-based, as it arrived) of input file ``source`` scored on ``ds``.

    ``source`` is the file's name, not its path: moving the data folder keeps the ids.
    """
    return str(batch_prediction_ids(ds, source, 1, row)[0])


def batch_prediction_ids(ds: date, source: str, rows: int, first_row: int = 1) -> Any:
    """Ids of rows ``first_row``.. of one input file (a pandas string array, one per row).

    ``first_row`` > 1 names a chunk of a file read in pieces: its rows keep their file numbers.
    The hex digits and the day prefix are laid out by numpy into one Arrow buffer: no Python
    string is made per row.
    """
    return ids_from_codes(ds, row_codes(file_key(ds, source), first_row, rows))


def file_key(ds: date, source: str) -> int:
    """The 64-bit key of one (day, input file): the first 8 bytes of their BLAKE2b hash."""
    digest = hashlib.blake2b(f"{ds.isoformat()}|{source}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def row_codes(key: int, first_row: int, rows: int) -> np.ndarray:
    """The 64-bit codes of rows ``first_row``.. of the file keyed ``key``: SplitMix64.

    ``key + row × golden`` then SplitMix64's finaliser (xor-shifts and odd multiplications):
    each step is a bijection of 64-bit integers, so the rows of one file get distinct codes,
    and the finaliser's avalanche makes neighbouring rows and files look unrelated. Our own, for
    measured speed: a BLAKE2b hash per row ran in Python's loop, 2.5 CPU-s for a 5 M-reading
    day (a quarter of the whole job's CPU, even on a helper process); this is ten numpy
    operations per chunk, 0.06 CPU-s for the same day. Ids name rows; they are not secrets.
    """
    codes = np.arange(first_row, first_row + rows, dtype=np.uint64)
    codes *= _GOLDEN
    codes += np.uint64(key)
    codes ^= codes >> np.uint64(30)
    codes *= _MIX_1
    codes ^= codes >> np.uint64(27)
    codes *= _MIX_2
    codes ^= codes >> np.uint64(31)
    return codes


def ids_from_codes(ds: date, codes: np.ndarray) -> Any:
    """The ids (``YYYYMMDD-`` + 16 hex digits, most significant first) of 64-bit codes, as a
    pandas string array.

    Each byte's two hex digits are gathered as one 2-byte item (``np.take`` of a 256-entry
    uint16 table), for measured speed: 3.2 ms for a 125,000-row chunk where fancy indexing a
    (256, 2) uint8 table took 10 ms (``thread_time``, the same loaded machine).
    """
    import pyarrow as pa

    rows = len(codes)
    raw = codes.astype(">u8").view(np.uint8)
    day = np.frombuffer(f"{ds:%Y%m%d}-".encode(), dtype=np.uint8)
    text = np.empty((rows, len(day) + 16), dtype=np.uint8)
    text[:, : len(day)] = day
    text[:, len(day) :] = np.take(_HEX_PAIRS, raw).view(np.uint8).reshape(rows, 16)
    offsets = np.arange(0, text.size + 1, text.shape[1], dtype=np.int64)
    array = pa.LargeStringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(text))
    return pd.array(array, dtype="str")


class BatchIds:
    """The ids of one input file's rows, chunk after chunk (their rows keep their file numbers)."""

    def __init__(self, ds: date, source: str) -> None:
        self.ds = ds
        self._key = file_key(ds, source)
        self._next = 1  # the first row not yet handed out

    def take(self, rows: int) -> Any:
        """The ids of the next ``rows`` rows of the file."""
        ids = ids_from_codes(self.ds, row_codes(self._key, self._next, rows))
        self._next += rows
        return ids


def with_batch_ids(
    frame: pd.DataFrame, ds: date, source: str, first_row: int = 1, ids: Any = None
) -> pd.DataFrame:
    """``frame`` (an input file as read, before validation) with a ``prediction_id`` column first.

    Done before validation so the id follows the row into the predictions or the quarantine. A
    ``prediction_id`` column the file brought is replaced: ids are predmaint's to give. ``ids``:
    the rows' ids already made (by :class:`BatchIds`), else they are made here.
    """
    out = frame.reset_index(drop=True).drop(columns=PREDICTION_ID, errors="ignore")
    if ids is None:
        ids = batch_prediction_ids(ds, source, len(out), first_row)
    out.insert(0, PREDICTION_ID, ids)
    return out


def _crockford(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "".join(reversed(chars))


#: Crockford's digit of each byte's low 5 bits (256 is a multiple of 32: every digit as likely).
_DIGIT_OF_BYTE = bytes(_CROCKFORD.encode()[byte & 31] for byte in range(256))
#: Every pair of Crockford digits, for 10 bits at a time.
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]
#: Ids' random parts (80 bits = 16 Crockford digits), made a thousand at a time.
_RANDOM_BLOCK = 1024
_last_ms = -1
_last_prefix = ""
_random_parts: list[str] = []


def _random_parts_block() -> list[str]:
    """A thousand fresh random parts from one ``os.urandom`` call and one ``bytes.translate``.

    Our own encoding, for measured speed: each random byte gives one digit (its low 5 bits), so
    16 bytes make the 80 random bits of a ULID's 16 digits, translated to Crockford's digits in
    one C call for the whole block. Measured (``timeit``, same loaded machine): an id in 0.3 µs,
    block included, where encoding each id's 80 bits by eight table lookups took 1.3 µs.
    """
    digits = os.urandom(16 * _RANDOM_BLOCK).translate(_DIGIT_OF_BYTE).decode("ascii")
    return [digits[i : i + 16] for i in range(0, len(digits), 16)]


def _time_part(ms: int) -> str:
    """The 10 digits of a ULID's 48-bit time, 10 bits at a time (as ``_crockford(ms, 10)``)."""
    pairs, m = _PAIRS, 1023
    return (
        pairs[ms >> 40] + pairs[(ms >> 30) & m] + pairs[(ms >> 20) & m] + pairs[(ms >> 10) & m]
    ) + pairs[ms & m]


def _random_part() -> str:
    """16 Crockford digits of fresh random bits (the ULID's random part).

    ``list.pop`` is atomic, so threads never share a part.
    """
    try:
        return _random_parts.pop()
    except IndexError:
        parts = _random_parts_block()
        _random_parts[:] = parts[1:]
        return parts[0]


def new_prediction_id(now_ms: int | None = None) -> str:
    """A fresh ULID for one API answer; ids made later sort after (to the millisecond).

    On the API's hot path, so the time part is encoded once per millisecond and the random
    parts a thousand at a time (:func:`_random_parts_block`).
    """
    global _last_ms, _last_prefix
    ms = (time.time_ns() // 1_000_000 if now_ms is None else now_ms) & ((1 << 48) - 1)
    if ms != _last_ms:
        _last_prefix, _last_ms = _time_part(ms), ms
    try:
        return _last_prefix + _random_parts.pop()
    except IndexError:
        return _last_prefix + _random_part()


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
