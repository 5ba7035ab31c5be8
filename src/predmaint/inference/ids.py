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

import contextlib
import hashlib
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from predmaint.inference.id_hashes import DIGEST_BYTES, digests

PREDICTION_ID = "prediction_id"
#: The two hex digits of each byte value, as one 2-byte item (the digits in memory order).
_HEX_PAIRS = np.frombuffer(b"".join(b"%02x" % v for v in range(256)), dtype=np.uint16)
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
    return ids_from_digests(ds, digests(_key_prefix(ds, source), first_row, rows))


def _key_prefix(ds: date, source: str) -> bytes:
    return f"{ds.isoformat()}|{source}|".encode()


def ids_from_digests(ds: date, joined: bytes) -> Any:
    """The ids (``YYYYMMDD-`` + hex) of joined 8-byte digests, as a pandas string array.

    Each digest byte's two hex digits are gathered as one 2-byte item (``np.take`` of a
    256-entry uint16 table), for measured speed: 3.2 ms for a 125,000-row chunk where fancy
    indexing a (256, 2) uint8 table took 10 ms (``thread_time``, the same loaded machine).
    """
    import pyarrow as pa

    rows = len(joined) // DIGEST_BYTES
    raw = np.frombuffer(joined, dtype=np.uint8)
    day = np.frombuffer(f"{ds:%Y%m%d}-".encode(), dtype=np.uint8)
    text = np.empty((rows, len(day) + 2 * DIGEST_BYTES), dtype=np.uint8)
    text[:, : len(day)] = day
    text[:, len(day) :] = np.take(_HEX_PAIRS, raw).view(np.uint8).reshape(rows, 2 * DIGEST_BYTES)
    offsets = np.arange(0, text.size + 1, text.shape[1], dtype=np.int64)
    array = pa.LargeStringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(text))
    return pd.array(array, dtype="str")


class BatchIds:
    """The ids of one input file's rows, chunk after chunk, the next chunk's made ahead.

    Once a file proves large (a first chunk of ``ahead_rows`` rows), the digests of the next
    ``ahead_rows`` rows are asked of a helper process (:mod:`predmaint.inference.id_hashes`) as
    each chunk is handed out, so they are made on another core while the chunk is validated,
    scored and written. The ids are those of :func:`batch_prediction_ids` either way; without
    the helper (it cannot start, or dies) they are made here. At most one block is made ahead
    for nothing, at the end of the file.
    """

    def __init__(self, ds: date, source: str, ahead_rows: int) -> None:
        self.ds = ds
        self._prefix = _key_prefix(ds, source)
        self._ahead = ahead_rows
        self._next = 1  # the first row not yet handed out
        self._buffer = b""  # digests of rows self._next.. made ahead
        self._asked = 0  # rows asked of the helper, not yet read
        self._helper: subprocess.Popen[bytes] | None = None
        self._started = False

    def __enter__(self) -> BatchIds:
        return self

    def take(self, rows: int) -> Any:
        """The ids of the next ``rows`` rows of the file."""
        have = len(self._buffer) // DIGEST_BYTES
        joined = self._buffer
        if have < rows and self._asked:
            joined += self._collect()
            have = len(joined) // DIGEST_BYTES
        if have < rows:
            joined += digests(self._prefix, self._next + have, rows - have)
        self._buffer = joined[rows * DIGEST_BYTES :]
        ids = ids_from_digests(self.ds, joined[: rows * DIGEST_BYTES])
        self._next += rows
        if rows >= self._ahead and not self._buffer and not self._asked:
            self._ask(self._next, self._ahead)
        return ids

    def _ask(self, first: int, rows: int) -> None:
        helper = self._start()
        if helper is None or helper.stdin is None:
            return
        try:
            helper.stdin.write(b"%d %d\n" % (first, rows))
            helper.stdin.flush()
            self._asked = rows
        except OSError:
            self._stop()

    def _collect(self) -> bytes:
        """The digests asked for (empty if the helper failed: they are made here then)."""
        helper, wanted = self._helper, self._asked * DIGEST_BYTES
        self._asked = 0
        data = b""
        if helper is not None and helper.stdout is not None:
            try:
                data = helper.stdout.read(wanted)
            except OSError:
                data = b""
        if len(data) != wanted:
            self._stop()
            return b""
        return data

    def _start(self) -> subprocess.Popen[bytes] | None:
        if not self._started:
            self._started = True
            try:
                self._helper = subprocess.Popen(
                    [sys.executable, "-m", "predmaint.inference.id_hashes"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env={**os.environ, "PYTHONPATH": _package_root()},
                )
                assert self._helper.stdin is not None
                self._helper.stdin.write(self._prefix.hex().encode() + b"\n")
            except OSError:
                self._stop()
        return self._helper

    def _stop(self) -> None:
        helper, self._helper = self._helper, None
        if helper is not None:
            for pipe in (helper.stdin, helper.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
            helper.kill()
            helper.wait()

    def __exit__(self, *_: object) -> None:
        self._stop()


def _package_root() -> str:
    """The folder holding the ``predmaint`` package, first on the helper's import path (the
    helper must run this very code, also from a source checkout that is not installed)."""
    import predmaint

    root = str(Path(predmaint.__file__).resolve().parent.parent)
    rest = os.environ.get("PYTHONPATH")
    return f"{root}{os.pathsep}{rest}" if rest else root


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
