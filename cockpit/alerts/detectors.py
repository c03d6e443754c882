"""One detector per rule: it watches events (in event time) and keeps the conditions that hold.

A detector never decides about alerts: it only says, at an instant, which label sets have
evidence (`active(now)`). The engine turns that into the pending/firing/resolved lifecycle.
Detectors take a whole batch (`observe_many`): they run over the events they select once,
with the text folding and scope filtering the batch shares between rules. Everything here
runs per activity, so state is small, updates are O(window) and the common case (nothing
to report) leaves early.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from cockpit.alerts.batch import Batch
from cockpit.alerts.config import (
    AnyRule,
    CrossPlatformRule,
    FloodRule,
    KeywordRule,
    QuietCoreRule,
    RaidRule,
    SentimentRule,
    SourceRule,
    UnansweredRule,
    VolumeRule,
)
from cockpit.alerts.display import age
from cockpit.alerts.events import Condition, Event, SourceState, digest, message_link
from cockpit.alerts.questions import question_test
from cockpit.alerts.scope import Scope, Staff
from cockpit.alerts.sentiment import is_negative
from cockpit.model import Kind

MINUTE = 60_000
DAY = 86_400_000
_FAR = 2**62
_NEVER = _FAR  # a limit turned off


def ms(value: Any) -> int:
    return int(value.total_seconds() * 1000)


class Detector:
    """Scope, exclusions and the table of conditions; subclasses add `observe_many`/`tick`."""

    kinds: frozenset[Kind] = frozenset({Kind.MESSAGE})

    def __init__(self, rule: AnyRule, staff: Staff) -> None:
        self.rule = rule
        self.conditions: dict[tuple[str, ...], Condition] = {}
        self.scope = Scope(rule, staff)

    def accepts(self, ev: Event) -> bool:
        return self.scope.accepts(ev)

    def observe_many(self, batch: Batch) -> None:
        """A batch of events, in order; each detector selects the kinds and scope it watches."""

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


_WALLET = re.compile(
    r"\b(?:0x[0-9a-f]{40}|bc1[0-9a-z]{25,60}|[13][1-9a-hj-np-z]{25,34}|t[1-9a-hj-np-z]{33})\b"
    r"|(?:connect|validate|verify|sync|restore|recover)\s+(?:your\s+)?wallet"
    r"|(?:seed|recovery|secret)\s+(?:phrase|words)|private\s+key",
    re.IGNORECASE,
)
_DM_LURE = re.compile(
    r"\b(?:dm|pm|inbox|message|text|contact|write\s+to)\s+(?:me|us|@|our\s+support|support)"
    r"|\bcheck\s+(?:your\s+)?(?:dms?|inbox|private\s+messages?)"
    r"|\b(?:whatsapp|telegram)\s+(?:me|us)\b|\bt\.me/|\bwa\.me/",
    re.IGNORECASE,
)
_DISCORD_EPOCH = 1_420_070_400_000


def account_created(ev: Event) -> int | None:
    """When the author's account was made (ms), where the platform says: a Discord user id is a
    snowflake that carries it. None elsewhere."""
    if ev.platform == "discord" and ev.author_id.isdigit() and len(ev.author_id) >= 15:
        return (int(ev.author_id) >> 22) + _DISCORD_EPOCH
    return None


class KeywordDetector(Detector):
    """Fed by the shared matcher: `hit_word` is called only for messages that matched.

    The alert's identity is the trigger itself (term, author, place), so it never changes what
    it is about as more messages arrive: acking a false positive cannot ack a real scam.
    """

    def __init__(self, rule: KeywordRule, staff: Staff) -> None:
        super().__init__(rule, staff)
        self.krule = rule
        self.hold = ms(rule.hold)
        self.context = frozenset(rule.context)
        self.allow = tuple(" ".join(a.casefold().split()) for a in rule.allow)
        self.new_account = ms(rule.new_account_age)
        self.allow_links = tuple(d.casefold().removeprefix("www.") for d in rule.allow_links)

    def _allowed(self, link: str) -> bool:
        host = link.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
        host = host.split(":", 1)[0].removeprefix("www.")
        return any(host == d or host.endswith("." + d) for d in self.allow_links)

    def _cues(self, ev: Event) -> list[str]:
        """The context cues the message shows, among those the rule asks for."""
        found = []
        if "link" in self.context and any(not self._allowed(u) for u in ev.links):
            found.append("link")
        if "wallet" in self.context and _WALLET.search(ev.norm or ev.text):
            found.append("wallet")
        if "dm_lure" in self.context and _DM_LURE.search(ev.norm or ev.text):
            found.append("dm_lure")
        if "new_account" in self.context:
            created = account_created(ev)
            if created is not None and ev.ts - created < self.new_account:
                found.append("new_account")
        return found

    def hit_word(self, ev: Event, term: str) -> None:
        if not self.accepts(ev):
            return
        if self.allow and any(a in (ev.norm or ev.text.casefold()) for a in self.allow):
            return
        cues = self._cues(ev) if self.context else []
        if self.context and not cues:
            return  # the word alone, in an ordinary question: nobody is woken for it
        per = self.krule.per
        what = term.casefold()
        if per == "channel":
            key: tuple[str, ...] = (ev.community, ev.platform, ev.channel, what, ev.author_id)
            labels = {"community": ev.community, "platform": ev.platform, "channel": ev.channel}
        elif per == "community":
            key, labels = (ev.community, what, ev.author_id), {"community": ev.community}
        else:
            key = (ev.community, ev.platform, ev.author_id, what)
            labels = {"community": ev.community, "platform": ev.platform}
        if per != "author":
            labels["platform"] = ev.platform
        labels.update(term=what, author_id=ev.author_id, author=ev.author)
        why = f" ({', '.join(cues)})" if cues else ""
        cond = self.hit(
            key,
            labels,
            ev.ts,
            ev.ts + self.hold,
            ev.id,
            f"{term!r} by {ev.author} in {_where(ev)}{why}",
        )
        created = account_created(ev)
        if created is not None:
            cond.notes["account_age"] = age(created, ev.ts)
        cond.notes["message"] = ev.text[:500]
        link = message_link(ev)
        if link:
            cond.notes["link"] = link


_Seen = tuple[int, str, int, int, int]  # ts, folded text, mentions, links, activity id


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
        # below these (over the longest window: an upper bound for each limit), nothing trips
        on = {name: count for name, count, _ in self.limits}
        self._count_at = min(on.get("duplicates", _NEVER), on.get("burst", _NEVER))
        self._mentions_at = on.get("mentions", _NEVER)
        self._links_at = on.get("links", _NEVER)
        self._lone_quiet = self._count_at > 1  # a message alone in its window trips no count
        # by (community, platform, author id): most authors have one message in the window,
        # kept as a plain tuple; the others have a `_Recent` window. Two generations swapped
        # every `span` of event time, as in cross_platform: an author not heard from for a
        # whole generation is dropped with it, so forgetting needs no scan of every author.
        self.recent: dict[tuple[str, str, str], _Seen | _Recent] = {}
        self.older: dict[tuple[str, str, str], _Seen | _Recent] = {}
        self._swap_at = 0

    def observe_many(self, batch: Batch) -> None:
        if not self.limits:
            return
        recent, older, span, lone_quiet = self.recent, self.older, self.span, self._lone_quiet
        count_at, mentions_at, links_at = self._count_at, self._mentions_at, self._links_at
        for ev in batch.select(self.kinds, self.scope):
            if ev.ts >= self._swap_at:
                self.older, self.recent = older, recent = recent, {}
                self._swap_at = ev.ts + span
            key = (ev.community, ev.platform, ev.author_id)
            seen = (ev.ts, ev.norm, len(ev.mentions), len(ev.links), ev.id)
            w = recent.get(key)
            if w is None and older:
                w = older.pop(key, None)
                if isinstance(w, _Recent):
                    recent[key] = w
            if not isinstance(w, _Recent):
                if w is None or w[0] < seen[0] - span:
                    recent[key] = seen
                    if lone_quiet and seen[2] < mentions_at and seen[3] < links_at:
                        continue  # the common case: one message floods nothing
                    self._check(key, ev, deque((seen,)))
                    continue
                w = recent[key] = _Recent(w)
            w.add(seen, span)
            if len(w.items) >= count_at or w.mentions >= mentions_at or w.links >= links_at:
                self._check(key, ev, w.items)

    def _check(self, key: tuple[str, str, str], ev: Event, window: deque[_Seen]) -> None:
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


class _Recent:
    """One author's messages within the longest flood window, with their mention and link
    totals kept as they come and go (so most messages need no scan)."""

    __slots__ = ("items", "links", "mentions")

    def __init__(self, first: _Seen) -> None:
        self.items: deque[_Seen] = deque((first,))
        self.mentions = first[2]
        self.links = first[3]

    def add(self, seen: _Seen, span: int) -> None:
        items = self.items
        items.append(seen)
        self.mentions += seen[2]
        self.links += seen[3]
        horizon = seen[0] - span
        while items[0][0] < horizon:
            _, _, m, x, _ = items.popleft()
            self.mentions -= m
            self.links -= x


class RaidDetector(Detector):
    kinds = frozenset({Kind.JOIN})

    def __init__(self, rule: RaidRule, staff: Staff) -> None:
        super().__init__(rule, staff)
        self.limit = rule.joins
        self.window = ms(rule.window)
        self.cooldown = ms(rule.cooldown)
        self.joins: dict[str, deque[tuple[int, int, str]]] = {}
        # joins in the window per community and platform, kept as joins come and go, so a
        # raid in progress names its platforms without a pass over the window per join
        self.per_platform: dict[str, dict[str, int]] = {}

    def observe_many(self, batch: Batch) -> None:
        for ev in batch.select(self.kinds, self.scope):
            q = self.joins.get(ev.community)
            if q is None:
                q = self.joins[ev.community] = deque()
                self.per_platform[ev.community] = {}
            counts = self.per_platform[ev.community]
            q.append((ev.ts, ev.id, ev.platform))
            counts[ev.platform] = counts.get(ev.platform, 0) + 1
            horizon = ev.ts - self.window
            while q[0][0] < horizon:
                gone = q.popleft()[2]
                counts[gone] -= 1
                if not counts[gone]:
                    del counts[gone]
            if len(q) >= self.limit:
                fresh = (ev.community,) not in self.conditions
                cond = self.hit(
                    (ev.community,),
                    {"community": ev.community},
                    ev.ts,
                    ev.ts + self.cooldown,
                    ev.id,
                    f"{len(q)} joins in {self.window // 1000}s on {', '.join(sorted(counts))}",
                    len(q),
                )
                if fresh:
                    cond.ids = [i for _, i, _ in q if i][-50:]


# platform, last ts, activity id, copies since `since`, since (the first copy inside the window)
_Sighting = tuple[str, int, int, int, int]
_Sightings = _Sighting | tuple[_Sighting, ...]  # one (most texts), or one per platform


class CrossPlatformDetector(Detector):
    """The same text (folded) or link on `min_platforms` platforms within `window`.

    Sightings live in two generations swapped every `window` of event time: the older one
    only holds sightings beyond the window by the time it is dropped, so forgetting costs
    nothing per message and no scan. Most texts are seen once: one small tuple of plain
    values, the least to allocate and nothing for the garbage collector to walk."""

    def __init__(self, rule: CrossPlatformRule, staff: Staff) -> None:
        super().__init__(rule, staff)
        self.crule = rule
        self.window = ms(rule.window)
        self.hold = ms(rule.hold)
        # hash of (community, folded text or link) -> the last sighting on each platform
        self.seen: dict[int, _Sightings] = {}
        self.older: dict[int, _Sightings] = {}
        self._swap_at = 0

    def observe_many(self, batch: Batch) -> None:
        min_length, links, window = self.crule.min_length, self.crule.links, self.window
        seen, older = self.seen, self.older
        for ev in batch.select(self.kinds, self.scope):
            ts = ev.ts
            if ts >= self._swap_at:
                self.older, self.seen = older, seen = seen, {}
                self._swap_at = ts + window
            norm = ev.norm
            if norm and len(ev.text) >= min_length:
                k = hash((ev.community, norm))
                if k in seen or k in older:
                    self._again(ev, k, norm, ev.text)
                else:
                    seen[k] = (ev.platform, ts, ev.id, 1, ts)
            if links and ev.links:
                for link in ev.links:
                    self._again(ev, hash((ev.community, link)), link, link)

    def _again(self, ev: Event, k: int, norm: str, sample: str) -> None:
        """A text or link that may have been seen before (on this or another platform)."""
        before = self.seen.get(k) or self.older.pop(k, ())
        if before and isinstance(before[0], str):
            before = (before,)
        platform, ts = ev.platform, ev.ts
        horizon = ts - self.window
        others = [s for s in before if s[0] != platform]
        mine: _Sighting = (platform, ts, ev.id, 1, ts)  # copies here within the window: this one
        if len(others) != len(before):
            prev = next(s for s in before if s[0] == platform)
            if prev[4] >= horizon:
                mine = (platform, ts, ev.id, prev[3] + 1, prev[4])
        self.seen[k] = (*others, mine)
        if len(others) + 1 < self.crule.min_platforms:
            return
        recent = [s for s in others if s[1] >= horizon]
        recent.append(mine)  # a platform's copies count while its run started in the window
        if len(recent) >= self.crule.min_platforms and (
            sum(s[3] for s in recent) >= self.crule.min_copies
        ):
            tag = digest(norm)
            cond = self.hit(
                (ev.community, tag),
                {"community": ev.community, "digest": tag},
                ev.ts,
                ev.ts + self.hold,
                ev.id,
                f"{sum(s[3] for s in recent)} copies on "
                f"{', '.join(sorted(s[0] for s in recent))}: {sample[:120]}",
                len(recent),
            )
            for _, _, i, _, _ in recent:
                if i and i not in cond.ids:
                    cond.ids.append(i)


class UnansweredDetector(Detector):
    """Questions waiting for someone else's reply; a channel with an overdue one is a condition."""

    def __init__(self, rule: UnansweredRule, staff: Staff) -> None:
        super().__init__(rule, staff)
        self.urule = rule
        self.after = ms(rule.after)
        self.max_age = ms(rule.max_age)
        self.is_question = question_test(rule.question)
        # per channel key, in arrival order: (platform, source id) -> question, not yet overdue
        self.waiting: dict[tuple[str, ...], dict[tuple[str, str], _Question]] = {}
        # per channel key, in arrival order: the overdue ones
        self.overdue: dict[tuple[str, ...], dict[tuple[str, str], _Question]] = {}
        self.open: dict[tuple[str, str], tuple[str, ...]] = {}  # question -> its channel key
        self._dirty: set[tuple[str, ...]] = set()

    def _answer(self, ref: tuple[str, str], author_id: str) -> None:
        chan = self.open.get(ref)
        if chan is None:
            return
        table = self.waiting.get(chan) or {}
        overdue = ref not in table
        if overdue:
            table = self.overdue[chan]
        if table[ref].author_id == author_id:
            return  # asking again is no answer
        del table[ref]
        del self.open[ref]
        if overdue:
            self._dirty.add(chan)

    def _spoken(self, ev: Event) -> None:
        """`answered_by = "any_message"`: someone else speaking in the channel answers it."""
        chan = (ev.community, ev.platform, ev.channel_id)
        table = self.waiting.get(chan)
        if table:
            for k in [k for k, q in table.items() if q.author_id != ev.author_id and q.ts <= ev.ts]:
                del table[k]
                del self.open[k]
        table = self.overdue.get(chan)
        if table:
            for k in [k for k, q in table.items() if q.author_id != ev.author_id]:
                del table[k]
                del self.open[k]
            self._dirty.add(chan)

    def observe_many(self, batch: Batch) -> None:
        any_message = self.urule.answered_by == "any_message"
        min_length, is_question, accepts = self.urule.min_length, self.is_question, self.accepts
        open_, waiting = self.open, self.waiting
        for ev in batch.select(self.kinds):  # out-of-scope messages can answer too
            reply_to = ev.reply_to
            if open_:
                if reply_to is not None and reply_to != ev.source_id:
                    self._answer((ev.platform, reply_to), ev.author_id)
                if ev.thread is not None and ev.thread != ev.source_id:
                    self._answer((ev.platform, ev.thread), ev.author_id)
                if any_message:
                    self._spoken(ev)
            if reply_to is None and len(ev.text) >= min_length and is_question(ev.text):
                ref = (ev.platform, ev.source_id)
                if ref in open_ or not accepts(ev):
                    continue
                chan = (ev.community, ev.platform, ev.channel_id)
                table = waiting.get(chan)
                if table is None:
                    table = waiting[chan] = {}
                table[ref] = _Question(chan, ev.channel, ev.author_id, ev.ts, ev.id)
                open_[ref] = chan

    def tick(self, now: int) -> None:
        for chan, table in self.waiting.items():
            due = _asked_until(table, now - self.after)
            if due:
                self.overdue.setdefault(chan, {}).update(due)
                self._dirty.add(chan)
        for chan, table in self.overdue.items():
            stale = _asked_until(table, now - self.max_age)
            for k, _ in stale:
                del self.open[k]
            if stale:
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
                labels = {"community": chan[0], "platform": chan[1], "channel": first.channel}
                cond = self.conditions[chan] = Condition(labels, first.ts, first.ts, _FAR)
            n = len(questions)
            cond.ids = [q.id for q in questions if q.id][-50:]
            cond.count = n
            cond.value = n
            minutes = self.after // MINUTE
            cond.summary = (
                f"{n} question{'s' if n > 1 else ''} unanswered for over {minutes} min "
                f"in {cond.labels['platform']} #{cond.labels['channel']}"
            )
        self._dirty.clear()


