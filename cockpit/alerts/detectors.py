"""One detector per rule: it watches events (in event time) and keeps the conditions that hold.

A detector never decides about alerts: it only says, at an instant, which label sets have
evidence (`active(now)`). The engine turns that into the pending/firing/resolved lifecycle.
Everything here runs per activity, so state is small and updates are O(window).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from cockpit.alerts.config import (
    AnyRule,
    CrossPlatformRule,
    FloodRule,
    KeywordRule,
    QuietCoreRule,
    RaidRule,
    SentimentRule,
    UnansweredRule,
    VolumeRule,
)
from cockpit.alerts.events import Condition, Event, digest
from cockpit.alerts.sentiment import is_negative
from cockpit.model import Kind

MINUTE = 60_000
DAY = 86_400_000
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'()\[\]]+", re.IGNORECASE)
_FAR = 2**62


def ms(value: Any) -> int:
    return int(value.total_seconds() * 1000)


def links_in(text: str) -> list[str]:
    if "://" not in text and "www." not in text:
        return []
    return [u.rstrip(".,;:!?").casefold() for u in _URL.findall(text)]


class Staff:
    """Who counts as staff: `platform:author_id` entries or handles (case-insensitive)."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.ids = {e for e in entries if ":" in e}
        self.handles = {e.lstrip("@").casefold() for e in entries if ":" not in e}

    def __contains__(self, ev: object) -> bool:
        if not isinstance(ev, Event):
            return False
        if self.ids and f"{ev.platform}:{ev.author_id}" in self.ids:
            return True
        return bool(self.handles) and (
            (ev.handle is not None and ev.handle.casefold() in self.handles)
            or ev.author.casefold() in self.handles
        )


class Detector:
    """Scope, exclusions and the table of conditions; subclasses add `observe`/`tick`."""

    kinds: frozenset[Kind] = frozenset({Kind.MESSAGE})

    def __init__(self, rule: AnyRule, staff: Staff) -> None:
        self.rule = rule
        self.conditions: dict[tuple[str, ...], Condition] = {}
        self._communities = frozenset(rule.communities)
        self._platforms = frozenset(rule.platforms)
        self._channels = frozenset(c.lstrip("#").casefold() for c in rule.channels) | frozenset(
            rule.channels
        )
        self._staff = staff if rule.exclude_staff else None
        self._bots = rule.exclude_bots
        self._open_scope = not (
            self._communities or self._platforms or self._channels or self._staff is not None
        )

    def accepts(self, ev: Event) -> bool:
        if self._open_scope:
            return not (self._bots and ev.is_bot)
        if self._bots and ev.is_bot:
            return False
        if self._communities and ev.community not in self._communities:
            return False
        if self._platforms and ev.platform not in self._platforms:
            return False
        if (
            self._channels
            and ev.channel_id not in self._channels
            and ev.channel.lstrip("#").casefold() not in self._channels
        ):
            return False
        return not (self._staff is not None and ev in self._staff)

    def observe(self, ev: Event) -> None:
        """Called for events whose kind is in `kinds` (scope not yet checked)."""

    def tick(self, now: int) -> None:
        """Time-based checks; called before `active` at each evaluation."""

    def active(self, now: int) -> Iterator[tuple[tuple[str, ...], Condition]]:
        if not self.conditions:
            return iter(())
        expired = [k for k, c in self.conditions.items() if c.until <= now]
        for key in expired:
            del self.conditions[key]
        return iter(list(self.conditions.items()))

    def clear(self, key: tuple[str, ...]) -> None:
        """An operator resolved the alert: forget the evidence so far."""
        self.conditions.pop(key, None)

    def hit(
        self,
        key: tuple[str, ...],
        labels: dict[str, str],
        ts: int,
        until: int,
        activity_id: int,
        summary: str,
        value: float = 0.0,
    ) -> Condition:
        cond = self.conditions.get(key)
        if cond is None:
            cond = self.conditions[key] = Condition(labels, ts, ts, until)
        cond.add(ts, until, activity_id, summary)
        cond.value = value
        return cond


def _where(ev: Event) -> str:
    return f"{ev.platform} #{ev.channel}"


