"""``python -m bench``: the real-time API and batch job benchmarks, then drift detection (issue 10).

Each prints its figures and PASS/FAIL lines against the issue's targets; the exit status is
non-zero if any target was missed. They need a champion in the project home (``make run``).
"""

from __future__ import annotations

import sys

from bench import api_latency, batch_scale, batch_throughput, drift, load


def main() -> int:
    failed = []
    for name, bench in (
        ("latency vs bare ASGI and mlflow models serve", api_latency.main),
        ("batch scoring throughput", batch_throughput.main),
        ("60-s load, 32 clients", load.main),
        ("batch job at plant scale: predmaint infer on 5 M and 20 M readings", batch_scale.main),
        ("drift detection over 100 simulated days", drift.main),
    ):
        print(f"\n=== {name} ===", flush=True)
        if bench(sys.argv[1:]) != 0:  # `--home DIR` is understood by all
            failed.append(name)
    print(f"\n{'all targets met' if not failed else 'missed: ' + ', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
