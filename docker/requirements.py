"""Print predmaint's requirements from pyproject.toml (with the extras named), one per line.

The images install these under requirements.lock in a layer of their own, then predmaint itself
with ``pip install --no-deps``: the dependency layer depends on requirements.lock, pyproject.toml
and this file only, so a change under src/ rebuilds the project layer (seconds), not every
dependency (minutes).

    python docker/requirements.py pyproject.toml airflow services > requirements.txt
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path


def requirements(pyproject: Path, extras: list[str]) -> list[str]:
    """The project's dependencies, then each extra's, as written in ``pyproject``."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    optional: dict[str, list[str]] = project.get("optional-dependencies", {})
    unknown = [extra for extra in extras if extra not in optional]
    if unknown:
        raise SystemExit(
            f"{pyproject}: no extra named {', '.join(unknown)} (extras: {', '.join(optional)})"
        )
    return [*project["dependencies"], *(line for extra in extras for line in optional[extra])]


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit("usage: requirements.py PYPROJECT [EXTRA ...]")
    print("\n".join(requirements(Path(sys.argv[1]), sys.argv[2:])))
