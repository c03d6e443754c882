"""Only cockpit/app.py may import Textual: the CLI, the store and the config stay light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

COCKPIT = Path(__file__).resolve().parents[1] / "cockpit"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_only_app_module_imports_textual() -> None:
    offenders = []
    files = sorted(COCKPIT.rglob("*.py"))
    assert any(f.name == "app.py" for f in files) and len(files) > 5
    for path in files:
        if path == COCKPIT / "app.py":
            assert "textual.app" in _imports(path)  # the guard would notice if this changed
            continue
        bad = {
            n
            for n in _imports(path)
            if n == "textual" or n.startswith(("textual.", "cockpit.widgets"))
        }
        if bad:
            offenders.append(f"{path.relative_to(COCKPIT.parent)}: {sorted(bad)}")
    assert offenders == []


def test_cli_store_and_config_do_not_load_textual() -> None:
    modules = ["cockpit.store.sqlite", "cockpit.config"]
    if (COCKPIT / "cli.py").exists():
        modules.insert(0, "cockpit.cli")
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "print(sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
    control = subprocess.run(
        [sys.executable, "-c", "import sys, cockpit.app; print('textual' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert control.stdout.strip() == "True"
