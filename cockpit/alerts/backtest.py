"""Backtests: what a rule would have fired over the stored history, through the same engine.

The history is replayed in time order (by activity time, then row id), and the engine is
evaluated on a simulated clock every `step` of event time, so `for`, windows and the
time-based rules (unanswered, volume, quiet members) behave as they would have live. Nothing
is written and nothing is sent: the engine here has no store and no notifier.

Fire times are exact to the step (a minute by default; live evaluation runs every second).
A `source` rule needs the sources' health history, which is not kept: it is reported as not
replayable instead of as "never fired".
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections import Counter, OrderedDict
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from cockpit.alerts import sentiment
from cockpit.alerts.config import AlertingSettings, AnyRule, SentimentRule, SourceRule
from cockpit.alerts.engine import Alert, Engine
from cockpit.alerts.events import Event
from cockpit.alerts.repository import AlertRepository
from cockpit.timeutil import from_ms, iso_z

STEP_MS = 120_000  # the shortest default hold (flood): a condition lasts at least one step
PAGE = 20_000
EXAMPLES = 3
WORKERS = min(4, os.cpu_count() or 1)  # processes scoring sentiment ahead of the engine
AUTHOR_MEMORY_MS = 2 * 86_400_000  # how long an activity's author is remembered for a fire


@dataclass
class RuleReport:
    """What one rule would have done over the window."""

    rule: str
    replayable: bool = True
    fires: int = 0
    times: list[int] = field(default_factory=list)  # when each alert started firing, ms
    members: set[tuple[str, str]] = field(default_factory=set)  # (platform, author id)
    summaries: Counter[str] = field(default_factory=Counter)

    @property
    def examples(self) -> list[str]:
        return [text for text, _ in self.summaries.most_common(EXAMPLES)]

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "replayable": self.replayable,
            "fires": self.fires,
            "first": iso_z(from_ms(self.times[0])) if self.times else None,
            "last": iso_z(from_ms(self.times[-1])) if self.times else None,
            "times": [iso_z(from_ms(t)) for t in self.times],
            "members": len(self.members),
            "examples": self.examples,
        }


@dataclass
class Backtest:
    """The reports of one replay, by rule name, and how much history it read."""

    start: int
    end: int
    activities: int = 0
    evaluations: int = 0
    reports: dict[str, RuleReport] = field(default_factory=dict)


class Replay:
    """Feeds history to an engine on a simulated clock and tallies the fires."""

    def __init__(
        self, rules: Sequence[AnyRule], settings: AlertingSettings, start: int, end: int, step: int
    ) -> None:
        self.now = start
        self.end = end
        self.step = step
        live = [r for r in rules if r.enabled and not isinstance(r, SourceRule)]
        self.engine = Engine(live, settings, clock=lambda: self.now)
        self.result = Backtest(start, end)
        for r in rules:
            self.result.reports[r.name] = RuleReport(
                r.name, replayable=not isinstance(r, SourceRule)
            )
        self.next_eval = start + step
        self.start = start
        self.horizon = _horizon(live) + step
        self.last_event = start
        self.unseen = False  # activities observed that no evaluation has seen yet
        self.firing: set[str] = set()
        self.authors: OrderedDict[int, tuple[int, tuple[str, str]]] = OrderedDict()

    def feed(self, events: Sequence[Event]) -> None:
        """One page of history, in time order."""
        chunk: list[Event] = []
        for ev in events:
            if ev.ts >= self.next_eval:
                self._observe(chunk)
                chunk = []
                self._evaluate_until(ev.ts)
            chunk.append(ev)
        self._observe(chunk)

    def finish(self) -> Backtest:
        self._evaluate_until(self.end)
        return self.result

    def _observe(self, chunk: list[Event]) -> None:
        if not chunk:
            return
        self.result.activities += len(chunk)
        for ev in chunk:
            self.authors[ev.id] = (ev.ts, (ev.platform, ev.author_id))
        self.last_event = chunk[-1].ts
        self.unseen = True
        self.engine.observe_many(chunk)

    def _evaluate_until(self, ts: int) -> None:
        while self.next_eval <= ts:
            if self._idle():  # nothing can change before the next event: skip to it
                last_step = self.start + (ts - self.start) // self.step * self.step
                self.next_eval = max(self.next_eval, last_step)
            self.now = self.next_eval
            self._tally(self.engine.evaluate(self.now))
            self.unseen = False
            self.result.evaluations += 1
            self.next_eval += self.step
            self._forget_authors()
        self.now = max(self.now, min(ts, self.end))

    def _idle(self) -> bool:
        """No alert open, and no rule that time alone could still change: quiet gaps in
        the history (a weekend, a month) need no evaluation step by step."""
        if self.unseen or self.engine.alerts:
            return False
        return not self.engine.time_based or self.next_eval - self.last_event > self.horizon

    def _tally(self, changes: Sequence[Alert]) -> None:
        for alert in changes:
            report = self.result.reports.get(alert.rule)
            if report is None:
                continue
            if alert.state == "firing" and alert.fingerprint not in self.firing:
                self.firing.add(alert.fingerprint)
                report.fires += 1
                report.times.append(alert.fired_at or self.now)
                report.summaries[alert.summary] += 1
            elif alert.state in ("resolved", "inactive"):
                self.firing.discard(alert.fingerprint)
            if alert.state == "firing":
                for i in alert.ids:
                    seen = self.authors.get(i)
                    if seen is not None:
                        report.members.add(seen[1])

    def _forget_authors(self) -> None:
        horizon = self.now - AUTHOR_MEMORY_MS
        while self.authors:
            first = next(iter(self.authors.values()))
            if first[0] >= horizon:
                break
            self.authors.popitem(last=False)


def _horizon(rules: Sequence[AnyRule]) -> int:
    """How long after the last activity time alone can still change an alert (the longest
    of the rules' waits and windows, at most 30 days), in ms."""
    longest = timedelta(0)
    for rule in rules:
        for name, value in vars(rule).items():
            if isinstance(value, timedelta) and "lookback" not in name:
                longest = max(longest, value)
    return int(min(longest, timedelta(days=30)).total_seconds() * 1000)


async def backtest(
    alerts: AlertRepository,
    rules: Sequence[AnyRule],
    settings: AlertingSettings,
    start: int,
    end: int,
    step: int = STEP_MS,
) -> Backtest:
    """Replay [start, end) of the stored history through `rules`; nothing is sent.

    Reading the next page and scoring its sentiment (VADER, in worker processes, when a
    sentiment rule is on) overlap with the engine working through the current page."""
    replay = Replay(rules, settings, start, end, step)
    wants_sentiment = any(isinstance(r, SentimentRule) and r.enabled for r in rules)
    pool = (
        ProcessPoolExecutor(max_workers=WORKERS, mp_context=multiprocessing.get_context("spawn"))
        if wants_sentiment and WORKERS > 1
        else None
    )  # spawned, not forked: the parent runs threads (the store's, Textual's)
    try:
        page = await alerts.events_in(start, end, None, PAGE)
        scoring = _score(page, pool)
        while page:
            following = (
                asyncio.ensure_future(
                    alerts.events_in(start, end, (page[-1].ts, page[-1].id), PAGE)
                )
                if len(page) == PAGE
                else None
            )
            await scoring
            replay.feed(page)
            page = await following if following is not None else []
            scoring = _score(page, pool)
        await scoring
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
    return replay.finish()


async def _score(page: Sequence[Event], pool: ProcessPoolExecutor | None) -> None:
    """Score the page's texts that need VADER in the worker processes, ahead of the engine."""
    if pool is None or not page:
        return
    texts = sentiment.unscored([ev.text for ev in page if ev.text])
    if not texts:
        return
    loop = asyncio.get_running_loop()
    size = max(1, -(-len(texts) // WORKERS))
    chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
    results = await asyncio.gather(
        *(loop.run_in_executor(pool, sentiment.score_many, chunk) for chunk in chunks)
    )
    for chunk, scores in zip(chunks, results, strict=True):
        sentiment.remember(chunk, scores)
