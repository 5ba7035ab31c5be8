"""Parse the DAG folder as Airflow's DAG processor does and print what it found, as JSON.

Run by ``tests/integration/test_airflow_dags.py`` in a subprocess with a temporary
``AIRFLOW_HOME`` (Airflow reads its configuration once, at import, so the test process never
imports Airflow): ``python tests/support/dagbag_describe.py <dag folder>``. The last line of
its output is ``DAGBAG <json>``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

MARKER = "DAGBAG "
#: Modules the DAG files must not import at parse time (they belong inside task bodies).
HEAVY = ("predmaint.settings", "pandas", "sklearn", "mlflow")


def _asset_names(condition: Any) -> list[str]:
    """The names of the Assets a schedule condition waits on (through any and/or nesting)."""
    if condition is None:
        return []
    if hasattr(condition, "objects"):
        return [name for part in condition.objects for name in _asset_names(part)]
    return [condition.name]


def describe(folder: Path) -> dict[str, Any]:
    """Import errors, every DAG's schedule and tasks, and the heavy modules parsing imported."""
    from airflow.dag_processing.dagbag import BundleDagBag
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    bag = BundleDagBag(dag_folder=folder, bundle_path=folder)
    heavy = [module for module in HEAVY if module in sys.modules]
    dags = {}
    for dag in bag.dags.values():
        timetable = dag.timetable
        # a clock (``expression``), its clock when combined with Assets, and the Assets it waits on
        condition = getattr(timetable, "asset_condition", None)
        dags[dag.dag_id] = {
            "schedule": getattr(timetable, "expression", None)
            or getattr(getattr(timetable, "timetable", None), "expression", None),
            "schedule_assets": sorted(_asset_names(condition)),
            "timetable": type(dag.timetable).__name__,
            "catchup": dag.catchup,
            "max_active_runs": dag.max_active_runs,
            "tasks": {
                t.task_id: {
                    "downstream": sorted(t.downstream_task_ids),
                    "retries": t.retries,
                    "retry_delay_s": t.retry_delay.total_seconds(),
                    "has_retry_policy": t.retry_policy is not None,
                    "mapped": isinstance(t, MappedOperator),
                    "inlets": [getattr(a, "name", None) for a in t.inlets],
                    "outlets": [getattr(a, "name", None) for a in t.outlets],
                }
                for t in dag.tasks
            },
        }
    return {"errors": bag.import_errors, "dags": dags, "heavy_imports_at_parse": heavy}


def main(argv: list[str]) -> int:
    print(MARKER + json.dumps(describe(Path(argv[0])), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
