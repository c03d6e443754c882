"""`cockpit config check`: validate the config and say what it sets up (never its secrets)."""

from __future__ import annotations

from cockpit.commands.context import Context
from cockpit.commands.options import Subparsers


def register(sub: Subparsers) -> None:
    p = sub.add_parser("config", help="configuration")
    csub = p.add_subparsers(dest="config_command", metavar="check", required=True)
    check = csub.add_parser("check", help="validate the config file")
    check.set_defaults(run=run_check)


async def run_check(ctx: Context) -> int:
    cfg = ctx.config
    cfg.require_secrets()  # checking a deployment: every secret the collector needs is set
    where = str(cfg.path) if cfg.path else "no config file (defaults)"
    print(f"ok: {where}", file=ctx.out)
    print(f"  store: {cfg.store_path(ctx.args.db)}", file=ctx.out)
    print(f"  community: {cfg.cockpit.community}, timezone: {cfg.cockpit.timezone}", file=ctx.out)
    print(f"  regions: {', '.join(cfg.cockpit.regions)}", file=ctx.out)
    if cfg.import_tz:
        print(f"  imports without a zone read as: {cfg.import_tz}", file=ctx.out)
    for s in cfg.sources:
        state = "" if s.enabled else " (disabled)"
        print(f"  source {s.name!r}: {s.type}, community {s.community}{state}", file=ctx.out)
    if not cfg.sources:
        print("  no live sources configured", file=ctx.out)
    plugins = ", ".join(f"{p.name} ({' + '.join(p.offers)})" for p in ctx.registry.plugins.values())
    print(f"  plugins: {plugins}", file=ctx.out)
    return 0
