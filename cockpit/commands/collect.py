"""`cockpit collect`: the headless service (sources, webhooks, rules, reminders).

`--check` validates each source's token and permissions against its platform and
reports one line per source (exit 1 if any fails). SIGTERM and SIGINT stop cleanly.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from datetime import UTC, datetime
from typing import Any, TextIO

from cockpit.collect.http import ApiError
from cockpit.commands.context import Context
from cockpit.commands.options import Subparsers, json_output
from cockpit.config import SourceConfig
from cockpit.errors import CockpitError
from cockpit.plugin_api import SourceContext
from cockpit.runtime import Runtime

CHECK_TIMEOUT = 20.0


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "collect",
        help="connectors + rules + notifications, headless",
        description="Run every configured source, the webhook server, rules and reminders "
        "until SIGTERM or SIGINT.",
    )
    p.add_argument(
        "--check", action="store_true", help="validate each source's token and permissions"
    )
    json_output(p, "with --check: print one JSON array")
    p.add_argument(
        "--timeout",
        type=float,
        default=CHECK_TIMEOUT,
        metavar="SECONDS",
        help=f"with --check: give up on a platform after this long (default {CHECK_TIMEOUT:g})",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.set_defaults(run=run)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: the time in UTC with a Z (milliseconds), and the traceback
    (`exc`) and stack when the record has one, so a crash in a service log is not lost."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC)
        out: dict[str, Any] = {
            "ts": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False)


def setup_logging(stream: TextIO, fmt: str, verbose: bool) -> None:
    """One line per event: time, level, logger, message (key=value pairs), or JSON lines."""
    handler = logging.StreamHandler(stream)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # httpx logs request URLs, and a Telegram URL carries the bot token
    for noisy in ("httpx", "httpcore", "uvicorn.error", "websockets"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


async def _check_one(ctx: Context, sc: SourceConfig, timeout: float) -> dict[str, Any]:
    result: dict[str, Any] = {"source": sc.name, "type": sc.type, "ok": True}
    if not sc.enabled:
        return {**result, "detail": "disabled"}
    source: Any = ctx.registry.source_types[sc.type].create(
        sc.settings, SourceContext(sc.name, sc.community, ctx.config.base_dir)
    )
    check = getattr(source, "check", None)
    if check is None:
        return {**result, "detail": "nothing to check"}
    try:
        detail, ok = await asyncio.wait_for(check(), timeout), True
    except ApiError as exc:
        detail, ok = str(exc), False
    except TimeoutError:
        # the client retries network errors with backoff; a check must still end
        detail, ok = f"no answer within {timeout:g} s: is the platform reachable from here?", False
    finally:
        client = getattr(source, "client", None)
        if client is not None:
            await client.aclose()
    return {**result, "ok": ok, "detail": detail}


async def check_sources(ctx: Context) -> list[dict[str, Any]]:
    """Every source at once, each bounded by --timeout, reported in config order."""
    timeout = float(getattr(ctx.args, "timeout", CHECK_TIMEOUT))
    if not timeout > 0:
        raise CockpitError(f"--timeout {timeout:g}: expected a positive number of seconds")
    return list(await asyncio.gather(*(_check_one(ctx, sc, timeout) for sc in ctx.config.sources)))


async def run(ctx: Context) -> int:
    config = ctx.config  # a bad config raises ConfigError here: exit 1, one line
    config.require_secrets()  # only what starts sources needs the tokens
    if ctx.args.check:
        results = await check_sources(ctx)
        if ctx.args.json:
            ctx.print_json(results)
        else:
            for r in results:
                mark = "ok  " if r["ok"] else "FAIL"
                line = f"{mark} {r['source']} ({r['type']}): {r['detail']}"
                print(config.redact(line), file=ctx.out)
        return 0 if all(r["ok"] for r in results) else 1
    if not any(sc.enabled for sc in config.sources):
        raise CockpitError(f"{config.path or 'config'}: no enabled [[sources]] to collect from")
    setup_logging(ctx.err, _fmt(ctx), ctx.args.verbose)
    store = await ctx.open_store(readonly=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        collector = Runtime(config, store, ctx.registry)
        try:
            await collector.run(stop)
        except OSError as exc:
            raise CockpitError(str(exc)) from None
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await store.close()
    return 0


def _fmt(ctx: Context) -> str:
    fmt: str = ctx.config.collect.log_format
    return fmt
