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
    lines = [f"ok: {cfg.path}" if cfg.path else "ok: no config file (defaults)"]
    lines.append(f"  store: {cfg.store_path(ctx.args.db)}")
    lines.append(f"  community: {cfg.cockpit.community}, timezone: {cfg.cockpit.timezone}")
    lines.append(f"  regions: {', '.join(cfg.cockpit.regions)}")
    if cfg.import_tz:
        lines.append(f"  imports without a zone read as: {cfg.import_tz}")
    for s in cfg.sources:
        state = "" if s.enabled else " (disabled)"
        lines.append(f"  source {s.name!r}: {s.type}, community {s.community}{state}")
    if not cfg.sources:
        lines.append("  no live sources configured")
    plugins = ", ".join(f"{p.name} ({' + '.join(p.offers)})" for p in ctx.registry.plugins.values())
    lines.append(f"  plugins: {plugins}")
    for line in lines:  # any of these may hold a value from the environment: never echo it
        print(cfg.redact(line), file=ctx.out)
    return 0
