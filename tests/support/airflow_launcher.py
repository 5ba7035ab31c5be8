"""The project's Airflow as the tests find it: the DAG folder, ``make airflow``'s launcher and
the DagBag scripts that run in a subprocess.

Airflow reads its configuration once, at import, so tests never import Airflow themselves: they
take the launcher's environment (:func:`load_launcher`) and run a script of this package with it.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from tests.support.project import ROOT

DAGS = ROOT / "pipelines" / "airflow" / "dags"
#: ``pipelines/airflow/run_local.py``: what ``make airflow`` runs.
LAUNCHER = DAGS.parent / "run_local.py"
#: Parses the DAG folder and prints what it found (:mod:`tests.support.dagbag_describe`).
DESCRIBE_DAGBAG = Path(__file__).with_name("dagbag_describe.py")
#: Runs one DAG with ``dag.test()`` (:mod:`tests.support.dagbag_run`).
RUN_DAG = Path(__file__).with_name("dagbag_run.py")


def load_launcher() -> ModuleType:
    """``pipelines/airflow/run_local.py`` as a module, for its environment and password file."""
    spec = importlib.util.spec_from_file_location("run_local", LAUNCHER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def script_command(script: Path, *args: str) -> list[str]:
    """This interpreter running ``script`` with ``-P``: its folder stays off ``sys.path``, so the
    modules next to it cannot shadow what Airflow imports."""
    return [sys.executable, "-P", str(script), *args]
