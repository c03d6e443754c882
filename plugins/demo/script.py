"""The simulation: episodes (a chat, a question and its answer, a thread, a spam wave...) unfold
over simulated time and are emitted in time order.

An episode is decided when it starts and schedules its later records (replies, reactions,
edits) on a heap, so the stream can be cut at any instant: everything at or before it is
final. All randomness comes from one `random.Random`, and time only from the caller, so
the same seed and the same instants give the same records, byte for byte.
"""

from __future__ import annotations

import heapq
import random
from bisect import bisect_right
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any, TypeVar

from cockpit.model import Activity, Kind

from . import people as pp
from . import texts as tx
from .ids import message_id, reaction_id
from .rhythm import BUCKET_US, ZoneClock

T = TypeVar("T")
SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

HISTORY_PER_MEMBER_DAY = 2.6  # records per member and day: 3,000 members ~ 55k a week
REACTION_HORIZON = 3 * HOUR
LIVE_TEMPO = 0.1
LIVE_RAMP = 120 * SECOND  # until the first replies and reactions come due, start more episodes

_PENDING, _EMITTED, _DROPPED = 0, 1, 2

# (purpose, language or None) -> channel names per platform; "{c}" is the community name
_CHANNELS: dict[str, tuple[tuple[str, str, str | None], ...]] = {
    "discord": (
        ("general", "general", None),
        ("help", "help", None),
        ("announcements", "announcements", None),
        ("dev", "dev", None),
        ("off-topic", "offtopic", None),
        ("showcase", "showcase", None),
    ),
    "telegram": (
        ("{c} Community", "general", None),
        ("{c} Indonesia", "regional", "id"),
        ("{c} Announcements", "announcements", None),
    ),
    "whatsapp": (
        ("{c} Builders", "general", None),
        ("{c} Lagos 🇳🇬", "regional", "pcm"),
        ("{c} Brasil 🇧🇷", "regional", "pt"),
    ),
    "slack": (
        ("general", "general", None),
        ("help", "help", None),
        ("dev", "dev", None),
        ("random", "offtopic", None),
        ("announcements", "announcements", None),
    ),
    "discourse": (
        ("General", "general", None),
        ("Support", "help", None),
        ("Feature Requests", "ideas", None),
        ("Announcements", "announcements", None),
        ("Show & Tell", "showcase", None),
    ),
}
_THREADED = frozenset({"slack", "discourse"})  # replies live in a thread rooted at the post


@dataclass(frozen=True, slots=True)
class Channel:
    community: int
    community_name: str
    platform: str
    name: str
    channel_id: str
    purpose: str


class Pending:
    """A record decided but not yet emitted; ids are given at emission."""

    __slots__ = (
        "acct",
        "attachments",
        "chan",
        "kind",
        "mentions",
        "parent",
        "reactions",
        "reactors",
        "root",
        "self_thread",
        "sid",
        "state",
        "text",
        "us",
    )

    def __init__(
        self,
        us: int,
        kind: Kind,
        acct: pp.Account,
        chan: Channel,
        text: str,
        parent: Pending | None,
        root: Pending | None,
    ) -> None:
        self.us = us
        self.kind = kind
        self.acct = acct
        self.chan = chan
        self.text = text
        self.parent = parent  # replied to, reacted to, edited or deleted
        self.root = root
        self.attachments = 0
        self.reactions = 0
        self.mentions: tuple[str, ...] = ()
        self.self_thread = False
        self.sid = ""
        self.state = _PENDING
        self.reactors: set[tuple[str, str]] | None = None


class _Group:
    """Members of one community on one platform in one zone and chronotype."""

    __slots__ = ("accounts", "cum", "factor", "total")

    def __init__(self, factor: int) -> None:
        self.factor = factor
        self.accounts: list[pp.Account] = []
        self.cum: list[float] = []
        self.total = 0.0

    def add(self, acct: pp.Account, weight: float) -> None:
        self.total += weight
        self.accounts.append(acct)
        self.cum.append(self.total)


