"""Pages: a critical alert goes out at once, and says enough to act on from a phone."""

from __future__ import annotations

from cockpit.alerts.config import AlertingSettings, Receiver
from cockpit.alerts.grouping import plan
from cockpit.alerts.records import AlertRow

T0 = 1_764_000_000_000  # 2025-11-24 16:00 UTC
S = 1000


def row(i: int, severity: str, **annotations: str) -> AlertRow:
    return AlertRow(
        id=i,
        fingerprint=f"fp{i}",
        rule="scam-words",
        community="acme",
        severity=severity,
        state="firing",
        labels={"alertname": "scam-words", "community": "acme"},
        annotations={"summary": f"'airdrop' by bob{i} in discord #general", **annotations},
        notify=("oncall",),
        summary=f"'airdrop' by bob{i} in discord #general",
        value=0.0,
        count=1,
        activity_ids=(i,),
        active_at=T0,
        fired_at=T0,
        resolved_at=None,
        updated=T0,
        acked_at=None,
        acked_by=None,
        resolved_by=None,
    )


SETTINGS = AlertingSettings(group_wait="30s", group_interval="5m")


def test_critical_pages_at_once_warning_waits_for_company() -> None:
    oncall = Receiver(name="oncall", urls=["json://127.0.0.1:9"])
    groups: dict[tuple[str, str], int] = {}
    warn = plan(T0, [row(1, "warning")], [], groups, {}, set(), [oncall], SETTINGS)
    assert warn.outgoing == []  # group_wait
    groups = {}
    crit = plan(T0, [row(1, "critical")], [], groups, {}, set(), [oncall], SETTINGS)
    assert [o.alert_ids for o in crit.outgoing] == [[1]]
    # a second critical in the same group 10 s later: not after group_interval, now
    groups = dict(crit.groups)
    later = plan(
        T0 + 10 * S, [row(1, "critical"), row(2, "critical")], [], groups, crit.log, set(),
        [oncall], SETTINGS,
    )  # fmt: skip
    assert [sorted(o.alert_ids) for o in later.outgoing] == [[1, 2]]


def test_a_page_says_what_where_who_what_to_do_and_how_to_ack() -> None:
    berlin = Receiver(name="oncall", urls=["json://127.0.0.1:9"], timezone="Europe/Berlin")
    alert = row(
        7,
        "critical",
        message="claim your airdrop \x1b[31m[bold]now[/]: https://x.example/\u202e",
        link="https://discord.com/channels/1/2/3",
        account_age="2h",
        runbook="Delete the post, time out the author",
    )
    [page] = plan(T0, [alert], [], {}, {}, set(), [berlin], SETTINGS).outgoing
    body = page.body
    assert "(since Mon 24 Nov 17:00 CET)" in body  # the receiver's zone, no ISO milliseconds
    assert "\x1b" not in body and "\u202e" not in body
    assert 'message: "claim your airdrop' in body and "[bold]now[/]" in body
    assert "link: https://discord.com/channels/1/2/3" in body
    assert "account age: 2h" in body
    assert "runbook: Delete the post, time out the author" in body
    assert "ack: cockpit alerts ack 7" in body


def test_keyword_alert_carries_the_message_its_link_and_the_runbook() -> None:
    from cockpit.alerts.config import parse_rules
    from cockpit.alerts.engine import Engine
    from cockpit.alerts.events import Event
    from cockpit.model import Kind

    rules = parse_rules(
        [{"name": "s", "kind": "keyword", "keywords": ["airdrop"], "runbook": "Delete it"}]
    )
    e = Engine(rules, AlertingSettings(), clock=lambda: T0)
    e.observe(
        Event(1, "acme", "discord", "333", Kind.MESSAGE, T0, "222", "general", "u1", "bob",
              "airdrop here", extras={"guild_id": "111"})
    )  # fmt: skip
    e.observe(
        Event(2, "acme", "telegram", "-1001234:56", Kind.MESSAGE, T0, "-1001234", "tg", "u2",
              "eve", "airdrop there")
    )  # fmt: skip
    found = {a.labels["platform"]: a.annotations for a in e.evaluate(T0)}
    assert found["discord"]["link"] == "https://discord.com/channels/111/222/333"
    assert found["telegram"]["link"] == "https://t.me/c/1234/56"
    assert found["discord"]["message"] == "airdrop here"
    assert found["discord"]["runbook"] == "Delete it"