class _Question(NamedTuple):
    """A tuple of plain values: thousands wait at once, and the collector skips them."""

    chan: tuple[str, str, str]  # community, platform, channel id
    channel: str
    author_id: str
    ts: int
    id: int


def _asked_until(
    table: dict[tuple[str, str], _Question], until: int
) -> list[tuple[tuple[str, str], _Question]]:
    """Take the questions asked at or before `until` off the front of a table (arrival order)."""
    taken = []
    while table:
        k, q = next(iter(table.items()))
        if q.ts > until:
            break
        del table[k]
        taken.append((k, q))
    return taken


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

    def observe_many(self, batch: Batch) -> None:
        minutes, counts = self.minute, self.count
        for ev in batch.select(self.kinds, self.scope):
            c = ev.community
            m = ev.ts // MINUTE
            cur = minutes.get(c)
            if cur is None:
                minutes[c], counts[c] = m, 1
            elif m == cur:
                counts[c] += 1
            elif m > cur:
                self._close(c, m)
                counts[c] += 1
            # an event of a minute already closed is too late to count

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

    def observe_many(self, batch: Batch) -> None:
        for ev in batch.select(self.kinds, self.scope):
            if ev.text:
                self._see(ev)

    def _see(self, ev: Event) -> None:
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
        self.members: dict[tuple[str, str, str], _Member] = {}  # (community, platform, author)
        # members with at least min_activities over the lookback: the only ones ranked, so a
        # tick costs the active core, not the whole membership
        self.eligible: set[tuple[str, str, str]] = set()
        self._earliest = _FAR  # the earliest day any member has counted
        self._checked = -1

    def observe_many(self, batch: Batch) -> None:
        members, conditions, eligible = self.members, self.conditions, self.eligible
        least = self.qrule.min_activities
        for ev in batch.select(self.kinds, self.scope):
            key = (ev.community, ev.platform, ev.author_id)
            m = members.get(key)
            if m is None:
                m = members[key] = _Member()
            ts = ev.ts
            if ts > m.last:
                m.last, m.author = ts, ev.author  # the name of its newest activity
            if ts // DAY == m.day:
                m.today += 1
            else:
                m.count(ts // DAY)
                self._earliest = min(self._earliest, ts // DAY)
            if m.total + m.today >= least:
                eligible.add(key)
            if conditions and key in conditions and ts > conditions[key].first:
                del conditions[key]

    def tick(self, now: int) -> None:
        if now // MINUTE == self._checked:
            return  # once per minute of engine time is plenty for a matter of days
        self._checked = now // MINUTE
        first_day = (now - self.lookback) // DAY
        least = self.qrule.min_activities
        if self._earliest < first_day:  # some day left the lookback: forget it
            for k, m in self.members.items():
                if m.first < first_day:
                    m.forget_before(first_day)
                    if m.total + m.today < least:
                        self.eligible.discard(k)
            self._earliest = min((m.first for m in self.members.values()), default=_FAR)
        totals: dict[str, list[tuple[int, tuple[str, str, str]]]] = {}
        members = self.members
        active = [(members[k].total + members[k].today, k) for k in self.eligible]
        for n, key in active:
            totals.setdefault(key[0], []).append((n, key))
        quiet_keys = set()
        for ranked in totals.values():
            ranked.sort(reverse=True)
            for n, key in ranked[: self.qrule.top]:
                m = self.members[key]
                last, author = m.last, m.author
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


class _Member:
    """One member's activity by day over the lookback: the current day counted on its own
    (the common case is one more today), earlier days in `days` with their `total`."""

    __slots__ = ("author", "day", "days", "first", "last", "today", "total")

    def __init__(self) -> None:
        self.author = ""
        self.last = -_FAR  # the newest activity's time
        self.day = -_FAR  # the newest day counted, with `today` activities
        self.today = 0
        self.days: dict[int, int] = {}
        self.total = 0
        self.first = _FAR  # the earliest day counted

    def count(self, day: int) -> None:
        """One activity on a day other than the newest one counted."""
        if day > self.day:
            if self.today:
                self.days[self.day] = self.today
                self.total += self.today
            self.day, self.today = day, 1
        else:
            self.days[day] = self.days.get(day, 0) + 1
            self.total += 1
        self.first = min(self.first, day)

    def forget_before(self, day: int) -> None:
        for d in [d for d in self.days if d < day]:
            self.total -= self.days.pop(d)
        if self.day < day:
            self.day, self.today = -_FAR, 0
        self.first = min(self.days, default=self.day if self.today else _FAR)


class SourceDetector(Detector):
    """Sources in trouble, per source, from the latest health the engine was given."""

    kinds: frozenset[Kind] = frozenset()

    def __init__(self, rule: SourceRule, staff: Staff) -> None:
        super().__init__(rule, staff)
        self.srule = rule
        self.silent_for = None if rule.silent_for is None else ms(rule.silent_for)
        self.sources: dict[str, SourceState] = {}
        self._first_seen: dict[str, int] = {}  # the silence of a source that never delivered

    def see(self, states: Iterable[SourceState], now: int) -> None:
        """The health of every source, as now stored (a source missing is gone)."""
        r = self.srule
        self.sources = {
            s.name: s
            for s in states
            if (not r.sources or s.name in r.sources)
            and (not r.communities or s.community in r.communities)
            and (not r.platforms or s.platform in r.platforms)
        }
        for name in self.sources:
            self._first_seen.setdefault(name, now)

    def trouble(self, s: SourceState, now: int) -> str | None:
        """Why this source needs a human, or None."""
        if s.state in self.srule.states:
            return f"{s.state}: {s.detail}" if s.detail else s.state
        if self.silent_for is not None and s.state != "stopped":
            since = s.last_event if s.last_event is not None else self._first_seen[s.name]
            if now - since >= self.silent_for:
                what = "no activity yet" if s.last_event is None else "no activity"
                return f"{what} for {age(since, now)} ({s.state})"
        return None

    def tick(self, now: int) -> None:
        for s in self.sources.values():
            key = (s.name,)
            reason = self.trouble(s, now)
            if reason is None:
                self.conditions.pop(key, None)
                continue
            cond = self.conditions.get(key)
            if cond is None:
                labels = {"source": s.name, "platform": s.platform, "community": s.community}
                cond = self.conditions[key] = Condition(labels, now, now, _FAR)
            cond.last = now
            cond.summary = f"source {s.name} ({s.platform}): {reason}"
            cond.notes = {"reason": reason}
        for gone in [k for k in self.conditions if k[0] not in self.sources]:
            del self.conditions[gone]
