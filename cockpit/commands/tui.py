"""The TUI commands: the cockpit on the configured store, and `cockpit demo`."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import tomllib
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cockpit.commands.context import Context
from cockpit.commands.options import Subparsers
from cockpit.config import SourceConfig, feature_sections
from cockpit.errors import CockpitError


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "demo",
        help="the cockpit on a simulated community, no set-up needed",
        description="Start the cockpit on a simulated community in a throwaway store.",
    )
    p.add_argument("--rate", type=float, default=3.0, help="live activities per second (default 3)")
    p.add_argument("--seed", type=int, default=7, help="the simulation's seed (default 7)")
    p.add_argument("--history-days", type=float, default=7.0, help="days of history to simulate")
    p.add_argument("--keep", type=Path, metavar="DB", help="keep the demo store at this path")
    p.set_defaults(run=run_demo)


def demo_sections(sections: dict[str, Any]) -> dict[str, Any]:
    """The config's feature sections, with the demo's rule set where the config has none."""
    raw = tomllib.loads(resources.files("cockpit").joinpath("demo.toml").read_text("utf-8"))
    known = feature_sections()
    merged = dict(sections)
    for key, value in raw.items():
        if key not in merged:
            merged[key] = known[key].validate_python(value)
    return merged


def demo_rules_file(ctx: Context, tmp: Path) -> Path:
    """A throwaway cockpit.toml holding the rules the demo runs, so the Rules view can
    turn them on and off and tune them without touching the operator's own config."""
    own = ctx.config.path
    text = resources.files("cockpit").joinpath("demo.toml").read_text("utf-8")
    if own is not None and ctx.config.sections.get("rules"):
        with contextlib.suppress(OSError, UnicodeDecodeError):
            text = own.read_text(encoding="utf-8")
    path = tmp / "cockpit.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def _probe_store(ctx: Context) -> None:
    """Open the store once before the screen takes over, so a bad path is one plain line."""
    store = await ctx.open_store(readonly=ctx.args.attach)
    await store.close()


def run_default(ctx: Context) -> int:
    asyncio.run(_probe_store(ctx))
    from cockpit.app import run_cockpit  # Textual is imported only when a TUI starts

    if not ctx.args.attach:
        ctx.config.require_secrets()  # the in-process cockpit runs the sources
    return run_cockpit(
        store_path=ctx.store_path, config=ctx.config, registry=ctx.registry, attach=ctx.args.attach
    )


def run_demo(ctx: Context) -> int:
    from cockpit.app import run_cockpit

    a = ctx.args
    demo_type = ctx.registry.source_types.get("demo")
    if demo_type is None:
        raise CockpitError("the demo plugin is not available (see the plugin warnings above)")
    try:
        settings = demo_type.settings.model_validate(
            {"seed": a.seed, "rate": a.rate, "history_days": a.history_days}
        )
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        option = "--" + str(first["loc"][0]).replace("_", "-")
        raise CockpitError(f"{option}: {first['msg']}") from None
    community = "Demo Community"
    source = SourceConfig("demo", "demo", community, True, settings)
    config = replace(
        ctx.config,
        sources=[source],
        cockpit=ctx.config.cockpit.model_copy(update={"community": community}),
        sections=demo_sections(ctx.config.sections),
    )
    tmp = Path(tempfile.mkdtemp(prefix="cockpit-demo-"))
    config = replace(config, path=demo_rules_file(ctx, tmp))
    store_path = a.keep or tmp / "demo.db"
    try:
        return run_cockpit(
            store_path=store_path, config=config, registry=ctx.registry, attach=False
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
