"""pyproject declares what the code imports: every third-party module imported by cockpit/,
widgets/ or plugins/ belongs to a declared dependency (rich was imported but not declared)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imported() -> set[str]:
    names: set[str] = set()
    for folder in ("cockpit", "widgets", "plugins"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "cockpit"}


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_imported_package_is_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {_canon(re.split(r"[<>=!~ ;\[]", d, maxsplit=1)[0]) for d in project["dependencies"]}
    dists = packages_distributions()
    missing = {}
    for module in sorted(_imported()):
        owners = {_canon(d) for d in dists.get(module, [])}
        if owners and not owners & declared:
            missing[module] = sorted(owners)
    assert missing == {}