class _Slots(dict[str, str]):
    """Template values made only when a template asks for them."""

    def __init__(self, engine: Engine, acct: pp.Account, mention: pp.Account | None) -> None:
        super().__init__()
        self.engine = engine
        self.acct = acct
        self.mention = mention

    def __missing__(self, key: str) -> str:
        e, rng = self.engine, self.engine.rng
        c = self.acct.member.community
        if key == "product":
            value = e.products[c]
        elif key == "slug":
            value = e.slugs[c]
        elif key == "version":
            value = f"v2.{rng.randrange(3, 9)}.{rng.randrange(0, 12)}"
        elif key in ("feature", "feature_slug"):
            feature = e._one(tx.FEATURES)
            self["feature"] = feature
            self["feature_slug"] = "-".join(feature.removeprefix("the ").split())
            return self[key]
        elif key == "city":
            value = e._one(pp.REGIONS[self.acct.member.region].cities)
        elif key == "docs":
            value = f"https://docs.{e.slugs[c]}.io"
        elif key == "issue":
            value = (
                f"https://github.com/{e.slugs[c]}/{e.slugs[c]}/issues/{rng.randrange(800, 4000)}"
            )
        elif key == "mention":
            target = self.mention or self.acct
            value = target.handle or target.display
        elif key == "handle":
            value = self.acct.handle or "me"
        elif key == "n":
            value = str(rng.randrange(1000, 40000))
        elif key == "code":
            value = "".join(e._one("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(8))
        elif key == "day":
            value = e._one(("monday", "friday", "weekend", "tuesday"))
        else:
            value = "{" + key + "}"
        self[key] = value
        return value


class Engine:
    """Generates one or several communities' activity from `start` on, in time order."""

    def __init__(
        self,
        *,
        seed: int,
        members: int,
        communities: list[str],
        now: datetime,
        start: datetime,
        floor: datetime | None = None,
    ) -> None:
        self.rng = random.Random(f"cockpit-demo:{seed}:events")
        # scam bots draw from their own stream, so adding them moved nothing else
        self.bot_rng = random.Random(f"cockpit-demo:{seed}:scam-bots")
        self._rnd = self.rng.random
        people_rng = random.Random(f"cockpit-demo:{seed}:people")
        self.now_us = _us(now)
        self.start_us = _us(start)
        self.time_us = self.start_us
        self.floor_us = _us(floor) if floor is not None else self.start_us - 1
        self._last_us = max(self.floor_us, self.start_us - 1)
        self.communities = communities
        self.products = [name.strip() or "Demo" for name in communities]
        self.slugs = [
            "".join(ch for ch in p.lower() if ch.isascii() and ch.isalnum()) or "demo"
            for p in self.products
        ]
        self.ids = pp.IdMaker(people_rng)
        self.handles = pp.HandleBook(people_rng)
        self.population = pp.build_population(
            people_rng, members, len(communities), self.now_us, self.ids, self.handles
        )
        self.members = members
        self.clock = ZoneClock(pp.ZONES)
        self._channels: dict[tuple[int, str, str], list[Channel]] = {}
        self._build_channels()
        self._groups: list[_Group] = []
        self._by_cp: dict[tuple[int, str], list[int]] = {}
        self._kocs: dict[tuple[int, str], list[pp.Account]] = {}
        self._bots: dict[str, pp.Account] = {}
        self._staff: list[pp.Account] = []
        self._build_groups()
        self._static_total = sum(g.total for g in self._groups)
        self._all_groups = list(range(len(self._groups)))
        self._weights: dict[int, tuple[list[float], dict[tuple[int, str], list[float]]]] = {}
        self._heap: list[tuple[int, int, Pending]] = []
        self._agenda: list[tuple[int, int, str, bool]] = []
        self._seq = 0
        self._recent: dict[int, deque[Pending]] = {}
        self._spawns = 20
        self._spawned_records = 60
        self.live_rate: float | None = None  # records per second once live
        self.tempo = 1.0  # live, conversations run faster so the screen stays lively
        self._live_since = 0
        self._schedule_history_incidents()
        self._next_us = self._arrival_after(self.start_us)

    # ----- set-up

    def _build_channels(self) -> None:
        for c, name in enumerate(self.products):
            for platform, specs in _CHANNELS.items():
                for title, purpose, lang in specs:
                    chan = Channel(
                        c,
                        self.communities[c],
                        platform,
                        title.format(c=name),
                        self.ids.channel(platform),
                        purpose,
                    )
                    key = f"regional:{lang}" if lang else purpose
                    self._channels.setdefault((c, platform, key), []).append(chan)

    def _build_groups(self) -> None:
        index: dict[tuple[int, str, int, bool], int] = {}
        for member in self.population.members:
            accts = member.accounts
            shares = (
                [1.0]
                if len(accts) == 1
                else [0.7, 0.3]
                if len(accts) == 2
                else [1 / len(accts)] * len(accts)
            )
            for acct, share in zip(accts, shares, strict=True):
                key = (member.community, acct.platform, member.region, member.owl)
                gi = index.get(key)
                if gi is None:
                    gi = index[key] = len(self._groups)
                    self._groups.append(_Group(member.region * 2 + member.owl))
                    self._by_cp.setdefault(key[:2], []).append(gi)
                self._groups[gi].add(acct, member.weight * share)
                if member.role == pp.KOC:
                    self._kocs.setdefault((member.community, acct.platform), []).append(acct)
                elif member.role == pp.BOT and acct.handle:
                    self._bots[f"{acct.handle}:{acct.platform}"] = acct
                elif member.role == pp.STAFF:
                    self._staff.append(acct)

    def _schedule_history_incidents(self) -> None:
        span = self.now_us - self.start_us
        days = span / DAY
        lo, hi = self.start_us + 10 * MINUTE, self.now_us - 30 * MINUTE
        if days < 1 or hi <= lo:
            return
        for kind, per_day in (("spam", 0.55), ("raid", 0.4)):
            for _ in range(max(1, round(days * per_day))):
                self._plan(self.rng.randrange(lo, hi), kind, False)

    def _plan(self, us: int, kind: str, live: bool) -> None:
        self._seq += 1
        heapq.heappush(self._agenda, (us, self._seq, kind, live))

    def go_live(self, rate: float, at: datetime) -> None:
        """From `at` on, `rate` records per second; incidents soon after, then every 20-40 min."""
        at_us = _us(at)
        self.live_rate = rate
        self.tempo = LIVE_TEMPO
        self._live_since = max(at_us, self.time_us)
        self._plan(at_us + self.rng.randrange(90, 170) * SECOND, "spam", True)
        self._plan(at_us + self.rng.randrange(200, 290) * SECOND, "raid", True)
        self._plan(at_us + self.bot_rng.randrange(30, 70) * SECOND, "scambot", True)
        self._next_us = self._arrival_after(max(at_us, self.time_us))

    def pause_live(self) -> None:
        """Back to the natural pace (to fill a gap after the host slept)."""
        self.live_rate, self.tempo = None, 1.0
        self._next_us = self._arrival_after(self.time_us)

    def resume_live(self, rate: float) -> None:
        self.live_rate, self.tempo = rate, LIVE_TEMPO
        self._live_since = self.time_us
        self._next_us = self._arrival_after(self.time_us)

    # ----- the stream

    def advance(self, until: datetime) -> Iterator[Activity]:
        """Every record due at or before `until`, in time order."""
        until_us = _us(until)
        heap, agenda = self._heap, self._agenda
        while True:
            spawn_us = self._next_us
            planned = agenda[0][0] if agenda else None
            if planned is not None and planned < spawn_us:
                spawn_us = planned
            if heap and heap[0][0] <= spawn_us and heap[0][0] <= until_us:
                activity = self._emit(heapq.heappop(heap)[2])
                if activity is not None:
                    yield activity
            elif spawn_us <= until_us:
                before = self._seq
                if planned is not None and planned == spawn_us:
                    _, _, kind, live = heapq.heappop(agenda)
                    self._incident(spawn_us, kind, live)
                else:
                    self._spawn(spawn_us)
                    self._spawns += 1
                    self._spawned_records += self._seq - before
                    self._next_us = self._arrival_after(spawn_us)
            else:
                break
        self.time_us = max(self.time_us, until_us)

    def _arrival_after(self, us: int) -> int:
        """Next episode start: Poisson, piecewise constant per 15-minute bucket."""
        rng = self.rng
        size = self._spawned_records / self._spawns
        while True:
            bucket = us // BUCKET_US
            end = (bucket + 1) * BUCKET_US
            if self.live_rate is not None:
                ramp = min(1.0, (us - self._live_since) / LIVE_RAMP)
                per_us = self.live_rate / SECOND * size / (1 + (size - 1) * ramp)
            else:
                cum, _ = self._bucket(bucket)
                pace = cum[-1] / self._static_total if self._static_total else 0.0
                per_us = self.members * HISTORY_PER_MEMBER_DAY / DAY * pace
            if per_us > 0:
                gap = rng.expovariate(per_us / size)
                if us + gap < end:
                    return us + max(1, int(gap))
            us = end

    def _emit(self, p: Pending) -> Activity | None:
        parent, root = p.parent, p.root
        us = p.us
        if (
            us <= self.floor_us
            or (parent is not None and parent.state != _EMITTED)
            or (root is not None and root.state != _EMITTED)
        ):
            p.state = _DROPPED  # its message was never written (before a resumed run's cursor)
            return None
        if us <= self._last_us:
            us = self._last_us + 1
        self._last_us = us
        acct, chan, kind = p.acct, p.chan, p.kind
        reply_to = parent.sid if parent is not None else None
        if kind is Kind.MESSAGE:
            sid = message_id(chan.platform, chan.channel_id, us)
        elif kind is Kind.REACTION:
            sid = reaction_id(reply_to or "", p.text, acct.author_id)
        elif kind is Kind.EDIT or kind is Kind.DELETE:
            sid, reply_to = reply_to or "", None
        else:
            sid = f"{kind.value}:{acct.author_id}:{us}"
        p.sid = sid
        p.state = _EMITTED
        ts = EPOCH + timedelta(microseconds=us)
        return Activity(
            chan.platform,
            sid,
            kind,
            ts,
            chan.name,
            acct.display,
            acct.author_id,
            p.text,
            chan.community_name,
            chan.channel_id,
            acct.handle,
            reply_to,
            root.sid if root is not None else sid if p.self_thread else None,
            p.mentions,
            p.attachments,
            p.reactions,
            ts if kind is Kind.EDIT else None,
            acct.is_bot,
        )

    # ----- who is around

    def _bucket(self, bucket: int) -> tuple[list[float], dict[tuple[int, str], list[float]]]:
        cached = self._weights.get(bucket)
        if cached is None:
            if len(self._weights) > 2048:
                self._weights.clear()
            factors = self.clock.factors(bucket)
            dyn = [g.total * factors[g.factor] for g in self._groups]
            per_cp = {
                cp: list(accumulate(dyn[i] for i in idxs)) for cp, idxs in self._by_cp.items()
            }
            cached = self._weights[bucket] = (list(accumulate(dyn)), per_cp)
        return cached

    def _pick(
        self, us: int, cp: tuple[int, str] | None = None, avoid: pp.Member | None = None
    ) -> pp.Account | None:
        """Someone awake at `us` (in community and platform `cp` if given), by activity weight."""
        all_cum, per_cp = self._bucket(us // BUCKET_US)
        if cp is None:
            cum, idxs = all_cum, self._all_groups
        else:
            got = per_cp.get(cp)
            if got is None:
                return None
            cum, idxs = got, self._by_cp[cp]
        rnd, groups = self.rng.random, self._groups
        top, last = cum[-1], len(cum) - 1
        for _ in range(4):
            i = bisect_right(cum, rnd() * top)
            group = groups[idxs[i if i <= last else last]]
            accounts = group.accounts
            j = bisect_right(group.cum, rnd() * group.total)
            acct = accounts[j] if j < len(accounts) else accounts[-1]
            member = acct.member
            if member.joined_us <= us < member.until_us and member is not avoid and not acct.is_bot:
                return acct
        return None

    def _helper(self, us: int, cp: tuple[int, str], asker: pp.Member) -> pp.Account | None:
        """Who answers: a key contributor when one is awake, else an experienced member."""
        rng = self.rng
        kocs = self._kocs.get(cp)
        if kocs and rng.random() < 0.75:
            factors = self.clock.factors(us // BUCKET_US)
            weights = [
                a.member.weight * factors[a.member.region * 2 + a.member.owl]
                if a.member.until_us > us and a.member is not asker
                else 0.0
                for a in kocs
            ]
            if sum(weights) > 0:
                return rng.choices(kocs, weights=weights)[0]
        one, two = self._pick(us, cp, asker), self._pick(us, cp, asker)
        if one is None or two is None:
            return one or two
        return one if one.member.weight >= two.member.weight else two

    def _channel(self, c: int, platform: str, purpose: str) -> Channel:
        chans = (
            self._channels.get((c, platform, purpose)) or self._channels[(c, platform, "general")]
        )
        return chans[0] if len(chans) == 1 else self._one(chans)

    def _local_lang(self, acct: pp.Account) -> str | None:
        lang = pp.REGIONS[acct.member.region].lang
        return lang if lang in tx.LOCAL else None

    # ----- making records

    def _one(self, seq: Sequence[T]) -> T:
        """random.choice, without its rejection sampling (a hot path here)."""
        return seq[int(self._rnd() * len(seq))]

    def _push(self, p: Pending) -> Pending:
        self._seq += 1
        heapq.heappush(self._heap, (p.us, self._seq, p))
        return p

    def _say(
        self,
        us: int,
        acct: pp.Account,
        chan: Channel,
        text: str,
        parent: Pending | None = None,
        mention: pp.Account | None = None,
    ) -> Pending:
        root = None
        if parent is not None and chan.platform in _THREADED:
            root = parent.root or parent
        p = Pending(us, Kind.MESSAGE, acct, chan, text, parent, root)
        if mention is not None:
            p.mentions = (mention.author_id,)
        if parent is None and chan.platform == "discourse":
            p.self_thread = True
        return self._push(p)

    def _fmt(self, template: str, acct: pp.Account, mention: pp.Account | None = None) -> str:
        if "{" not in template:
            return template
        return template.format_map(_Slots(self, acct, mention))

    def _chatter(self, acct: pp.Account, pool: tuple[str, ...] = tx.CHAT) -> str:
        return self._vary(self._fmt(self._one(pool), acct))

    def _vary(self, text: str, suffix: bool = True) -> str:
        """How people actually type a stock phrase: rarely twice the same way.

        Without this, honest messages drawn from the phrase pools repeat word for word on
        several platforms within minutes, which is exactly what cross-platform spam looks like.
        """
        rng = self.rng
        r = rng.random()
        if r < 0.35 or (len(text) >= 30 and r < 0.9):
            text = self._one(tx.PREFIXES) + text + (self._one(tx.SUFFIXES) if suffix else "")
            if rng.random() < 0.3 and text[:1].isupper():
                text = text[0].lower() + text[1:]
        return text

    def _react(self, msg: Pending, mean: float, favourite: str | None = None) -> None:
        rng = self.rng
        if mean <= 0:
            return
        count = min(60, int(rng.expovariate(1 / mean)))
        if not count:
            return
        emojis = tx.EMOJI[msg.chan.platform]
        favourite = tx.emoji_for(msg.chan.platform, favourite) if favourite else self._one(emojis)
        cp = (msg.chan.community, msg.chan.platform)
        for _ in range(count):
            delay = int(rng.expovariate(1 / (12 * MINUTE)) * self.tempo)
            us = msg.us + (delay if delay < REACTION_HORIZON else REACTION_HORIZON) + SECOND
            who = self._pick(us, cp, msg.acct.member)
            if who is not None:
                self._reaction(us, who, msg, favourite if rng.random() < 0.6 else self._one(emojis))

    def _reaction(self, us: int, who: pp.Account, msg: Pending, emoji: str) -> None:
        if msg.reactors is None:
            msg.reactors = set()
        key = (who.author_id, emoji)
        if key in msg.reactors:
            return
        msg.reactors.add(key)
        msg.reactions += 1
        self._push(Pending(us, Kind.REACTION, who, msg.chan, emoji, msg, msg.root))

    def _touch_up(self, msg: Pending) -> None:
        """A few messages get edited or deleted by their author."""
        rng = self.rng
        r = rng.random()
        if r < 0.012:
            us = msg.us + rng.randrange(20, 600) * SECOND
            self._push(
                Pending(
                    us,
                    Kind.EDIT,
                    msg.acct,
                    msg.chan,
                    msg.text + self._one(tx.EDIT_SUFFIXES),
                    msg,
                    None,
                )
            )
        elif r < 0.015:
            us = msg.us + rng.randrange(60, 1800) * SECOND
            self._push(Pending(us, Kind.DELETE, msg.acct, msg.chan, "", msg, None))

    def _replies(self, root: Pending, count: int, pool: tuple[str, ...], mean_gap: float) -> None:
        """Others chime in: each reply answers the root or the previous reply."""
        rng = self.rng
        cp = (root.chan.community, root.chan.platform)
        last, us = root, root.us
        for _ in range(count):
            us += int(rng.expovariate(1 / mean_gap) * self.tempo) + 5 * SECOND
            who = self._pick(us, cp, last.acct.member)
            if who is None:
                continue
            target = last if rng.random() < 0.3 else root
            reply = self._say(us, who, root.chan, self._chatter(who, pool), target)
            self._react(reply, 0.4)
            last = reply

    def _remember(self, chan: Channel, msg: Pending) -> None:
        ring = self._recent.get(id(chan))
        if ring is None:
            ring = self._recent[id(chan)] = deque(maxlen=8)
        ring.append(msg)

    # ----- episodes

    def _spawn(self, us: int) -> None:
        acct = self._pick(us)
        if acct is None:
            return
        role = acct.member.role
        if role == pp.FLOODER:
            self._flood(us, acct)
        elif role in (pp.KOC, pp.CORE):
            self._contributor(us, acct)
        elif role == pp.STAFF:
            self._staff_post(us, acct)
        elif role == pp.TROLL:
            self._troll(us, acct)
        else:
            self._member(us, acct)

    def _member(self, us: int, acct: pp.Account) -> None:
        rng = self.rng
        r = rng.random()
        c, platform = acct.member.community, acct.platform
        if r < 0.42:
            self._chat(us, acct)
        elif r < 0.57:
            self._question(us, acct)
        elif r < 0.65:
            chan = self._channel(c, platform, "general")
            msg = self._say(us, acct, chan, self._fmt(self._one(tx.GREETINGS), acct))
            self._react(msg, 1.2, "👋" if platform in ("discord", "telegram", "whatsapp") else None)
        elif r < 0.70:
            chan = self._channel(c, platform, self._one(("help", "dev")))
            msg = self._say(us, acct, chan, self._fmt(self._one(tx.BUGS), acct))
            msg.attachments = int(rng.random() < 0.5)
            self._react(msg, 0.6)
            if rng.random() < 0.8:
                self._answer(
                    msg,
                    acct,
                    self._fmt(self._one(tx.BUG_REPLIES), acct),
                    rng.randrange(2, 90) * MINUTE,
                )
        elif r < 0.74:
            chan = self._channel(c, platform, "ideas" if platform == "discourse" else "dev")
            msg = self._say(us, acct, chan, self._fmt(self._one(tx.IDEAS), acct))
            self._react(msg, 3.0, "👍")
            self._replies(msg, rng.randrange(0, 5), tx.IDEA_REPLIES, 20 * MINUTE)
        elif r < 0.79:
            chan = self._channel(c, platform, "offtopic")
            msg = self._say(us, acct, chan, self._one(tx.MEMES))
            msg.attachments = 1
            self._react(msg, 4.0, "😂")
        elif r < 0.83:
            cp = (c, platform)
            kocs = self._kocs.get(cp)
            hero = (
                self._one(kocs) if kocs and rng.random() < 0.7 else self._pick(us, cp, acct.member)
            )
            if hero is None:
                return
            msg = self._say(
                us,
                acct,
                self._channel(c, platform, "general"),
                self._fmt(self._one(tx.THANKS), acct, hero),
                mention=hero,
            )
            self._react(msg, 1.5, "❤️")
        elif r < 0.87:
            msg = self._say(
                us,
                acct,
                self._channel(c, platform, self._one(("general", "showcase"))),
                self._fmt(self._one(tx.LINKS), acct),
            )
            self._react(msg, 1.5)
        elif r < 0.95:
            self._local(us, acct)
        elif r < 0.975:
            self._newcomer(us, c, platform)
        elif acct.member.role in (pp.LURKER, pp.CASUAL) and r > 0.99:
            self._leave(us, acct)
        else:
            self._chat(us, acct)

    def _chat(self, us: int, acct: pp.Account) -> None:
        rng = self.rng
        c, platform = acct.member.community, acct.platform
        r = rng.random()
        purpose = (
            "general" if r < 0.55 else "offtopic" if r < 0.82 else "dev" if r < 0.95 else "showcase"
        )
        chan = self._channel(c, platform, purpose)
        ring = self._recent.get(id(chan))
        parent = None
        if ring and rng.random() < 0.15:
            parent = ring[-1 - rng.randrange(len(ring))]
            if parent.acct.member is acct.member or parent.state == _DROPPED:
                parent = None
        msg = self._say(us, acct, chan, self._chatter(acct), parent)
        msg.attachments = int(rng.random() < 0.05)
        self._remember(chan, msg)
        self._react(msg, 0.8)
        if rng.random() < 0.3:
            self._replies(msg, 1 + int(rng.expovariate(0.6)), tx.CHAT, 3 * MINUTE)
        self._touch_up(msg)

    def _local(self, us: int, acct: pp.Account) -> None:
        lang = self._local_lang(acct)
        if lang is None:
            self._chat(us, acct)
            return
        rng = self.rng
        chats, questions, answers = tx.LOCAL[lang]
        c, platform = acct.member.community, acct.platform
        chan = self._channel(c, platform, f"regional:{lang}")
        if rng.random() < 0.3:
            self._question(us, acct, chan, self._one(questions), answers)
            return
        msg = self._say(us, acct, chan, self._one(chats))
        self._remember(chan, msg)
        self._react(msg, 1.0)
        if rng.random() < 0.25:
            self._replies(msg, rng.randrange(1, 4), chats, 4 * MINUTE)

    def _question(
        self,
        us: int,
        acct: pp.Account,
        chan: Channel | None = None,
        text: str | None = None,
        answers: tuple[str, ...] | None = None,
    ) -> None:
        """Asked in the help channel; most get an answer (fast or late), some never do."""
        rng = self.rng
        if text is None or answers is None:
            questions, answers = tx.QA[self._one(tuple(tx.QA))]
            text = self._vary(self._fmt(self._one(questions), acct), suffix=False)
            chan = self._channel(acct.member.community, acct.platform, "help")
        assert chan is not None
        q = self._say(us, acct, chan, text)
        self._react(q, 0.3, "👀")
        if rng.random() < 0.2:
            return  # stays unanswered
        late = rng.random() >= 0.75
        delay = (
            rng.randrange(30 * MINUTE, 3 * HOUR) if late else int(rng.expovariate(1 / (7 * MINUTE)))
        )
        answer = self._answer(
            q, acct, self._vary(self._fmt(self._one(answers), acct)), delay + 20 * SECOND
        )
        if answer is None:
            return
        if rng.random() < 0.55:
            thanks_us = (
                answer.us + int(rng.expovariate(1 / (5 * MINUTE)) * self.tempo) + 10 * SECOND
            )
            self._say(thanks_us, acct, chan, self._one(tx.THANKS_AFTER_ANSWER), answer, answer.acct)
        if rng.random() < 0.45:
            ok = {"slack": ":white_check_mark:", "discourse": "heart", "whatsapp": "🙏"}.get(
                chan.platform, "✅"
            )
            self._reaction(answer.us + 30 * SECOND, acct, answer, ok)
        if rng.random() < 0.2:
            self._answer(
                q, acct, self._fmt(self._one(answers), acct), delay + rng.randrange(5, 60) * MINUTE
            )

    def _answer(self, q: Pending, asker: pp.Account, text: str, delay: int) -> Pending | None:
        us = q.us + int(delay * self.tempo)
        helper = self._helper(us, (q.chan.community, q.chan.platform), asker.member)
        if helper is None:
            return None
        if asker.handle and self.rng.random() < 0.5:
            text = f"@{asker.handle} {text}"
        answer = self._say(us, helper, q.chan, text, q, asker)
        self._react(answer, 1.5)
        return answer

    def _contributor(self, us: int, acct: pp.Account) -> None:
        """Key contributors start threads people join, share tips, and keep chats going."""
        rng = self.rng
        c, platform = acct.member.community, acct.platform
        r = rng.random()
        if r < 0.3:
            chan = self._channel(c, platform, self._one(("dev", "general", "showcase")))
            root = self._say(
                us, acct, chan, self._vary(self._fmt(self._one(tx.THREAD_STARTERS), acct))
            )
            self._react(root, 9.0, "🔥" if platform != "slack" else ":fire:")
            self._replies(root, rng.randrange(3, 14), tx.THREAD_REPLIES, 12 * MINUTE)
            if rng.random() < 0.6:
                later = root.us + int(rng.randrange(20, 120) * MINUTE * self.tempo)
                thanks = self._vary("thanks all for the input, updated the post 🙌")
                self._say(later, acct, chan, thanks, root)
        elif r < 0.5:
            chan = self._channel(c, platform, self._one(("help", "general")))
            msg = self._say(us, acct, chan, self._vary(self._fmt(self._one(tx.KOC_TIPS), acct)))
            self._react(msg, 5.0)
        else:
            chan = self._channel(c, platform, self._one(("general", "general", "dev", "offtopic")))
            msg = self._say(us, acct, chan, self._chatter(acct))
            self._remember(chan, msg)
            self._react(msg, 2.5)
            if rng.random() < 0.6:
                self._replies(msg, 1 + int(rng.expovariate(0.5)), tx.CHAT, 3 * MINUTE)

    def _flood(self, us: int, acct: pp.Account) -> None:
        """Many short, low-value messages in a burst; nobody much reacts."""
        rng = self.rng
        chan = self._channel(acct.member.community, acct.platform, "general")
        for _ in range(rng.randrange(3, 10)):
            msg = self._say(us, acct, chan, self._one(tx.FLOOD))
            if rng.random() < 0.04:
                self._react(msg, 1.0)
            us += rng.randrange(2, 15) * SECOND

    def _staff_post(self, us: int, acct: pp.Account) -> None:
        rng = self.rng
        if rng.random() < 0.3:
            text = self._fmt(self._one(tx.ANNOUNCEMENTS), acct)
            for n, post_as in enumerate(self._staff):
                if post_as.member is acct.member:
                    chan = self._channel(
                        post_as.member.community, post_as.platform, "announcements"
                    )
                    msg = self._say(us + n * rng.randrange(30, 240) * SECOND, post_as, chan, text)
                    self._react(msg, 18.0, "🎉" if post_as.platform != "slack" else ":tada:")
            if rng.random() < 0.4:
                self._release(us, acct.member.community)
        else:
            self._chat(us, acct)

    def _release(self, us: int, c: int) -> None:
        """The GitHub integration announces a release in the dev channels."""
        for platform in ("discord", "slack"):
            bot = self._bots.get(f"github:{platform}")
            if bot is not None and bot.member.community == c:
                chan = self._channel(c, platform, "dev")
                msg = self._say(us + 2 * SECOND, bot, chan, self._fmt(tx.RELEASE_BOT, bot))
                self._react(msg, 4.0, "🎉" if platform == "discord" else ":tada:")

    def _troll(self, us: int, acct: pp.Account) -> None:
        rng = self.rng
        chan = self._channel(
            acct.member.community, acct.platform, self._one(("general", "help", "offtopic"))
        )
        msg = self._say(us, acct, chan, self._one(tx.HOSTILE))
        if rng.random() < 0.5:
            self._push(
                Pending(
                    msg.us + rng.randrange(40, 400) * SECOND, Kind.DELETE, acct, chan, "", msg, None
                )
            )

    def _fresh(self, c: int, platform: str, role: str, name: str | None = None) -> pp.Account:
        """A brand-new account (newcomer, spammer, raider), not part of the regular membership."""
        rng = self.rng
        region_i = rng.randrange(len(pp.REGIONS))
        region = pp.REGIONS[region_i]
        first, first_a = pp.split_name(self._one(region.first))
        last, last_a = pp.split_name(self._one(region.last))
        member = pp.Member(
            -1, name or f"{first} {last}", f"{first_a} {last_a}", region_i, c, role, 0.0
        )
        if role == pp.NEWCOMER:
            wanted = self.handles.invent(first_a, last_a)
        else:
            wanted = f"{self._one(('user', 'free_nitro', 'claim', 'xx', 'airdrop', 'gift'))}{rng.randrange(1000, 99999)}"
        handle = None if platform == "whatsapp" else self.handles.claim(platform, wanted)
        shown = name or (
            f"{first} {last}" if platform == "whatsapp" or rng.random() < 0.6 else handle or first
        )
        acct = pp.Account(member, platform, self.ids.user(platform, region.phone), handle, shown)
        member.accounts.append(acct)
        return acct

    def _newcomer(self, us: int, c: int, platform: str) -> None:
        rng = self.rng
        acct = self._fresh(c, platform, pp.NEWCOMER)
        chan = self._channel(c, platform, "general")
        self._push(Pending(us, Kind.JOIN, acct, chan, "", None, None))
        bot = self._bots.get(f"carl-bot:{platform}")
        if bot is not None and bot.member.community == c:
            self._say(
                us + rng.randrange(1, 4) * SECOND,
                bot,
                chan,
                self._fmt(tx.WELCOME_BOT, bot, acct),
                mention=acct,
            )
        if rng.random() < 0.5:
            hi = self._say(
                us + int(rng.randrange(1, 15) * MINUTE * self.tempo),
                acct,
                chan,
                self._fmt(self._one(tx.NEWCOMER), acct),
            )
            self._react(hi, 3.0, "👋" if platform not in ("slack", "discourse") else None)
            greeter = next(
                (s for s in self._staff if s.platform == platform and s.member.community == c), None
            )
            if greeter is None or rng.random() < 0.4:
                greeter = self._helper(hi.us + 5 * MINUTE, (c, platform), acct.member)
            if greeter is not None:
                self._say(
                    hi.us + rng.randrange(1, 20) * MINUTE,
                    greeter,
                    chan,
                    self._fmt(self._one(tx.WELCOME_STAFF), greeter, acct),
                    hi,
                    acct,
                )

    def _leave(self, us: int, acct: pp.Account) -> None:
        acct.member.until_us = us
        chan = self._channel(acct.member.community, acct.platform, "general")
        self._push(Pending(us, Kind.LEAVE, acct, chan, "", None, None))

    # ----- incidents

    def _incident(self, us: int, kind: str, live: bool) -> None:
        if kind == "scambot":
            self._scam_bot(us)
            if live:
                self._plan(us + self.bot_rng.randrange(15, 30) * MINUTE, kind, True)
            return
        rng = self.rng
        c = rng.randrange(len(self.communities))
        if kind == "spam":
            self._spam_wave(us, c)
            gap = rng.randrange(20, 40) * MINUTE
        else:
            self._raid(us, c)
            gap = rng.randrange(20, 40) * MINUTE
        if live:
            self._plan(us + gap, kind, True)

    def _scam_bot(self, us: int) -> None:
        """A bot account joins and, within a minute or two, posts its lure: what the
        new-member screen is for. Drawn from its own random stream."""
        rng, self.rng = self.rng, self.bot_rng
        try:
            c = self.rng.randrange(len(self.communities))
            platform = self._one(("discord", "telegram"))
            acct = self._fresh(c, platform, pp.SPAMMER, self._one(tx.SCAM_BOT_NAMES))
            chan = self._channel(c, platform, "general")
            self._push(Pending(us, Kind.JOIN, acct, chan, "", None, None))
            lure = self._fmt(self._one(tx.SCAM_BOT), acct)
            self._say(us + self.rng.randrange(20, 90) * SECOND, acct, chan, lure)
            acct.member.until_us = us + 30 * MINUTE
        finally:
            self.rng = rng

    def _spam_wave(self, us: int, c: int) -> None:
        """Accounts post the same scam link many times within seconds, on two or three platforms:
        sleepers that joined long ago (a wave's accounts are aged to get past new-member
        screens), so it is the wave rules that catch them."""
        rng = self.rng
        platforms = [
            "discord",
            *rng.sample(["telegram", "whatsapp", "slack", "discourse"], rng.randrange(1, 3)),
        ]
        senders: list[pp.Account] = []
        for platform in platforms:
            for _ in range(rng.randrange(1, 3)):
                acct = self._fresh(c, platform, pp.SPAMMER, self._one(tx.SCAM_NAMES))
                senders.append(acct)
        text = self._fmt(self._one(tx.SCAM), senders[0])
        t = us + rng.randrange(3, 20) * SECOND
        for _ in range(rng.randrange(10, 26)):
            acct = self._one(senders)
            chan = self._channel(
                c, acct.platform, self._one(("general", "help", "offtopic", "dev"))
            )
            msg = self._say(t, acct, chan, text)
            if rng.random() < 0.4:
                self._push(
                    Pending(
                        t + rng.randrange(120, 600) * SECOND, Kind.DELETE, acct, chan, "", msg, None
                    )
                )
            t += rng.randrange(200_000, 3 * SECOND)
        for acct in senders:
            chan = self._channel(c, acct.platform, "general")
            acct.member.until_us = t + 10 * MINUTE
            self._push(
                Pending(t + rng.randrange(3, 10) * MINUTE, Kind.LEAVE, acct, chan, "", None, None)
            )

    def _raid(self, us: int, c: int) -> None:
        """Dozens of accounts join one community within a minute; a few make noise."""
        rng = self.rng
        platform = "discord" if rng.random() < 0.7 else "telegram"
        chan = self._channel(c, platform, "general")
        for _ in range(rng.randrange(25, 70)):
            name = self._one(tx.HOSTILE_NAMES) if rng.random() < 0.25 else None
            acct = self._fresh(c, platform, pp.RAIDER, name)
            joined = us + rng.randrange(0, 60 * SECOND)
            self._push(Pending(joined, Kind.JOIN, acct, chan, "", None, None))
            if rng.random() < 0.2:
                noise = self._one(tx.HOSTILE) if rng.random() < 0.6 else self._one(tx.FLOOD)
                self._say(joined + rng.randrange(5, 90) * SECOND, acct, chan, noise)


def _us(ts: datetime) -> int:
    if ts.tzinfo is None:
        raise ValueError("the demo needs timezone-aware times")
    delta = ts - EPOCH
    return (delta.days * 86_400 + delta.seconds) * SECOND + delta.microseconds


def history(
    *,
    seed: int = 7,
    members: int = 3000,
    communities: list[str] | None = None,
    now: datetime,
    days: float = 7.0,
) -> Iterator[Activity]:
    """The records of the `days` before `now`: what a fresh demo writes first."""
    engine = Engine(
        seed=seed,
        members=members,
        communities=communities or ["demo"],
        now=now,
        start=now - timedelta(days=days),
    )
    yield from engine.advance(now)


def engine_stats(engine: Engine) -> dict[str, Any]:
    """For benchmarks and the report: what the engine has done so far."""
    return {
        "episodes": engine._spawns - 20,
        "records_per_episode": engine._spawned_records / engine._spawns,
        "members": len(engine.population.members),
    }