class KeywordDetector(Detector):
    """Fed by the shared matcher: `hit_word` is called only for messages that matched."""

    def __init__(self, rule: KeywordRule, staff: Staff) -> None:
        super().__init__(rule, staff)
        self.krule = rule
        self.hold = ms(rule.hold)

    def hit_word(self, ev: Event, term: str) -> None:
        if not self.accepts(ev):
            return
        per = self.krule.per
        if per == "channel":
            key: tuple[str, ...] = (ev.community, ev.platform, ev.channel)
            labels = {"community": ev.community, "platform": ev.platform, "channel": ev.channel}
        elif per == "community":
            key, labels = (ev.community,), {"community": ev.community}
        else:
            key = (ev.community, ev.platform, ev.author_id)
            labels = {
                "community": ev.community,
                "platform": ev.platform,
                "author_id": ev.author_id,
                "author": ev.author,
            }
        self.hit(
            key, labels, ev.ts, ev.ts + self.hold, ev.id, f"{term!r} by {ev.author} in {_where(ev)}"
        )


class FloodDetector(Detector):
    """python-discord's anti-spam limits: per author, sliding windows in event time."""

    def __init__(self, rule: FloodRule, staff: Staff) -> None:
        super().__init__(rule, staff)
        self.limits = [
            (name, count, ms(window))
            for name, count, window in (
                ("duplicates", rule.duplicates, rule.duplicates_window),
                ("mentions", rule.mentions, rule.mentions_window),
                ("burst", rule.burst, rule.burst_window),
                ("links", rule.links, rule.links_window),
            )
            if count > 0
        ]
        self.span = max((w for _, _, w in self.limits), default=0)
        self.hold = ms(rule.hold)
        # (community, platform, author id) -> recent (ts, text key, mentions, links, id)
        self.recent: dict[tuple[str, str, str], deque[tuple[int, str, int, int, int]]] = {}
        self._next_prune = 0

    def observe(self, ev: Event) -> None:
        if not self.limits or not self.accepts(ev):
            return
        key = (ev.community, ev.platform, ev.author_id)
        window = self.recent.get(key)
        if window is None:
            window = self.recent[key] = deque()
        text = ev.text
        nlinks = len(links_in(text)) if text else 0
        window.append((ev.ts, text.strip().casefold(), len(ev.mentions), nlinks, ev.id))
        horizon = ev.ts - self.span
        while window[0][0] < horizon:
            window.popleft()
        if len(window) < 2 and not ev.mentions and nlinks < 2:
            return
        for name, limit, span in self.limits:
            start = ev.ts - span
            if name == "duplicates":
                me = window[-1][1]
                n = sum(1 for t, k, _, _, _ in window if t >= start and k == me) if me else 0
            elif name == "mentions":
                n = sum(m for t, _, m, _, _ in window if t >= start)
            elif name == "burst":
                n = sum(1 for t, *_ in window if t >= start)
            else:
                n = sum(x for t, _, _, x, _ in window if t >= start)
            if n >= limit:
                fresh = key not in self.conditions
                cond = self.hit(
                    key,
                    {
                        "community": ev.community,
                        "platform": ev.platform,
                        "author_id": ev.author_id,
                        "author": ev.author,
                    },
                    ev.ts,
                    ev.ts + self.hold,
                    ev.id,
                    f"{ev.author} on {ev.platform}: {n} {name} in {span // 1000}s",
                    n,
                )
                if fresh:
                    cond.ids = [i for t, _, _, _, i in window if t >= start and i][-50:]
                return

    def tick(self, now: int) -> None:
        if now < self._next_prune:
            return
        self._next_prune = now + MINUTE
        horizon = now - self.span
        for key in [k for k, w in self.recent.items() if not w or w[-1][0] < horizon]:
            del self.recent[key]


class RaidDetector(Detector):
    kinds = frozenset({Kind.JOIN})

    def __init__(self, rule: RaidRule, staff: Staff) -> None:
        super().__init__(rule, staff)
        self.limit = rule.joins
        self.window = ms(rule.window)
        self.cooldown = ms(rule.cooldown)
        self.joins: dict[str, deque[tuple[int, int, str]]] = {}

    def observe(self, ev: Event) -> None:
        if not self.accepts(ev):
            return
        q = self.joins.get(ev.community)
        if q is None:
            q = self.joins[ev.community] = deque()
        q.append((ev.ts, ev.id, ev.platform))
        horizon = ev.ts - self.window
        while q[0][0] < horizon:
            q.popleft()
        if len(q) >= self.limit:
            platforms = sorted({p for _, _, p in q})
            fresh = (ev.community,) not in self.conditions
            cond = self.hit(
                (ev.community,),
                {"community": ev.community},
                ev.ts,
                ev.ts + self.cooldown,
                ev.id,
                f"{len(q)} joins in {self.window // 1000}s on {', '.join(platforms)}",
                len(q),
            )
            if fresh:
                cond.ids = [i for _, i, _ in q if i][-50:]


