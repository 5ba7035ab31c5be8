"""The batch job at plant scale: whole ``predmaint infer`` processes on 5 M and 20 M readings.

A day is resampled from the real Type L rows of AI4I 2020 (with replacement, new ``udi`` per
reading) and written as one Parquet file (row groups of 1 M readings) into a temporary data
folder; then ``predmaint infer`` runs as its own process on the project home's champion, and its
wall time (imports and model loading included) and peak RSS (``wait4``) are measured. In the
same run, the model alone (compiled champion, :func:`bulk_probability`) scores the 5 M readings
in process, as the peer figure. A first process on a day of 1,000 readings gives the fixed cost
(imports, registry lookup, model loading or the compiled cache, writing), the part of the wall
time that does not depend on the day's size. Targets (issue 9): >= 1 M readings/s end to end on
5 M, peak RSS < 1 GB on 5 M and on 20 M (``infer`` and ``shadow`` each), and readings in =
scored + quarantined.

The shadow challenger is a step of its own (``predmaint shadow``, after the day is published):
it runs as its own process after each ``infer`` and is timed apart, so the figures say both what
the plant waits for (``infer``) and what the whole day costs (``infer`` + ``shadow``). Its
readings must equal the day's scored readings. ``--no-shadow`` skips it.

    .venv/bin/python -m bench.batch_scale [--home DIR] [--rows 5000000 20000000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from bench.common import BIN, ROOT, environment, machine, verdict
from predmaint.data.acquire import RAW_FILE_NAME, read_ai4i
from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.models.loading import load_model
from predmaint.settings import Settings
from predmaint.storage import partition_dir

TARGET_RATE = 1_000_000
TARGET_RSS_MB = 1024
DAY = date(2026, 6, 1)
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "ai4i2020.csv"
ROW_GROUP = 1_000_000
FIXED_ROWS = 1_000


def write_day(real: pd.DataFrame, rows: int, folder: Path, seed: int = 9) -> Path:
    """``rows`` readings resampled from ``real``, written one row group at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"plant-{rows}.parquet"
    rng = np.random.default_rng(seed)
    writer = None
    for start in range(0, rows, ROW_GROUP):
        size = min(ROW_GROUP, rows - start)
        sample = real.iloc[rng.integers(0, len(real), size)].reset_index(drop=True)
        sample.insert(0, "udi", np.arange(start + 1, start + size + 1, dtype=np.int64))
        table = pa.Table.from_pandas(sample, preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()
    return path


def run_infer(home: Path, data_dir: Path, command: str = "infer") -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MB) and exit status of one ``predmaint infer`` (or ``shadow``)
    process."""
    env = environment(
        PREDMAINT_HOME=str(home),
        PREDMAINT_DATA_DIR=str(data_dir),
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="true",
    )
    start = time.perf_counter()
    process = subprocess.Popen(
        [str(BIN / "predmaint"), command, "--date", DAY.isoformat()],
        env=env,
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0 and process.stderr is not None:
        print(process.stderr.read().decode()[-2000:], file=sys.stderr)
    return seconds, usage.ru_maxrss / 1024, process.returncode


def run_shadow(home: Path, data_dir: Path) -> dict[str, object]:
    """One ``predmaint shadow`` process on the scored day: seconds, peak RSS, its report."""
    seconds, rss, code = run_infer(home, data_dir, "shadow")
    path = partition_dir(data_dir / "shadow", DAY) / "shadow.json"
    report = json.loads(path.read_text()) if path.is_file() else {}
    return {
        "seconds": seconds,
        "peak_rss_mb": rss,
        "exit": code,
        "rows": report.get("rows", 0),
        "challenger_version": report.get("challenger_version"),
        "runtime": report.get("runtime"),
    }


def model_only_rate(settings: Settings, sensors: np.ndarray) -> float:
    model = load_model(settings)
    model.bulk_failure_probability(sensors[:10_000])  # compile and warm up
    start = time.perf_counter()
    model.bulk_failure_probability(sensors)
    return len(sensors) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="project home with a champion (default: cwd)")
    parser.add_argument("--data", type=Path, help="AI4I CSV (default: settings or ../shared)")
    parser.add_argument("--rows", type=int, nargs="+", default=[5_000_000, 20_000_000])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-shadow", action="store_true", help="do not run predmaint shadow")
    args = parser.parse_args(argv)

    home = (args.home or Path.cwd()).resolve()
    settings = Settings(home=home)
    downloaded = settings.raw_dir / RAW_FILE_NAME
    source = (
        args.data or settings.raw_data or (downloaded if downloaded.is_file() else DEFAULT_DATA)
    )
    raw = read_ai4i(source)
    real = raw[raw["type"] == "L"][["product_id", "type", *SENSOR_COLUMNS]].reset_index(drop=True)
    real = real.astype({name: np.float64 for name in SENSOR_COLUMNS})
    print(f"machine: {machine()}")
    results = []
    with tempfile.TemporaryDirectory(prefix="predmaint-scale-") as tmp:
        small = Path(tmp) / "data-fixed"
        write_day(real, FIXED_ROWS, partition_dir(small / "inference", DAY))
        fixed, _, _ = run_infer(home, small)
        print(f"fixed cost ({FIXED_ROWS:,} readings): {fixed:.1f} s", flush=True)
        for rows in args.rows:
            data_dir = Path(tmp) / f"data-{rows}"
            write_day(real, rows, partition_dir(data_dir / "inference", DAY))
            seconds, rss, code = run_infer(home, data_dir)
            report = json.loads(
                (partition_dir(data_dir / "predictions", DAY) / "report.json").read_text()
            )
            shadow = None if args.no_shadow else run_shadow(home, data_dir)
            results.append(
                {
                    "rows": rows,
                    "seconds": seconds,
                    "rate": rows / seconds,
                    "peak_rss_mb": rss,
                    "exit": code,
                    "rows_in": report["rows_in"],
                    "rows_scored": report["rows_scored"],
                    "rows_quarantined": report["rows_quarantined"],
                    "repeated_readings": report["quality"]["repeated_readings"],
                    "load_average": os.getloadavg()[0],
                    "shadow": shadow,
                }
            )
            print(
                f"{rows:>12,} readings: {seconds:6.1f} s, {rows / seconds / 1e6:5.2f} M/s, "
                f"peak RSS {rss:6.0f} MB, exit {code}, load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            if shadow is not None:
                total = seconds + shadow["seconds"]
                print(
                    f"{'':>12}   + shadow: {shadow['seconds']:6.1f} s "
                    f"({shadow['rows']:,} readings, v{shadow['challenger_version']}, "
                    f"{shadow['runtime']}), peak RSS {shadow['peak_rss_mb']:6.0f} MB, exit "
                    f"{shadow['exit']}; infer + shadow {total:6.1f} s = "
                    f"{rows / total / 1e6:5.2f} M/s",
                    flush=True,
                )
        sensors = real[list(SENSOR_COLUMNS)].to_numpy()
        sensors = np.tile(sensors, (int(np.ceil(args.rows[0] / len(sensors))), 1))[: args.rows[0]]
        model_rate = model_only_rate(settings, sensors)
    print(f"model only (compiled champion, in process): {model_rate / 1e6:.2f} M readings/s")
    checks = [
        (
            f"{r['rows']:,}: readings in {r['rows_in']:,} = scored {r['rows_scored']:,} "
            f"+ quarantined {r['rows_quarantined']:,} (generated {r['rows']:,})",
            r["exit"] == 0
            and r["rows_in"] == r["rows"] == r["rows_scored"] + r["rows_quarantined"],
        )
        for r in results
    ]
    checks += [
        (
            f"{r['rows']:,}: peak RSS {r['peak_rss_mb']:.0f} MB (< {TARGET_RSS_MB})",
            r["peak_rss_mb"] < TARGET_RSS_MB,
        )
        for r in results
    ]
    checks += [
        (
            f"{r['rows']:,}: shadow peak RSS {r['shadow']['peak_rss_mb']:.0f} MB "
            f"(< {TARGET_RSS_MB})",
            r["shadow"]["peak_rss_mb"] < TARGET_RSS_MB,
        )
        for r in results
        if r["shadow"] is not None
    ]
    checks += [
        (
            f"{r['rows']:,}: shadow answered {r['shadow']['rows']:,} readings "
            f"(= scored {r['rows_scored']:,}), exit {r['shadow']['exit']}",
            r["shadow"]["exit"] == 0 and r["shadow"]["rows"] == r["rows_scored"],
        )
        for r in results
        if r["shadow"] is not None
    ]
    first = results[0]
    checks.append(
        (
            f"{first['rows']:,}: {first['rate'] / 1e6:.2f} M readings/s end to end "
            f"(target >= {TARGET_RATE / 1e6:g} M; model alone {model_rate / 1e6:.2f} M, "
            f"ratio {first['rate'] / model_rate:.2f}; fixed cost {fixed:.1f} s)",
            first["rate"] >= TARGET_RATE,
        )
    )
    return verdict(checks, args.json, fixed_seconds=fixed, runs=results, model_rate=model_rate)


if __name__ == "__main__":
    sys.exit(main())
