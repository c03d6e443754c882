"""`cockpit rules test FILE...`: unit tests for rules, in the spirit of `promtool test rules`.

A test file (TOML) holds the rules under test, input activities at time offsets, optional
silences, and the alerts expected at evaluation times:

    interval = "10s"                    # evaluation step (default 10s)
    [[rules]]
    name = "raid"
    kind = "raid"
    joins = 5
    [[input]]
    at = "0s"                           # offset from the start
    kind = "join"                       # message (default), join, reaction, ...
    author = "raider{n}"                # {n} numbers repeated inputs
    repeat = 6                          # optional: 6 activities,
    every = "5s"                        #   5 s apart
    [[health]]                          # a source's health (for `kind = "source"` rules),
    at = "0s"                           #   as `cockpit collect` stores it, from `at` on
    source = "tg"
    state = "failing"                   # starting, connected, lagging, failing, stopped
    detail = "401 Unauthorized"
    last_event = "0s"                   # optional: offset of its newest activity
    [[silence]]
    matchers = ["alertname=raid"]
    at = "0s"
    for = "1h"
    [[expect]]
    at = "1m"
    alerts = [{ rule = "raid", state = "firing", labels = { community = "test" }, silenced = true }]

At each `expect.at` the open alerts (pending and firing) must be exactly those listed: each
listed one matches an alert with that rule, state and (subset of) labels; no other is open.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cockpit.alerts.config import AlertingSettings, Duration, RuleList
from cockpit.alerts.engine import Alert, Engine
from cockpit.alerts.events import Event, SourceState
from cockpit.alerts.records import Matcher
from cockpit.config import parse_toml
from cockpit.model import Kind
from cockpit.timeutil import parse_iso, to_ms

START = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday, 00:00 UTC


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Input(_M):
    at: Duration = timedelta(0)
    kind: Kind = Kind.MESSAGE
    text: str = ""
    community: str = "test"
    platform: str = "discord"
    channel: str = "general"
    author: str = "member{n}"
    author_id: str | None = None
    handle: str | None = None
    id: str | None = None
    reply_to: str | None = None
    thread: str | None = None
    mentions: list[str] = Field(default_factory=list)
    is_bot: bool = False
    repeat: int = Field(1, ge=1, le=100_000)
    every: Duration = timedelta(seconds=1)


class Health(_M):
    at: Duration = timedelta(0)
    source: str
    platform: str = "discord"
    community: str = "test"
    state: Literal["starting", "connected", "lagging", "failing", "stopped"]
    detail: str | None = None
    last_event: Duration | None = None


class SilenceSpec(_M):
    matchers: list[str] = Field(min_length=1)
    at: Duration = timedelta(0)
    for_: Duration = Field(alias="for")


class ExpectedAlert(_M):
    rule: str
    state: str = "firing"
    labels: dict[str, str] = Field(default_factory=dict)
    silenced: bool = False


class Expect(_M):
    at: Duration
    alerts: list[ExpectedAlert] = Field(default_factory=list)


class TestFile(_M):
    start: str | None = None
    interval: Duration = timedelta(seconds=10)
    rules: RuleList
    alerting: AlertingSettings = Field(default_factory=AlertingSettings)
    input: list[Input] = Field(default_factory=list)
    health: list[Health] = Field(default_factory=list)
    silence: list[SilenceSpec] = Field(default_factory=list)
    expect: list[Expect] = Field(min_length=1)


@dataclass
class Result:
    path: str
    passed: int = 0
    failures: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failures


def _ms(d: timedelta) -> int:
    return int(d.total_seconds() * 1000)


def _events(spec: TestFile, t0: int) -> list[Event]:
    out: list[Event] = []
    serial = 0
    for inp in spec.input:
        for n in range(inp.repeat):
            serial += 1
            ts = t0 + _ms(inp.at) + n * _ms(inp.every)
            author = inp.author.replace("{n}", str(n))
            text = inp.text.replace("{n}", str(n))
            out.append(
                Event(
                    serial,
                    inp.community,
                    inp.platform,
                    (inp.id or f"m{serial}").replace("{n}", str(n)),
                    inp.kind,
                    ts,
                    inp.channel,
                    inp.channel,
                    (inp.author_id or author).replace("{n}", str(n)),
                    author,
                    text,
                    inp.reply_to,
                    inp.thread,
                    tuple(inp.mentions),
                    inp.is_bot,
                    inp.handle,
                )
            )
    out.sort(key=lambda e: (e.ts, e.id))
    return out


def _source(h: Health, t0: int) -> SourceState:
    last = None if h.last_event is None else t0 + _ms(h.last_event)
    return SourceState(h.source, h.platform, h.community, h.state, h.detail, last)


def _describe(rule: str, state: str, labels: dict[str, str], silenced: bool) -> str:
    shown = ", ".join(f"{k}={v!r}" for k, v in sorted(labels.items()))
    return f"{rule} {state}{' silenced' if silenced else ''} {{{shown}}}"


def _compare(
    expected: list[ExpectedAlert], actual: list[tuple[Alert, bool]]
) -> tuple[list[str], list[str]]:
    """(expected but missing, open but not expected), described one per line."""
    left = list(actual)
    missing: list[str] = []
    for exp in expected:
        for i, (a, silenced) in enumerate(left):
            if (
                a.rule == exp.rule
                and a.state == exp.state
                and silenced == exp.silenced
                and all(a.labels.get(k) == v for k, v in exp.labels.items())
            ):
                del left[i]
                break
        else:
            missing.append(_describe(exp.rule, exp.state, exp.labels, exp.silenced))
    extra = [
        _describe(
            a.rule,
            a.state,
            {k: v for k, v in a.labels.items() if k not in ("alertname", "severity")},
            s,
        )
        for a, s in left
    ]
    return missing, extra


def run_file(path: Path) -> Result:
    result = Result(str(path))
    try:
        data = parse_toml(path.read_text(encoding="utf-8"))
        spec = TestFile.model_validate(data)
        silences = [
            ([Matcher.parse(m) for m in s.matchers], _ms(s.at), _ms(s.at) + _ms(s.for_))
            for s in spec.silence
        ]
        t0 = to_ms(parse_iso(spec.start)) if spec.start else to_ms(START)
    except FileNotFoundError:
        result.error = "file not found"
        return result
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            err = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(p) for p in err["loc"])
            result.error = f"{where}: {err['msg']}"
        else:
            result.error = str(exc)
        return result
    engine = Engine(spec.rules, spec.alerting, clock=lambda: t0)
    events = _events(spec, t0)
    health = sorted(spec.health, key=lambda h: h.at)
    sources: dict[str, SourceState] = {}
    step = max(1, _ms(spec.interval))
    now = t0
    index = hindex = 0
    for exp in sorted(spec.expect, key=lambda e: e.at):
        target = t0 + _ms(exp.at)
        while now <= target:
            while index < len(events) and events[index].ts <= now:
                engine.observe(events[index])
                index += 1
            while hindex < len(health) and t0 + _ms(health[hindex].at) <= now:
                sources[health[hindex].source] = _source(health[hindex], t0)
                hindex += 1
            engine.observe_sources(list(sources.values()), now)
            engine.evaluate(now)
            if now == target:
                break
            candidates = [now + step, target]
            if index < len(events):
                candidates.append(max(events[index].ts, now + 1))
            if hindex < len(health):
                candidates.append(max(t0 + _ms(health[hindex].at), now + 1))
            now = min(candidates)
        at = now - t0
        actual = [
            (a, any(s <= at < e and all(m.matches(a.labels) for m in ms) for ms, s, e in silences))
            for a in engine.alerts.values()
            if a.state in ("pending", "firing")
        ]
        missing, extra = _compare(exp.alerts, actual)
        if missing or extra:
            lines = [f"at {_offset(exp.at)}:"]
            lines += [f"  - expected {m}" for m in missing]
            lines += [f"  + got      {x}" for x in extra]
            result.failures.append("\n".join(lines))
        else:
            result.passed += 1
    return result


def _offset(d: timedelta) -> str:
    s = int(d.total_seconds())
    if s % 86400 == 0 and s:
        return f"{s // 86400}d"
    if s % 3600 == 0 and s:
        return f"{s // 3600}h"
    if s % 60 == 0 and s:
        return f"{s // 60}m"
    return f"{s}s"


def describe_files(results: list[Result]) -> tuple[list[str], bool]:
    lines: list[str] = []
    ok = True
    for r in results:
        if r.error is not None:
            ok = False
            lines.append(f"{r.path}: ERROR {r.error}")
        elif r.failures:
            ok = False
            lines.append(
                f"{r.path}: FAILED ({len(r.failures)} of {r.passed + len(r.failures)} expectations)"
            )
            lines.extend(r.failures)
        else:
            lines.append(f"{r.path}: ok ({r.passed} expectations)")
    return lines, ok
