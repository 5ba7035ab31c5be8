"""Reading an input file of readings in chunks: Parquet row groups, CSV blocks.

A plant's day can hold tens of millions of readings; reading a file whole would make the batch
job's memory grow with the day. Both readers are pyarrow's (multi-threaded, outside the GIL).
CSV values are read as text, as :func:`predmaint.data.acquire.read_ai4i` reads them, so a value
that is not a number becomes a row-level reason in validation instead of spoiling the file.

A file that cannot be read as a table at all (empty, truncated, random bytes, a row with more
fields than the header) raises :class:`UnreadableInputError` with a one-line reason, at whatever
chunk the damage shows; an operating-system error (missing file, no permission) is not bad data
and propagates as it is.
"""

from __future__ import annotations

import csv
import queue
import threading
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from predmaint.data.columns import normalise_header
from predmaint.errors import UnreadableInputError

T = TypeVar("T")

#: Bytes pyarrow parses per CSV block (several blocks make one chunk).
CSV_BLOCK_BYTES = 8 << 20


def iter_readings(path: Path, chunk_rows: int, ahead: bool = True) -> Iterator[pd.DataFrame]:
    """The file's rows, at most ``chunk_rows`` at a time, with contract column names.

    ``ahead``: the next chunk is read (decoded and made a DataFrame) on a thread of its own
    while the caller works on this one (:func:`read_ahead`); errors arrive where they would.
    """
    with path.open("rb"):  # a missing or forbidden file fails here, as an OSError
        pass
    if ahead:
        yield from read_ahead(iter_readings(path, chunk_rows, ahead=False), f"read-{path.name}")
        return
    chunks = _parquet(path, chunk_rows) if path.suffix == ".parquet" else _csv(path, chunk_rows)
    while True:
        try:
            chunk = next(chunks)
        except StopIteration:
            return
        except (ValueError, UnicodeDecodeError, EOFError, csv.Error, OSError) as exc:
            # pyarrow reports damaged data as ArrowInvalid (a ValueError) or as an OSError
            # without errno ("Unexpected end of stream"); a real OS error carries an errno.
            if isinstance(exc, OSError) and exc.errno is not None:
                raise
            raise UnreadableInputError(f"{path.name}: {_first_line(exc)}") from None
        yield chunk


_DONE = object()


def read_ahead(items: Iterator[T], name: str = "read") -> Generator[T, None, None]:
    """``items``, produced one ahead on a thread of its own.

    The batch job's main thread waited for pyarrow to decode each chunk (Parquet or CSV) and
    make it a DataFrame: 5 to 20 ms per 125,000 readings that now overlap its own work. At
    most two items are held beyond the caller's (one queued, one being made), so memory
    stays bounded by the chunk size. An exception of ``items`` is raised to the caller when it
    asks for the item that failed; a caller that stops early stops the thread.
    """
    slot: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(entry: tuple[Any, BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                slot.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((_DONE, None))
        except BaseException as exc:  # handed to the caller, raised there
            put((None, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name=f"predmaint-{name}", daemon=True)
    thread.start()
    try:
        while True:
            item, error = slot.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        thread.join()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def open_parquet(path: Path) -> Any:
    """``path`` as a ``pyarrow.parquet.ParquetFile`` to read a row group at a time.

    ``pre_buffer`` is off: with it (pyarrow's default), ``iter_batches`` buffers row groups
    ahead and holds them until the file is closed, so memory grew with the file (pyarrow 25,
    a 12 M-row file of 125,000-row groups: Arrow held 526 MB by the 73rd group, 21 MB
    without; docs/benchmarks.md, "Shadow in bounded memory"). Local files lose nothing.
    """
    import pyarrow.parquet as pq

    return pq.ParquetFile(path, pre_buffer=False)


def _parquet(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    with open_parquet(path) as parquet:
        for batch in parquet.iter_batches(batch_size=chunk_rows):
            frame = batch.to_pandas()
            frame.columns = [str(c) for c in frame.columns]
            yield frame


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as text:
        header = next(csv.reader(text), None)
    if not header:
        raise UnreadableInputError(f"{path.name}: empty file (no header line)")
    return header


def _csv(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    raw = _header(path)
    names = [normalise_header(name) for name in raw]
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(
            column_names=raw, skip_rows=1, block_size=CSV_BLOCK_BYTES, encoding="utf8"
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in raw},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in reader:
        pending.append(batch)
        rows += batch.num_rows
        if rows >= chunk_rows:
            yield from _frames(pa.Table.from_batches(pending), names, chunk_rows)
            pending, rows = [], 0
    if pending:
        yield from _frames(pa.Table.from_batches(pending), names, chunk_rows)


def _frames(table: object, names: list[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow as pa

    assert isinstance(table, pa.Table)
    for start in range(0, table.num_rows, chunk_rows):
        frame = table.slice(start, chunk_rows).to_pandas()
        frame.columns = names
        yield frame
