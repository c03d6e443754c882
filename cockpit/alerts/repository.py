"""The alerts feature's data: what the engine, the notifier, the CLI and the pane ask of the
store. Each backend (SQLite, PostgreSQL) implements it inside `cockpit/store/`; nothing
outside the store knows which one is there."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from cockpit.alerts.config import AlertingSettings, Receiver
from cockpit.alerts.engine import Alert
from cockpit.alerts.events import Event
from cockpit.alerts.grouping import Outgoing
from cockpit.alerts.records import AlertRow, Matcher, OutboxRow, RuleChange, RuleStats, SilenceRow


class AlertRepository(Protocol):
    """Alerts, silences and the notification outbox; times are epoch milliseconds."""

    async def events_between(self, first: int, last: int) -> list[Event]:
        """The activities a commit inserted (its row id range), in insertion order."""
        ...

    async def events_since(self, since: int, after_id: int, limit: int = 5000) -> list[Event]:
        """Recent history to warm the windows up, paged by row id."""
        ...

    async def events_in(
        self, start: int, end: int, after: tuple[int, int] | None = None, limit: int = 20_000
    ) -> list[Event]:
        """Stored activities with start <= ts < end in time order, paged by (ts, row id)
        after `after`: the history a backtest replays."""
        ...

    async def save(self, changes: Sequence[Alert], now: int) -> list[str]:
        """Persist what the engine changed; the fingerprints an operator resolved meanwhile."""
        ...

    async def manually_resolved(self, since: int) -> list[str]: ...

    async def alerts(
        self,
        states: Sequence[str] = (),
        community: str | None = None,
        limit: int = 200,
        now: int | None = None,
    ) -> list[AlertRow]:
        """Open alerts first (firing, then pending), then the most recently resolved."""
        ...

    async def alert(self, alert_id: int, now: int | None = None) -> AlertRow | None: ...

    async def counts(self) -> dict[str, int]:
        """Open alerts by state and severity, for the header."""
        ...

    async def ack(self, alert_id: int, by: str, now: int) -> AlertRow: ...

    async def resolve(self, alert_id: int, by: str, now: int) -> AlertRow: ...

    async def add_silence(
        self, matchers: Sequence[Matcher], starts: int, ends: int, comment: str, by: str, now: int
    ) -> SilenceRow: ...

    async def expire_silence(self, silence_id: int, now: int) -> None: ...

    async def silences(
        self, active_at: int | None = None, limit: int = 200
    ) -> list[SilenceRow]: ...

    async def plan_notifications(
        self, now: int, receivers: Sequence[Receiver], settings: AlertingSettings
    ) -> list[Outgoing]:
        """Decide and enqueue what is due, in one transaction; returns what was enqueued."""
        ...

    async def enqueue_once(self, items: Sequence[Outgoing], now: int) -> int:
        """Queue pages that are not about an alert's state (what a rule proposed or did, a
        cap reached), each at most once per (receiver, group key), whatever restarts."""
        ...

    async def claim_due(self, now: int, limit: int = 20) -> list[OutboxRow]:
        """Take due notifications for sending (marked `sending`, one more attempt counted)."""
        ...

    async def mark_sent(self, outbox_id: int, now: int) -> None: ...

    async def mark_failed(self, outbox_id: int, error: str, retry_at: int | None) -> None: ...

    async def requeue_interrupted(self) -> int:
        """After a crash mid-send: send those again (at least once beats never)."""
        ...

    async def outbox(self, states: Sequence[str] = (), limit: int = 50) -> list[OutboxRow]: ...

    async def outbox_problems(self) -> tuple[int, int, str | None]:
        """(failed for good, waiting to retry, the latest error): shown, never swallowed."""
        ...

    async def rule_stats(self, now: int) -> dict[str, RuleStats]:
        """Per rule: open state, silenced, last fired, fires in the last 24 h and 7 days."""
        ...

    async def record_rule_change(self, rule: str, change: str, by: str, now: int) -> RuleChange:
        """Remember who changed a rule and how (shown in the Rules view)."""
        ...

    async def rule_changes(self, rule: str | None = None, limit: int = 50) -> list[RuleChange]:
        """The latest rule changes, newest first."""
        ...
