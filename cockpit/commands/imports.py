"""`cockpit import PATH...`: per file, new / duplicate / quarantined."""

from __future__ import annotations

from pathlib import Path

from cockpit.commands.context import Context, option_zone
from cockpit.commands.options import Subparsers, community_choice
from cockpit.importing import FileReport, import_paths
from cockpit.progress import ImportProgress


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "import",
        help="import chat exports (format detected)",
        description="Import chat exports: DiscordChatExporter JSON, Telegram Desktop result.json, "
        "WhatsApp .txt/.zip, Slack export folder/.zip, Activity .jsonl. Re-importing is a no-op.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", type=Path)
    p.add_argument("--platform", help="skip detection: read every PATH as this platform's export")
    p.add_argument(
        "--tz",
        help="IANA zone for exports whose times carry no zone (WhatsApp; old Telegram exports)",
    )
    community_choice(p, "the community these records belong to (default: config)")
    p.set_defaults(run=run)


def _describe(r: FileReport) -> str:
    c = r.counts
    parts = [f"{c.new} new", f"{c.duplicate} duplicate"]
    if c.updated:
        parts.append(f"{c.updated} updated")
    parts.append(f"{c.quarantined} quarantined")
    note = f" ({r.status})" if r.status != "imported" else ""
    return f"{r.path}: {', '.join(parts)}{note}  [{r.format}]"


async def run(ctx: Context) -> int:
    a = ctx.args
    tz_name = a.tz or ctx.config.import_tz
    tz = None
    if tz_name:
        tz = option_zone(tz_name) if a.tz else option_zone(tz_name, "import.timezone")
    store = await ctx.open_store(readonly=False)

    shown = ImportProgress(ctx.err)  # only on a terminal

    def report(r: FileReport) -> None:
        shown.done()
        if r.ok:
            print(_describe(r), file=ctx.out, flush=True)
        else:
            print(f"cockpit: {r.message}", file=ctx.err, flush=True)

    try:
        reports = await import_paths(
            store,
            ctx.registry,
            a.paths,
            community=a.community or ctx.config.cockpit.community,
            tz=tz,
            tz_name=tz_name,
            platform=a.platform,
            warn=ctx.warn,
            note=lambda message: print(f"cockpit: note: {message}", file=ctx.err),
            on_report=report,
            progress=shown.update,
        )
    finally:
        shown.done()
        await store.close()
    return 0 if all(r.ok for r in reports) else 1
