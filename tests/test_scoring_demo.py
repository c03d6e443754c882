"""On the simulated community: the planted KOCs lead, the flooder does not, the quiet core
member is on the churn watch, and every explanation adds up."""

from __future__ import annotations

from datetime import UTC, datetime

from cockpit.plugins.demo import FLOODER_HANDLE, PLANTED_KOCS, QUIET_CORE_MEMBER, history
from cockpit.scoring import report
from cockpit.scoring.health import health
from cockpit.scoring.identity import identities_from_rows, suggest
from cockpit.scoring.leaderboard import explain, leaderboard
from cockpit.scoring.rank import total
from cockpit.store.sqlite import SQLiteStore
from cockpit.store.sqlite_scoring import ScoringStore

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)


async def test_demo_leaderboard_names_the_planted_kocs(store: SQLiteStore) -> None:
    sc = ScoringStore(store, clock=lambda: NOW)
    batch = []
    for a in history(now=NOW, days=45, members=500):
        batch.append(a)
        if len(batch) == 5000:
            await store.write(batch)
            await sc.catch_up()  # as the ingest listener does, batch by batch
            batch = []
    await store.write(batch)
    await sc.catch_up()
    # the operator accepts the confident suggestions
    cid = await sc.community_id("demo")
    for s in suggest(
        identities_from_rows(await sc.store.identity.identities(cid)), min_confidence=0.68
    ):
        if s.reason in ("same handle and name", "same display name"):
            await sc.store.identity.link(s.a.id, s.b.id)
    board = await leaderboard(sc, "demo", "30d", NOW, limit=None)
    handles = [s.who.handle for s in board]
    top = set(handles[: len(PLANTED_KOCS) + 3])
    assert set(PLANTED_KOCS) - {"chinedu.dev", "mariasantos"} <= top
    assert {"chinedu.dev", "mariasantos"} & top  # whatsapp names link by display name
    flooder = handles.index(FLOODER_HANDLE)
    assert all(handles.index(h) < flooder for h in PLANTED_KOCS)
    for s in board[:20]:
        assert s.score == total(s.terms)
        assert s.score == sum(t.weight * t.decayed for t in s.terms)
        why = await explain(sc, "demo", s.who.member_ids[0], "30d", NOW)
        assert (why.rank, why.score) == (s.rank, s.score)
    h = await health(sc, "demo", "7d", NOW)
    assert QUIET_CORE_MEMBER in {
        w.handle for w in (await sc.who([c["key"] for c in h["churn_watch"]])).values()
    }
    text = report.markdown(report.build(h, board[:10]))
    assert "## Who carried the community" in text and "quiet" in text
    page = report.page(report.build(h, board[:10]))
    assert page.count("<svg") == 3 and "http://" not in page.replace("http://www.w3.org", "")
