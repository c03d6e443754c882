"""The README's PostgreSQL roles, run as written against a real server: the read-only role
reads and cannot submit an action; the moderators' role submits requests and notes to the
case log, and cannot touch anything else (no activity, no alert, no rule change)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
from conftest_app import NOW, config, seed_activities

from cockpit.errors import CockpitError
from cockpit.moderation import service
from cockpit.moderation.targets import Plan, Planned
from cockpit.plugin_api import ActionTarget
from cockpit.store import open_store
from cockpit.store.base import Store

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_sql() -> list[str]:
    """The ```sql blocks of the README's PostgreSQL section, in order."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Running on PostgreSQL", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sql\n(.*?)```", section, re.S)


def as_role(url: str, role: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{role}:{quote(password)}@{host}"))


@pytest.fixture
def roles(pg_url: str) -> Iterator[dict[str, str]]:
    """Both README blocks run as the database's owner, with the role names made unique
    (roles belong to the whole server) and the database and owner names of this test."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT current_user, current_database(), rolsuper OR rolcreaterole "
            "FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert row is not None
    owner, db, may_create = row
    if not may_create:
        pytest.skip(f"{owner} may not create roles on this server")
    tag = secrets.token_hex(3)
    password = secrets.token_hex(8)
    names = {"cockpit_ro": f"cockpit_ro_{tag}", "cockpit_mod": f"cockpit_mod_{tag}"}
    urls = {k: as_role(pg_url, v, password) for k, v in names.items()}
    statements: list[str] = []
    for block in readme_sql():
        for line in block.splitlines():
            line = line.split("--", 1)[0].strip()
            if not line or line.startswith("\\c") or "DATABASE cockpit OWNER" in line:
                continue
            if line.startswith("CREATE ROLE cockpit LOGIN"):
                continue  # the collectors' role: this test's owner
            for generic, unique in names.items():
                line = re.sub(rf"\b{generic}\b", unique, line)
            line = line.replace("PASSWORD '...'", f"PASSWORD '{password}'")
            line = line.replace("ON DATABASE cockpit ", f'ON DATABASE "{db}" ')
            line = line.replace("FOR ROLE cockpit ", f'FOR ROLE "{owner}" ')
            statements.append(line)
    assert any("cockpit_mod" in s for s in statements), "the README lost the moderators' role"
    yield {"owner": pg_url, "db": db, "statements": "\n".join(statements), **urls}
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for name in names.values():
            conn.execute(f'DROP OWNED BY "{name}"')
            conn.execute(f'DROP ROLE IF EXISTS "{name}"')


def ban_plan(member_id: int) -> Plan:
    target = ActionTarget("discord", "acme", "555", None, (), "@someone on discord")
    plan = Plan("ban", "acme", "someone on discord", member_id=member_id)
    plan.steps.append(Planned(target, member_id, "ban @someone on discord"))
    return plan


async def first_member(store: Store) -> int:
    rows = await store.members(limit=1)
    return rows[0].id


async def test_the_readme_roles_read_and_submit_as_documented(roles: dict[str, str]) -> None:
    owner = await open_store(roles["owner"])  # the collectors' role creates the tables
    try:
        await owner.write(seed_activities(20))
    finally:
        await owner.close()
    with psycopg.connect(roles["owner"], autocommit=True) as conn:
        for statement in roles["statements"].split("\n"):
            conn.execute(statement.encode())
    cfg = config()

    ro = await open_store(roles["cockpit_ro"])
    try:
        member = await first_member(ro)
        assert (await ro.stats()).activities == len(seed_activities(20))
        with pytest.raises(CockpitError) as refused:
            await service.submit(ro, cfg, ban_plan(member), reason="Spam", operator="ana", now=NOW)
        assert "\n" not in str(refused.value)
    finally:
        await ro.close()

    mod = await open_store(roles["cockpit_mod"])
    try:
        case = await service.submit(
            mod, cfg, ban_plan(member), reason="Spam", operator="ana", now=NOW
        )
        assert case.state == "pending"
        await service.add_note(mod, cfg, member, "warned twice before", "ana", NOW)
        await service.case_event(mod, cfg, case.number, "appealed", "by mail", "ana", NOW)
        assert [n.text for n in await mod.moderation.notes([member])] == ["warned twice before"]
        with pytest.raises(CockpitError):  # nothing but the case log
            await mod.write(seed_activities(1))
    finally:
        await mod.close()

    with psycopg.connect(roles["owner"], autocommit=True) as conn:
        found = conn.execute(
            "SELECT action, operator FROM mod_case WHERE number = %s", (case.number,)
        ).fetchone()
        steps = conn.execute(
            "SELECT platform, status FROM mod_step WHERE case_no = %s", (case.number,)
        ).fetchall()
    assert found == ("ban", "ana")
    assert steps == [("discord", "pending")]
