"""Getting the AI4I 2020 file: download from UCI (zip or CSV), or a local file, then check content.

A file that arrived is not yet the dataset: we check the columns, the row count and the per-type
counts, so a truncated download or an HTML error page never reaches training.
"""

from __future__ import annotations

import hashlib
import io
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from predmaint.data.columns import IDENTITY_COLUMNS, LABEL_COLUMNS, SENSOR_COLUMNS, normalise_header
from predmaint.errors import DataAcquisitionError
from predmaint.settings import Settings
from predmaint.storage import write_bytes_atomic

RAW_FILE_NAME = "ai4i2020.csv"
#: The public file's shape (``../shared/data/README.md``): what a download must match.
EXPECTED_ROWS = 10_000
EXPECTED_TYPE_COUNTS = {"L": 6_000, "M": 2_997, "H": 1_003}
REQUIRED_COLUMNS: tuple[str, ...] = (*IDENTITY_COLUMNS, *SENSOR_COLUMNS, *LABEL_COLUMNS)
_HINT = (
    "Set PREDMAINT_RAW_DATA to a local copy of ai4i2020.csv "
    "(from the UCI zip), or check the network and PREDMAINT_RAW_DATA_URL."
)


@dataclass(frozen=True)
class AcquiredData:
    """Where the raw file is and what it holds."""

    path: Path
    source: str
    rows: int
    rows_by_type: dict[str, int]
    sha256: str
    notes: list[str] = field(default_factory=list)


def read_ai4i(source: Path | io.BytesIO) -> pd.DataFrame:
    """Read an AI4I 2020 CSV (either UCI header style) with contract column names.

    Values are read as text where they are not clean numbers; validation decides what is bad.
    """
    frame = pd.read_csv(source, dtype=str, keep_default_na=False, na_values=[""])
    frame.columns = [normalise_header(str(c)) for c in frame.columns]
    return frame


def check_content(frame: pd.DataFrame, *, strict: bool) -> list[str]:
    """Check the columns (always) and, when ``strict``, the public file's row and type counts.

    Returns notes about differences that are allowed (a user's own file may have other counts).
    Raises :class:`DataAcquisitionError` naming what is missing or wrong.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise DataAcquisitionError(
            f"not an AI4I 2020 file: missing column(s) {', '.join(missing)}; "
            f"found {', '.join(map(str, frame.columns[:20]))}. {_HINT}"
        )
    if frame.empty:
        raise DataAcquisitionError("the AI4I 2020 file has a header but no rows")
    counts = frame["type"].value_counts().to_dict()
    differences = []
    if len(frame) != EXPECTED_ROWS:
        differences.append(f"{len(frame)} rows instead of {EXPECTED_ROWS}")
    for machine_type, expected in EXPECTED_TYPE_COUNTS.items():
        if counts.get(machine_type, 0) != expected:
            differences.append(
                f"{counts.get(machine_type, 0)} rows of type {machine_type} instead of {expected}"
            )
    if differences and strict:
        raise DataAcquisitionError(
            "the downloaded file is not the complete AI4I 2020 dataset ("
            + "; ".join(differences)
            + "): truncated or changed download. "
            + _HINT
        )
    return [f"differs from the public file: {d}" for d in differences]


def _extract_csv(payload: bytes) -> bytes:
    """The CSV bytes from a UCI payload: the zip's ``ai4i2020.csv``, or a plain CSV."""
    if payload[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(payload)) as archive:
                names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
                if not names:
                    raise DataAcquisitionError(f"the zip holds no CSV file. {_HINT}")
                return archive.read(names[0])
        except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as exc:
            raise DataAcquisitionError(f"the downloaded zip is corrupt ({exc}). {_HINT}") from exc
    return payload


def download(url: str, timeout_s: float) -> bytes:
    """Fetch ``url`` and return the AI4I CSV bytes; errors say what to do instead."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            payload: bytes = response.read()
    except urllib.error.HTTPError as exc:
        raise DataAcquisitionError(
            f"could not download {url}: HTTP {exc.code} {exc.reason}. {_HINT}"
        ) from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DataAcquisitionError(f"could not download {url}: {reason}. {_HINT}") from exc
    return _extract_csv(payload)


def _parse(payload: bytes, origin: str) -> pd.DataFrame:
    try:
        return read_ai4i(io.BytesIO(payload))
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataAcquisitionError(f"{origin} is not a readable CSV ({exc}). {_HINT}") from exc


def acquire(settings: Settings) -> AcquiredData:
    """Make the raw AI4I 2020 file available and checked; return where it is.

    Order: ``PREDMAINT_RAW_DATA`` if set (used in place; a user's file may differ in counts),
    else a previously downloaded ``raw/ai4i2020.csv``, else download from ``raw_data_url``.
    """
    if settings.raw_data is not None:
        path = settings.raw_data.expanduser().resolve()
        if not path.is_file():
            raise DataAcquisitionError(f"PREDMAINT_RAW_DATA points to {path}, which is not a file")
        payload = path.read_bytes()
        frame = _parse(payload, str(path))
        notes = check_content(frame, strict=False)
        return _describe(path, "PREDMAINT_RAW_DATA", payload, frame, notes)

    target = settings.raw_dir / RAW_FILE_NAME
    if target.is_file():
        payload = target.read_bytes()
        try:
            frame = _parse(payload, str(target))
            check_content(frame, strict=True)
            return _describe(target, "cached download", payload, frame, [])
        except DataAcquisitionError:
            pass  # a damaged cache is replaced by a fresh download below

    payload = download(settings.raw_data_url, settings.download_timeout_s)
    frame = _parse(payload, settings.raw_data_url)
    check_content(frame, strict=True)
    write_bytes_atomic(target, payload)
    return _describe(target, settings.raw_data_url, payload, frame, [])


def _describe(
    path: Path, source: str, payload: bytes, frame: pd.DataFrame, notes: list[str]
) -> AcquiredData:
    return AcquiredData(
        path=path,
        source=source,
        rows=len(frame),
        rows_by_type={str(k): int(v) for k, v in frame["type"].value_counts().items()},
        sha256=hashlib.sha256(payload).hexdigest(),
        notes=notes,
    )
