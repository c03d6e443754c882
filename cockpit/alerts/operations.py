"""What an operator does to alerts and silences, in one place for the CLI and the TUI: the
same checks, the same operator name, the same store calls, whoever asks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from cockpit.alerts.display import who
from cockpit.alerts.records import AlertRow, Matcher, SilenceRow
from cockpit.alerts.repository import AlertRepository
from cockpit.errors import CockpitError

LONGEST_SILENCE = timedelta(days=366)  # longer is a disabled rule, not a silence


async def acknowledge(
    alerts: AlertRepository, alert_id: int, now: int, by: str | None = None
) -> AlertRow:
    """On-call has seen it: no more pages for it, it stays open until it resolves."""
    return await alerts.ack(alert_id, by or who(), now)


async def resolve(
    alerts: AlertRepository, alert_id: int, now: int, by: str | None = None
) -> AlertRow:
    """Close it by hand (the engine forgets its evidence and may fire anew later)."""
    return await alerts.resolve(alert_id, by or who(), now)


def check_silence(matchers: Sequence[Matcher], duration: timedelta, comment: str) -> None:
    """Refuse a silence that would match nothing, never end, or not say why."""
    if not matchers:
        raise CockpitError("a silence needs at least one matcher (e.g. rule=scam-links)")
    if duration <= timedelta(0):
        raise CockpitError(f"silence for {duration}: expected a positive duration")
    if duration > LONGEST_SILENCE:
        raise CockpitError(
            f"silence for {duration.days} days: at most {LONGEST_SILENCE.days} days "
            "(disable the rule instead)"
        )
    if not comment.strip():
        raise CockpitError("a silence needs a comment: it is shown to every operator")


async def silence(
    alerts: AlertRepository,
    matchers: Sequence[Matcher],
    duration: timedelta,
    comment: str,
    now: int,
    by: str | None = None,
) -> SilenceRow:
    """Mute notifications of matching alerts from now for `duration`."""
    check_silence(matchers, duration, comment)
    ends = now + int(duration.total_seconds() * 1000)
    return await alerts.add_silence(matchers, now, ends, comment.strip(), by or who(), now)


async def expire(alerts: AlertRepository, silence_id: int, now: int) -> None:
    """End a silence now."""
    await alerts.expire_silence(silence_id, now)
