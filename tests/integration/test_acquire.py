"""Downloading AI4I 2020 from a local HTTP server (the internet is not available to tests)."""

from __future__ import annotations

import io
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from predmaint.cli import app
from predmaint.data.acquire import EXPECTED_TYPE_COUNTS, acquire, read_ai4i
from predmaint.errors import DataAcquisitionError
from tests.support.project import make_settings


@pytest.fixture(scope="module")
def payloads(raw_csv: Path) -> dict[str, bytes]:
    csv = raw_csv.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ai4i2020.csv", csv)
    zipped = buffer.getvalue()
    lines = csv.decode().splitlines(keepends=True)
    header = lines[0]
    for unit in (" [K]", " [rpm]", " [Nm]", " [min]"):
        header = header.replace(unit, "")
    return {
        "/dataset.zip": zipped,
        "/data.csv": (header + "".join(lines[1:])).encode(),  # UCI's API style: no units
        "/truncated.zip": zipped[: len(zipped) // 2],
        "/truncated.csv": "".join(lines[:5001]).encode(),
        "/corrupt.zip": b"PK\x03\x04" + b"\x00garbage" * 100,
        "/error.html": b"<html><body>Service unavailable</body></html>",
    }


@pytest.fixture(scope="module")
def server(payloads: dict[str, bytes]) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = payloads.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"not found")

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.mark.parametrize("path", ["/dataset.zip", "/data.csv"])
def test_download_zip_or_unit_less_csv_is_checked_and_cached(
    server: str, tmp_path: Path, path: str
) -> None:
    # given no local file, a URL serving the dataset (zip with units, or CSV without)
    settings = make_settings(tmp_path, raw=None, raw_data_url=server + path)
    # when acquired
    data = acquire(settings)
    # then the raw file lands in data/raw with the public file's content
    assert data.path == settings.raw_dir / "ai4i2020.csv"
    assert data.rows == 10_000
    assert data.rows_by_type == EXPECTED_TYPE_COUNTS
    frame = read_ai4i(data.path)
    assert "air_temperature" in frame.columns and "machine_failure" in frame.columns
    # and a second call uses the cached copy without the network
    offline = make_settings(tmp_path, raw=None, raw_data_url="http://127.0.0.1:9/none")
    assert acquire(offline).source == "cached download"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/truncated.zip", "corrupt"),
        ("/corrupt.zip", "corrupt"),
        ("/truncated.csv", "5000 rows instead of 10000"),
        ("/error.html", "missing column"),
        ("/missing.zip", "HTTP 404 Not Found"),
    ],
)
def test_bad_downloads_fail_with_advice_and_write_nothing(
    server: str, tmp_path: Path, path: str, message: str
) -> None:
    settings = make_settings(tmp_path, raw=None, raw_data_url=server + path)
    with pytest.raises(DataAcquisitionError, match=message) as error:
        acquire(settings)
    assert "Set PREDMAINT_RAW_DATA" in str(error.value)
    assert not (settings.raw_dir / "ai4i2020.csv").exists()


def test_unreachable_server_says_what_to_do_without_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREDMAINT_HOME", str(tmp_path))
    monkeypatch.setenv("PREDMAINT_RAW_DATA_URL", "http://127.0.0.1:9/ai4i.zip")
    monkeypatch.setenv("PREDMAINT_DOWNLOAD_TIMEOUT_S", "2")
    result = CliRunner().invoke(app, ["acquire"])
    assert result.exit_code == 1
    assert "could not download" in result.output
    assert "Set PREDMAINT_RAW_DATA" in result.output
    assert "Traceback" not in result.output


def test_local_file_is_used_in_place_and_checked(raw_csv: Path, tmp_path: Path) -> None:
    data = acquire(make_settings(tmp_path, raw=raw_csv))
    assert data.path == raw_csv
    assert data.source == "PREDMAINT_RAW_DATA"
    assert data.sha256 == "86a781eb21879efff711de9011a8d37973ceb083b61871fed9f8b6bef2c058ea"
    assert data.notes == []


def test_local_file_of_another_size_is_accepted_with_a_note(raw_csv: Path, tmp_path: Path) -> None:
    small = tmp_path / "small.csv"
    small.write_text("".join(raw_csv.read_text().splitlines(keepends=True)[:101]))
    data = acquire(make_settings(tmp_path, raw=small))
    assert data.rows == 100
    assert any("100 rows instead of 10000" in note for note in data.notes)


def test_missing_local_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataAcquisitionError, match="not a file"):
        acquire(make_settings(tmp_path, raw=tmp_path / "nope.csv"))
