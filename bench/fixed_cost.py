"""The fixed cost of one ``predmaint infer`` process, alternating between checkouts.

A process on a day of 1,000 readings (as in :mod:`bench.batch_scale`) is mostly what does not
depend on the day's size: imports, the registry lookup, loading the model (or its compiled-cache
entry), writing. On a shared machine one figure says little, so each round runs every
``--bin`` (a virtualenv's ``bin`` folder, e.g. main's and a branch's) one after the other, on
its own copy of the home (``--home`` per ``--bin``, or one for all), and prints the wall time,
peak RSS and the 1-minute load average of each process. The first round warms the compiled
cache of each home; report the later ones.

    .venv/bin/python -m bench.fixed_cost --bin ../main/.venv/bin --bin .venv/bin \\
        --home /tmp/h-main --home /tmp/h-branch --rounds 4
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.batch_scale import DAY, DEFAULT_DATA, FIXED_ROWS, write_day
from bench.common import environment
from predmaint.data.acquire import read_ai4i
from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.storage import partition_dir


def run_infer(bin_dir: Path, home: Path, data_dir: Path) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MB) and exit status of one ``predmaint infer`` from ``bin_dir``."""
    env = environment(
        PREDMAINT_HOME=str(home),
        PREDMAINT_DATA_DIR=str(data_dir),
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="true",
    )
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    start = time.perf_counter()
    process = subprocess.Popen(
        [str(bin_dir / "predmaint"), "infer", "--date", DAY.isoformat()],
        env=env,
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", type=Path, action="append", required=True)
    parser.add_argument("--home", type=Path, action="append", required=True)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args(argv)
    homes = args.home * len(args.bin) if len(args.home) == 1 else args.home
    if len(homes) != len(args.bin):
        parser.error("give one --home, or one per --bin")
    raw = read_ai4i(args.data)
    real = raw[raw["type"] == "L"][["product_id", "type", *SENSOR_COLUMNS]].reset_index(drop=True)
    real = real.astype({name: np.float64 for name in SENSOR_COLUMNS})
    times: dict[Path, list[float]] = {b: [] for b in args.bin}
    with tempfile.TemporaryDirectory(prefix="predmaint-fixed-") as tmp:
        data_dir = Path(tmp) / "data"
        write_day(real, FIXED_ROWS, partition_dir(data_dir / "inference", DAY))
        for round_ in range(args.rounds):
            for bin_dir, home in zip(args.bin, homes, strict=True):
                seconds, rss, code = run_infer(bin_dir, home, data_dir)
                if round_ > 0:
                    times[bin_dir].append(seconds)
                print(
                    f"round {round_} {bin_dir}: {seconds:5.2f} s, peak RSS {rss:4.0f} MB, "
                    f"exit {code}, load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
    for bin_dir, values in times.items():
        if values:
            print(
                f"{bin_dir}: median {statistics.median(values):.2f} s, "
                f"min {min(values):.2f} s over {len(values)} warm runs"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
