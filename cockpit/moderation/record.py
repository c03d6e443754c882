"""A member's moderation record, read once for the member view and `cockpit members show`:
what restricts the person now, their cases and the notes moderators left, across every
account linked to the member."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from cockpit.moderation.repository import Case, CaseQuery, Note, Restriction
from cockpit.store.base import Store
from cockpit.textsafe import inert_line
from cockpit.timeutil import iso_z

WORDS = {"ban": "banned", "timeout": "timed out"}


@dataclass(frozen=True, slots=True)
class MemberRecord:
    member_ids: tuple[int, ...]
    restrictions: tuple[Restriction, ...]
    cases: tuple[Case, ...]
    notes: tuple[Note, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "restrictions": [
                {
                    "member_id": r.member_id,
                    "platform": r.platform,
                    "kind": r.kind,
                    "until": iso_z(r.until) if r.until else None,
                    "case": r.case,
                }
                for r in self.restrictions
            ],
            "cases": [c.number for c in self.cases],
            "notes": [
                {"member_id": n.member_id, "text": n.text, "who": n.who, "at": iso_z(n.at)}
                for n in self.notes
            ],
        }


async def accounts_of(store: Store, member_id: int) -> list[int]:
    """The member and every account linked to it (one person)."""
    person = (await store.identity.persons_of([member_id])).get(member_id)
    if person is None:
        return [member_id]
    linked = await store.identity.members_of(person)
    return [member_id, *sorted(i for i in linked if i != member_id)]


async def member_record(
    store: Store, member_ids: list[int], now: datetime, cases: int = 20
) -> MemberRecord:
    repo = store.moderation
    return MemberRecord(
        tuple(member_ids),
        tuple(await repo.restrictions(member_ids, now)),
        tuple(await repo.cases(CaseQuery(member_ids=member_ids, limit=cases))),
        tuple(await repo.notes(member_ids)),
    )


def restriction_line(r: Restriction, tz: tzinfo) -> str:
    until = f"until {r.until.astimezone(tz).strftime('%Y-%m-%d %H:%M %Z')}" if r.until else ""
    return f"{WORDS.get(r.kind, r.kind)} on {r.platform} {until or 'permanently'} (case {r.case})"


def record_lines(record: MemberRecord, tz: tzinfo) -> list[str]:
    """The record as text lines for the CLI."""
    if not (record.restrictions or record.cases or record.notes):
        return ["moderation: no cases, no notes"]
    out = []
    if record.restrictions:
        out.append("restricted: " + "; ".join(restriction_line(r, tz) for r in record.restrictions))
    else:
        out.append("restricted: nowhere")
    for c in record.cases:
        when = c.created.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        out.append(
            f"case {c.number} {when} {c.action} {c.state} by {inert_line(c.operator)}: "
            f"{inert_line(c.reason)}"
        )
    for n in record.notes:
        when = n.at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        out.append(f"note {when} {inert_line(n.who)}: {inert_line(n.text)}")
    return out
