"""The new-member screen: a member's first messages after a join the cockpit saw.

State is one small entry per recent join (expired `within` after it, in event time) and the
folded texts of the last ten minutes by platform, for "copied across platforms"; members
who joined before the window, or whose join was never seen, are not screened at all.
"""

from __future__ import annotations

from collections import deque
from urllib.parse import urlsplit

from cockpit.alerts.batch import Batch
from cockpit.alerts.config import NewMemberRule
from cockpit.alerts.detectors import Detector, ms
from cockpit.alerts.scope import Staff
from cockpit.model import Kind

COPY_WINDOW = 10 * 60_000  # a text seen on another platform this recently is a copy
Key = tuple[str, str, str]  # community, platform, author id


class NewMemberDetector(Detector):
    kinds = frozenset({Kind.JOIN, Kind.MESSAGE})

    def __init__(self, rule: NewMemberRule, staff: Staff) -> None:
        super().__init__(rule, staff)
        self.nrule = rule
        self.within = ms(rule.within)
        self.hold = ms(rule.hold)
        self.phrases = [p.casefold() for p in rule.phrases]
        self.allowed = tuple(d.casefold().lstrip(".") for d in rule.allow_links)
        self.joined: dict[Key, list[int]] = {}  # key -> [join ts, messages screened]
        self.order: deque[tuple[int, Key]] = deque()  # joins in time order, to expire them
        self.texts: dict[int, tuple[str, int]] = {}  # hash of (community, text) -> platform, ts
        self.text_order: deque[tuple[int, int]] = deque()

    def observe_many(self, batch: Batch) -> None:
        for ev in batch.select(self.kinds, self.scope):
            key = (ev.community, ev.platform, ev.author_id)
            self._expire(ev.ts)
            if ev.kind is Kind.JOIN:
                if key not in self.joined:
                    self.order.append((ev.ts, key))
                self.joined[key] = [ev.ts, 0]
                continue
            copied = self._copied(ev.community, ev.platform, ev.norm, ev.ts)
            entry = self.joined.get(key)
            if entry is None or entry[1] >= self.nrule.first_messages:
                continue
            entry[1] += 1
            signals = self._signals(ev.norm, ev.links, len(ev.mentions), copied)
            if len(signals) < self.nrule.min_signals:
                continue
            minutes = max(0, (ev.ts - entry[0]) // 60_000)
            self.hit(
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
                f"new member {ev.author} on {ev.platform} ({minutes} min after joining): "
                + ", ".join(signals),
                float(len(signals)),
            )

    def _signals(self, norm: str, links: tuple[str, ...], mentions: int, copied: bool) -> list[str]:
        rule = self.nrule
        found: list[str] = []
        if rule.links and any(not self._allowed(link) for link in links):
            found.append("a link")
        if rule.mentions and mentions >= rule.mentions:
            found.append(f"{mentions} mentions")
        phrase = next((p for p in self.phrases if p in norm), None)
        if phrase is not None:
            found.append(f"scam phrase {phrase!r}")
        if rule.cross_platform and copied:
            found.append("text also posted on another platform")
        return found

    def _allowed(self, link: str) -> bool:
        host = (urlsplit(link if "://" in link else f"http://{link}").hostname or "").casefold()
        return any(host == d or host.endswith("." + d) for d in self.allowed)

    def _copied(self, community: str, platform: str, norm: str, ts: int) -> bool:
        if len(norm) < 20:
            return False
        k = hash((community, norm))
        seen = self.texts.get(k)
        self.texts[k] = (platform, ts)
        self.text_order.append((ts, k))
        return seen is not None and seen[0] != platform and ts - seen[1] <= COPY_WINDOW

    def _expire(self, now: int) -> None:
        horizon = now - self.within
        while self.order and self.order[0][0] < horizon:
            _, key = self.order.popleft()
            entry = self.joined.get(key)
            if entry is not None and entry[0] < horizon:
                del self.joined[key]
        copies = now - COPY_WINDOW
        while self.text_order and self.text_order[0][0] < copies:
            ts, k = self.text_order.popleft()
            seen = self.texts.get(k)
            if seen is not None and seen[1] == ts:
                del self.texts[k]
