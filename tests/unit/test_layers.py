"""The packages form one stack: import-linter's ``layers`` contract in pyproject.toml holds.

Three checks, so that the test can fail for each way the stack could quietly stop being true:
the contract still names the whole stack in order, predmaint keeps it, and the same contract
does catch an upward import (run on a throw-away package laid out like predmaint).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
#: The stack, top first; each package may import only from the layers below it.
EXPECTED_LAYERS = [
    "cli",
    "api | workflow",
    "(monitoring)",
    "inference",
    "models",
    "features",
    "data",
    "clock | errors | locks | process_group | settings | storage",
]


def _layers_contract(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, Any]:
    config = tomllib.loads(pyproject.read_text())["tool"]["importlinter"]
    contracts = [c for c in config["contracts"] if c["type"] == "layers"]
    assert len(contracts) == 1, f"expected one layers contract, found {contracts}"
    return dict(contracts[0])


def _lint(
    config: Path, cwd: Path, pythonpath: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` as ``make lint`` runs it, on ``config``."""
    env = None if pythonpath is None else {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(config)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_contract_names_the_whole_stack_in_order() -> None:
    contract = _layers_contract()
    assert contract["containers"] == ["predmaint"]
    assert contract["layers"] == EXPECTED_LAYERS, "the stack changed: update ARCHITECTURE.md too"
    assert contract.get("exhaustive") is True, "every new package must be placed in the stack"
    assert not contract.get("ignore_imports"), "an ignored import is a hidden upward dependency"


def test_predmaint_keeps_its_layers() -> None:
    result = _lint(ROOT / "pyproject.toml", ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout, result.stdout


def test_the_contract_catches_an_upward_import(tmp_path: Path) -> None:
    # given: a package with predmaint's layers, where data imports features (the knot of issue 8)
    package = tmp_path / "src" / "stackprobe"
    for layer in EXPECTED_LAYERS:
        for name in layer.replace("(", "").replace(")", "").split(" | "):
            if name != "monitoring":  # the optional layer may be absent
                (package / name).mkdir(parents=True)
                (package / name / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "features" / "schema.py").write_text("RANGES = {}\n")
    (package / "data" / "schemas.py").write_text("from stackprobe.features.schema import RANGES\n")
    contract = {**_layers_contract(), "containers": ["stackprobe"]}
    config = tmp_path / "importlinter.toml"
    config.write_text(_to_toml({"root_package": "stackprobe", "contracts": [contract]}))

    # when
    result = _lint(config, tmp_path, pythonpath=tmp_path / "src")

    # then
    assert result.returncode == 1, result.stdout + result.stderr
    assert "0 kept, 1 broken" in result.stdout, result.stdout
    assert "stackprobe.data.schemas -> stackprobe.features.schema" in result.stdout, result.stdout


def _to_toml(options: dict[str, Any]) -> str:
    """The ``[tool.importlinter]`` table for these options (strings, booleans, lists only)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ", ".join(value(item) for item in v) + "]"
        return '"' + str(v).replace('"', '\\"') + '"'

    lines = ["[tool.importlinter]", f"root_package = {value(options['root_package'])}"]
    for contract in options["contracts"]:
        lines.append("[[tool.importlinter.contracts]]")
        lines.extend(f"{key} = {value(v)}" for key, v in contract.items())
    return "\n".join(lines) + "\n"
