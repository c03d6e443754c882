"""The boundaries the architecture promises, read from the source (AST, nothing imported).

- the core (cockpit/) never imports the panes or the plugins; only cockpit/app.py, which
  builds the Textual App, imports the panes;
- a plugin imports only the plugin kit, the model and the plugin API of cockpit (plus its
  own package, the standard library and third-party libraries);
- the panes never import cockpit.app;
- no private name (`_x`) crosses a module boundary, by `from m import _x` or `m._x`, nor is
  private state read by name (`getattr(other, "_x")`), which is how code dodges the rule.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# source folder -> the package it installs as (pyproject's package-dir)
TREES = {
    "cockpit": "cockpit",
    "widgets": "cockpit.widgets",
    "plugins": "cockpit.plugins",
    "examples/mastodon_plugin/cockpit_mastodon": "cockpit_mastodon",
}
PLUGIN_MAY_IMPORT = frozenset({"cockpit.model", "cockpit.plugin_api", "cockpit.plugin_kit"})
APP_BUILDER = "cockpit.app"  # the one core module that builds the Textual App from the panes


@dataclass(frozen=True, slots=True)
class Module:
    name: str
    path: Path
    is_package: bool

    @property
    def rel(self) -> str:
        return self.path.relative_to(ROOT).as_posix()

    @property
    def package(self) -> str:
        return self.name if self.is_package else self.name.rpartition(".")[0]


def _modules() -> list[Module]:
    out = []
    for folder, package in TREES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            out.append(Module(".".join([package, *parts]), path, is_package))
    return out


MODULES = _modules()
BY_NAME = {m.name: m for m in MODULES}


def _cases(modules: list[Module]) -> list[object]:
    return [pytest.param(m, id=m.rel) for m in modules]


@dataclass(frozen=True, slots=True)
class Import:
    module: str  # absolute module imported from
    names: tuple[str, ...]  # names taken from it (empty for `import m`)
    line: int


def _absolute(mod: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = mod.package.split(".")
    if node.level > 1:
        base = base[: -(node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports(mod: Module) -> Iterator[Import]:
    """Every import of the module, function-local and TYPE_CHECKING ones included."""
    tree = ast.parse(mod.path.read_text(encoding="utf-8"), str(mod.path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, (), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            yield Import(_absolute(mod, node), tuple(a.name for a in node.names), node.lineno)


def _installed(name: str) -> str:
    """The name a module has once installed: mypy sees widgets/ and plugins/ at the root."""
    top = name.split(".")[0]
    return f"cockpit.{name}" if top in ("widgets", "plugins") else name


def _targets(imp: Import) -> list[str]:
    """The modules an import depends on: `from pkg import mod` depends on pkg.mod."""
    found = [_installed(imp.module)]
    found += [f"{found[0]}.{n}" for n in imp.names if f"{found[0]}.{n}" in BY_NAME]
    return found


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


CORE = [m for m in MODULES if _under(m.name, "cockpit") and m.path.is_relative_to(ROOT / "cockpit")]
PANES = [m for m in MODULES if _under(m.name, "cockpit.widgets")]
PLUGINS = [m for m in MODULES if m.name.startswith(("cockpit.plugins.", "cockpit_mastodon"))]


def _plugin_home(mod: Module) -> str:
    """The package a plugin module belongs to: cockpit.plugins.<platform>, or its own top level."""
    parts = mod.name.split(".")
    return ".".join(parts[:3]) if parts[:2] == ["cockpit", "plugins"] else parts[0]


@pytest.mark.parametrize("mod", _cases(CORE))
def test_the_core_imports_no_panes_and_no_plugins(mod: Module) -> None:
    bad = []
    for imp in imports(mod):
        for target in _targets(imp):
            if _under(target, "cockpit.plugins") or (
                _under(target, "cockpit.widgets") and mod.name != APP_BUILDER
            ):
                bad.append(f"line {imp.line}: {target}")
    assert not bad, f"{mod.rel} imports " + ", ".join(bad)


@pytest.mark.parametrize("mod", _cases(PLUGINS))
def test_plugins_import_only_the_kit_the_model_and_the_plugin_api(mod: Module) -> None:
    home = _plugin_home(mod)
    bad = []
    for imp in imports(mod):
        for target in _targets(imp):
            if _under(target, home):
                continue
            if _under(target, "cockpit") and target not in PLUGIN_MAY_IMPORT:
                bad.append(f"line {imp.line}: {target}")
    assert not bad, f"{mod.rel} imports " + ", ".join(bad)


@pytest.mark.parametrize("mod", _cases(PANES))
def test_panes_never_import_the_app(mod: Module) -> None:
    bad = [
        f"line {imp.line}: {t}"
        for imp in imports(mod)
        for t in _targets(imp)
        if _under(t, APP_BUILDER)
    ]
    assert not bad, f"{mod.rel} imports " + ", ".join(bad)


def private_crossings(mod: Module) -> list[str]:
    """`from m import _x` and `m._x` where m is another module of the project."""
    tree = ast.parse(mod.path.read_text(encoding="utf-8"), str(mod.path))
    found = []
    modules: dict[str, str] = {}  # local name -> project module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = _installed(alias.name)
                if name in BY_NAME or _under(name, "cockpit"):
                    if alias.asname:
                        modules[alias.asname] = name
                    else:  # `import a.b` binds `a`
                        modules[alias.name.split(".")[0]] = _installed(alias.name.split(".")[0])
                if _private(alias.name.rpartition(".")[2]):
                    found.append(f"line {node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            source = _installed(_absolute(mod, node))
            if source not in BY_NAME:
                continue
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"line {node.lineno}: from {source} import {alias.name}")
                elif f"{source}.{alias.name}" in BY_NAME:
                    modules[alias.asname or alias.name] = f"{source}.{alias.name}"
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "hasattr", "setattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _private(node.args[1].value)
            and not (isinstance(node.args[0], ast.Name) and node.args[0].id in ("self", "cls"))
        ):
            found.append(f"line {node.lineno}: {node.func.id}(..., {node.args[1].value!r})")
        if isinstance(node, ast.Attribute) and _private(node.attr):
            chain = []
            value: ast.expr = node.value
            while isinstance(value, ast.Attribute):
                chain.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id in modules:
                target = ".".join([modules[value.id], *reversed(chain)])
                if target in BY_NAME and target != mod.name:
                    found.append(f"line {node.lineno}: {target}.{node.attr}")
    return sorted(found, key=lambda f: int(f.split(":")[0].removeprefix("line ")))


@pytest.mark.parametrize("mod", _cases(MODULES))
def test_no_private_name_crosses_a_module_boundary(mod: Module) -> None:
    found = private_crossings(mod)
    assert not found, f"{mod.rel}: " + "; ".join(found)


def test_the_checks_see_what_they_look_for(tmp_path: Path) -> None:
    """The checker itself: a private import, a private attribute of a module, a relative import."""
    fake = tmp_path / "x.py"
    fake.write_text(
        "from cockpit.plugin_kit import _serve_until_cancelled\n"
        "from cockpit import timeutil\n"
        "import cockpit.collect.http as http\n"
        "from . import model\n"
        "timeutil._UNITS\nhttp._float('1')\nmodel.PLATFORM\n"
        "getattr(app, '_stopped', False)\ngetattr(self, '_mine')\n",
        encoding="utf-8",
    )
    mod = Module("cockpit.plugins.telegram.fake", fake, False)
    assert private_crossings(mod) == [
        "line 1: from cockpit.plugin_kit import _serve_until_cancelled",
        "line 5: cockpit.timeutil._UNITS",
        "line 6: cockpit.collect.http._float",
        "line 8: getattr(..., '_stopped')",
    ]
    targets = {t for imp in imports(mod) for t in _targets(imp)}
    assert "cockpit.plugins.telegram.model" not in BY_NAME or "cockpit.plugins.telegram" in targets
    assert {"cockpit.timeutil", "cockpit.collect.http"} <= targets
