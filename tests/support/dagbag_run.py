"""Run one DAG for one logical date with ``dag.test()`` and print its task states, as JSON.

Run by ``tests/integration/test_airflow_dag_runs.py`` in a subprocess, because Airflow reads its
configuration (AIRFLOW_HOME, the metadata database) once, at import:
``python tests/support/dagbag_run.py <dag folder> <dag id> <YYYY-MM-DD>``. The last line of its
output is ``DAG_TEST <json>``.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MARKER = "DAG_TEST "


def run_dag(folder: Path, dag_id: str, day: str) -> dict[str, Any]:
    """The run's state and id, each task instance's state (mapped ones as ``task[index]``) and
    how many tries each task took."""
    from airflow.dag_processing.dagbag import BundleDagBag

    bag = BundleDagBag(dag_folder=folder, bundle_path=folder)
    assert not bag.import_errors, bag.import_errors
    dag = bag.get_dag(dag_id)
    assert dag is not None, f"no DAG {dag_id} in {folder}"
    run = dag.test(logical_date=datetime.fromisoformat(day).replace(tzinfo=UTC))
    tis = run.get_task_instances()
    return {
        "state": str(run.state),
        "run_id": run.run_id,
        "tasks": {
            ti.task_id + (f"[{ti.map_index}]" if ti.map_index >= 0 else ""): str(ti.state)
            for ti in tis
        },
        "tries": {ti.task_id: ti.try_number for ti in tis},
    }


def main(argv: list[str]) -> int:
    folder, dag_id, day = Path(argv[0]), argv[1], argv[2]
    print(MARKER + json.dumps(run_dag(folder, dag_id, day)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
