"""A script in a fresh Python interpreter on a project home, and what it reports back.

Tests that check what a process imports (a warm batch process needs no scikit-learn, no MLflow)
must run it in an interpreter of its own: the test process has imported everything already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable

from predmaint.settings import Settings

#: The line of the script's output that carries its answer (JSON after the marker).
MARKER = "ANSWER "


def infer_script(modules: Iterable[str]) -> str:
    """``predmaint infer`` with the script's arguments, then its exit status and which of
    ``modules`` (top-level packages) it imported."""
    return f"""
import json, sys
from predmaint.cli import app
try:
    app(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
loaded = sorted({{name.split(".")[0] for name in sys.modules}} & set({tuple(modules)!r}))
print({MARKER!r} + json.dumps({{"exit": code, "loaded": loaded}}))
"""


def run_python(settings: Settings, script: str, *args: str) -> dict[str, object]:
    """``script`` in a fresh interpreter on ``settings``' home; what it printed after MARKER."""
    env = {**os.environ, "PREDMAINT_HOME": str(settings.home)}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("MLFLOW_REGISTRY_URI", None)
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env,
        cwd=settings.home,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    assert lines, f"no answer from the subprocess: {done.stderr[-3000:]}"
    return dict(json.loads(lines[-1][len(MARKER) :]))
