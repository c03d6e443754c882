"""Finding the member a MEMBER argument names, one rule for the CLI, the TUI and the
moderation planner: `#N` is member N exactly; otherwise a handle, a display name or a
platform id, with ambiguity listing the candidates."""

from __future__ import annotations

from cockpit.errors import AmbiguousMember, CockpitError
from cockpit.store.base import MemberRow, Store
from cockpit.textsafe import inert_line


async def resolve_member(store: Store, term: str, community: str | None = None) -> MemberRow:
    """A MEMBER argument: a handle, a display name or an id; ambiguity lists the candidates.

    `#N` is the member numbered N and nothing else (the ambiguity message asks for it), so it
    never matches a platform id or handle "N"; a bare number is looked up like any term.
    """
    number = term.strip()
    if number.startswith("#") and number[1:].isdigit():
        row = await store.member(int(number[1:]))
        if row is None or (community is not None and row.community != community):
            where = f" in community {community!r}" if community else ""
            raise CockpitError(f"no member {number}{where}")
        return row
    found = await store.find_members(term, community)
    if not found:
        raise CockpitError(f"no member matches {term!r} (try a handle, a display name or an id)")
    if len(found) > 1:
        listed = "; ".join(
            f"#{m.id} {inert_line(m.display_name)} ({m.platform}"
            + (f" @{inert_line(m.handle)}" if m.handle else "")
            + f", id {inert_line(m.platform_user_id)})"
            for m in found[:10]
        )
        more = f" and {len(found) - 10} more" if len(found) > 10 else ""
        raise AmbiguousMember(f"member {term!r} is ambiguous: {listed}{more}; pass the #id")
    return found[0]