class CrossPlatformDetector(Detector):
    """The same text (normalised) or link on `min_platforms` platforms within `window`."""

    def __init__(self, rule: CrossPlatformRule, staff: Staff) -> None:
        super().__init__(rule, staff)
        self.crule = rule
        self.window = ms(rule.window)
        self.hold = ms(rule.hold)
        # (community, hash of the normalised text or link) -> platform -> (last ts, activity id)
        self.seen: dict[tuple[str, int], dict[str, tuple[int, int]]] = {}
        self._next_prune = 0

    def observe(self, ev: Event) -> None:
        text = ev.text
        if not text or not self.accepts(ev):
            return
        if len(text) >= self.crule.min_length:
            self._see(ev, " ".join(text.casefold().split()), text)
        if self.crule.links and ("://" in text or "www." in text):
            for link in links_in(text):
                self._see(ev, link, link)

    def _see(self, ev: Event, norm: str, sample: str) -> None:
        k = (ev.community, hash(norm))
        where = self.seen.get(k)
        if where is None:
            self.seen[k] = {ev.platform: (ev.ts, ev.id)}
            return
        where[ev.platform] = (ev.ts, ev.id)
        if len(where) < self.crule.min_platforms:
            return
        horizon = ev.ts - self.window
        recent = {p: v for p, v in where.items() if v[0] >= horizon}
        if len(recent) >= self.crule.min_platforms:
            tag = digest(norm)
            cond = self.hit(
                (ev.community, tag),
                {"community": ev.community, "digest": tag},
                ev.ts,
                ev.ts + self.hold,
                ev.id,
                f"on {', '.join(sorted(recent))}: {sample[:120]}",
                len(recent),
            )
            for _, i in recent.values():
                if i and i not in cond.ids:
                    cond.ids.append(i)

    def tick(self, now: int) -> None:
        if now < self._next_prune:
            return
        self._next_prune = now + max(MINUTE, self.window // 4)
        horizon = now - self.window
        for k in [k for k, w in self.seen.items() if max(t for t, _ in w.values()) < horizon]:
            del self.seen[k]


class UnansweredDetector(Detector):
    """Questions waiting for someone else's reply; a channel with an overdue one is a condition."""

    def __init__(self, rule: UnansweredRule, staff: Staff) -> None:
        super().__init__(rule, staff)
        self.urule = rule
        self.after = ms(rule.after)
        self.max_age = ms(rule.max_age)
        self.question = re.compile(rule.question, re.IGNORECASE | re.MULTILINE)
        # waiting (not yet overdue), in arrival order: (platform, source id) -> question
        self.waiting: dict[tuple[str, str], _Question] = {}
        # overdue, per channel key, in arrival order
        self.overdue: dict[tuple[str, ...], dict[tuple[str, str], _Question]] = {}
        self._dirty: set[tuple[str, ...]] = set()

    def _answer(self, ref: tuple[str, str], author_id: str) -> None:
        q = self.waiting.get(ref)
        if q is not None:
            if q.author_id != author_id:
                del self.waiting[ref]
            return
        for chan, table in self.overdue.items():
            q = table.get(ref)
            if q is not None:
                if q.author_id != author_id:
                    del table[ref]
                    self._dirty.add(chan)
                return

    def observe(self, ev: Event) -> None:
        if self.waiting or self.overdue:
            for ref in (ev.reply_to, ev.thread):
                if ref is not None and ref != ev.source_id:
                    self._answer((ev.platform, ref), ev.author_id)
            if self.urule.answered_by == "any_message":
                chan = (ev.community, ev.platform, ev.channel_id)
                for k in [
                    k
                    for k, q in self.waiting.items()
                    if q.chan == chan and q.author_id != ev.author_id and q.ts <= ev.ts
                ]:
                    del self.waiting[k]
                table = self.overdue.get(chan)
                if table:
                    for k in [k for k, q in table.items() if q.author_id != ev.author_id]:
                        del table[k]
                    self._dirty.add(chan)
        text = ev.text
        if (
            len(text) >= self.urule.min_length
            and ev.reply_to is None
            and self.question.search(text.strip())
            and self.accepts(ev)
        ):
            self.waiting[(ev.platform, ev.source_id)] = _Question(
                (ev.community, ev.platform, ev.channel_id),
                ev.author_id,
                ev.ts,
                ev.id,
                {"community": ev.community, "platform": ev.platform, "channel": ev.channel},
            )

    def tick(self, now: int) -> None:
        due = now - self.after
        while self.waiting:
            k, q = next(iter(self.waiting.items()))
            if q.ts > due:
                break
            del self.waiting[k]
            self.overdue.setdefault(q.chan, {})[k] = q
            self._dirty.add(q.chan)
        stale = now - self.max_age
        for chan, table in self.overdue.items():
            while table:
                k, q = next(iter(table.items()))
                if q.ts > stale:
                    break
                del table[k]
                self._dirty.add(chan)
        for chan in self._dirty:
            table = self.overdue.get(chan) or {}
            if not table:
                self.conditions.pop(chan, None)
                self.overdue.pop(chan, None)
                continue
            questions = list(table.values())
            first = questions[0]
            cond = self.conditions.get(chan)
            if cond is None:
                cond = self.conditions[chan] = Condition(first.labels, first.ts, first.ts, _FAR)
            n = len(questions)
            cond.ids = [q.id for q in questions if q.id][-50:]
            cond.count = n
            cond.value = n
            minutes = self.after // MINUTE
            cond.summary = (
                f"{n} question{'s' if n > 1 else ''} unanswered for over {minutes} min "
                f"in {first.labels['platform']} #{first.labels['channel']}"
            )
        self._dirty.clear()


@dataclass(slots=True)
class _Question:
    chan: tuple[str, ...]
    author_id: str
    ts: int
    id: int
    labels: dict[str, str]


class VolumeDetector(Detector):
    """Per community: each closed minute against the mean for that hour of the week."""

    kinds = frozenset(Kind)

    def __init__(self, rule: VolumeRule, staff: Staff) -> None:
        super().__init__(rule, staff)
        self.vrule = rule
        self.hold = ms(rule.hold)
        self.minute: dict[str, int] = {}  # community -> current minute number
        self.count: dict[str, int] = {}
        self.baseline: dict[
            tuple[str, int], list[float]
        ] = {}  # (community, hour of week) -> [sum, n]

    def observe(self, ev: Event) -> None:
        if not self.accepts(ev):
            return
        c = ev.community
        m = ev.ts // MINUTE
        cur = self.minute.get(c)
        if cur is None:
            self.minute[c], self.count[c] = m, 1
            return
        if m > cur:
            self._close(c, m)
        if m >= self.minute[c]:
            self.count[c] += 1

    def _close(self, c: str, upto: int) -> None:
        """Close every minute before `upto` (empty ones count as 0, up to a day of them)."""
        cur = self.minute[c]
        first = max(cur, upto - 1440)
        for minute in range(first, upto):
            n = self.count[c] if minute == cur else 0
            self._judge(c, minute, n)
        self.minute[c], self.count[c] = upto, 0

    def _judge(self, c: str, minute: int, n: int) -> None:
        how = ((minute // 60) + 72) % 168  # Monday 00:00 is 0; the epoch was a Thursday
        slot = self.baseline.get((c, how))
        if slot is None:
            slot = self.baseline[(c, how)] = [0.0, 0.0]
        r = self.vrule
        if slot[1] >= r.min_samples:
            mean = slot[0] / slot[1]
            at = (minute + 1) * MINUTE
            if n > r.high * max(mean, r.min_baseline):
                self.hit(
                    (c, "high"),
                    {"community": c, "direction": "high"},
                    at,
                    at + self.hold,
                    0,
                    f"{n}/min against a usual {mean:.1f}/min for this hour of the week",
                    n,
                )
            elif mean >= r.min_baseline and n < r.low * mean:
                self.hit(
                    (c, "low"),
                    {"community": c, "direction": "low"},
                    at,
                    at + self.hold,
                    0,
                    f"{n}/min against a usual {mean:.1f}/min for this hour of the week",
                    n,
                )
        slot[0] += n
        slot[1] += 1

    def tick(self, now: int) -> None:
        m = now // MINUTE
        for c, cur in list(self.minute.items()):
            if m > cur:
                self._close(c, m)


class SentimentDetector(Detector):
    def __init__(self, rule: SentimentRule, staff: Staff) -> None:
        super().__init__(rule, staff)
        self.srule = rule
        self.window = ms(rule.window)
        self.recent: dict[tuple[str, ...], deque[tuple[int, bool, int]]] = {}
        self.negatives: dict[tuple[str, ...], int] = {}
        self.labels: dict[tuple[str, ...], dict[str, str]] = {}

    def observe(self, ev: Event) -> None:
        if not ev.text or not self.accepts(ev):
            return
        if self.srule.per == "channel":
            key: tuple[str, ...] = (ev.community, ev.platform, ev.channel)
            labels = {"community": ev.community, "platform": ev.platform, "channel": ev.channel}
        else:
            key, labels = (ev.community,), {"community": ev.community}
        q = self.recent.get(key)
        if q is None:
            q = self.recent[key] = deque()
            self.negatives[key] = 0
            self.labels[key] = labels
        neg = is_negative(ev.text, self.srule.negative_below)
        q.append((ev.ts, neg, ev.id))
        self.negatives[key] += neg
        self._trim(key, ev.ts)
        self._judge(key, ev.ts, ev.id if neg else 0)

    def _trim(self, key: tuple[str, ...], now: int) -> None:
        q = self.recent[key]
        horizon = now - self.window
        while q and q[0][0] < horizon:
            self.negatives[key] -= q.popleft()[1]

    def _judge(self, key: tuple[str, ...], ts: int, neg_id: int) -> None:
        q = self.recent[key]
        total, neg = len(q), self.negatives[key]
        share = neg / total if total else 0.0
        if total >= self.srule.min_messages and share >= self.srule.threshold:
            cond = self.hit(
                key,
                self.labels[key],
                ts,
                _FAR,
                neg_id,
                f"{neg} of {total} messages negative ({share:.0%}) in {self.window // MINUTE} min",
                round(share, 3),
            )
            cond.ids = [i for _, n, i in q if n and i][-50:]
        else:
            self.conditions.pop(key, None)

    def tick(self, now: int) -> None:
        for key in list(self.conditions):
            self._trim(key, now)
            q = self.recent[key]
            if len(q) < self.srule.min_messages or not q:
                del self.conditions[key]
            else:
                self._judge(key, now, 0)


class QuietCoreDetector(Detector):
    """Members among the `top` most active over `lookback` who have not been seen for `quiet_for`."""

    kinds = frozenset({Kind.MESSAGE, Kind.REACTION})

    def __init__(self, rule: QuietCoreRule, staff: Staff) -> None:
        super().__init__(rule, staff)
        self.qrule = rule
        self.lookback = ms(rule.lookback)
        self.quiet = ms(rule.quiet_for)
        # (community, platform, author id) -> [last ts, author, {day: count}]
        self.members: dict[tuple[str, str, str], list[Any]] = {}
        self._checked = -1

    def observe(self, ev: Event) -> None:
        if not self.accepts(ev):
            return
        key = (ev.community, ev.platform, ev.author_id)
        m = self.members.get(key)
        if m is None:
            m = self.members[key] = [ev.ts, ev.author, {}]
        m[0] = max(m[0], ev.ts)
        m[1] = ev.author
        days: dict[int, int] = m[2]
        day = ev.ts // DAY
        days[day] = days.get(day, 0) + 1
        if key in self.conditions and ev.ts > self.conditions[key].first:
            del self.conditions[key]

    def tick(self, now: int) -> None:
        if now // MINUTE == self._checked:
            return  # once per minute of engine time is plenty for a matter of days
        self._checked = now // MINUTE
        first_day = (now - self.lookback) // DAY
        totals: dict[str, list[tuple[int, tuple[str, str, str]]]] = {}
        for key, (_, _, days) in self.members.items():
            for d in [d for d in days if d < first_day]:
                del days[d]
            n = sum(days.values())
            if n >= self.qrule.min_activities:
                totals.setdefault(key[0], []).append((n, key))
        quiet_keys = set()
        for ranked in totals.values():
            ranked.sort(reverse=True)
            for n, key in ranked[: self.qrule.top]:
                last, author, _ = self.members[key]
                if last <= now - self.quiet:
                    quiet_keys.add(key)
                    days_quiet = (now - last) // DAY
                    cond = self.conditions.get(key)
                    if cond is None:
                        cond = self.conditions[key] = Condition(
                            {
                                "community": key[0],
                                "platform": key[1],
                                "author_id": key[2],
                                "author": author,
                            },
                            last,
                            last,
                            _FAR,
                        )
                    cond.value = days_quiet
                    cond.count = n
                    cond.summary = (
                        f"{author} ({key[1]}): {n} activities in {self.lookback // DAY} days, "
                        f"silent for {days_quiet} days"
                    )
        for gone in [k for k in self.conditions if k not in quiet_keys]:
            del self.conditions[gone]


def make_detector(rule: AnyRule, staff: Staff) -> Detector:
    if isinstance(rule, KeywordRule):
        return KeywordDetector(rule, staff)
    if isinstance(rule, FloodRule):
        return FloodDetector(rule, staff)
    if isinstance(rule, RaidRule):
        return RaidDetector(rule, staff)
    if isinstance(rule, CrossPlatformRule):
        return CrossPlatformDetector(rule, staff)
    if isinstance(rule, UnansweredRule):
        return UnansweredDetector(rule, staff)
    if isinstance(rule, VolumeRule):
        return VolumeDetector(rule, staff)
    if isinstance(rule, SentimentRule):
        return SentimentDetector(rule, staff)
    return QuietCoreDetector(rule, staff)
