"""A real PostgreSQL server for the tests: `COCKPIT_TEST_PG_URL` when set, else a throwaway
cluster (initdb + pg_ctl) in a temp directory, on a Unix socket only, stopped at the end.

The server refuses to run as root, so as root the cluster belongs to a system user made for
it. Without server programs the PostgreSQL tests skip with one line, except under CI=true,
where they fail: CI must not skip them.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

PG_USER = "cockpit-pg"  # the system user that owns a throwaway cluster when we are root
SKIP = "PostgreSQL tests skipped: no initdb/pg_ctl found (install PostgreSQL or set COCKPIT_TEST_PG_URL)"


def server_bin() -> Path | None:
    """The directory holding initdb and pg_ctl (PATH first, then Debian's layout)."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists():
            return Path(d)
    return None


@dataclass
class Server:
    url: str  # an admin URL (database "postgres")
    _next: int = 0

    def fresh_db(self) -> str:
        """A new empty database; its URL."""
        self._next += 1
        name = f"t{os.getpid()}_{self._next}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return _with_db(self.url, name)

    def drop_db(self, url: str) -> None:
        name = url.rsplit("/", 1)[1].split("?", 1)[0]
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _with_db(url: str, name: str) -> str:
    head, _, tail = url.partition("?")
    base = head.rsplit("/", 1)[0] if head.count("/") > 2 else head
    return f"{base}/{name}" + (f"?{tail}" if tail else "")


def _run_as(user: str | None, *cmd: str) -> None:
    subprocess.run(list(cmd), check=True, capture_output=True, user=user, cwd="/", timeout=120)


def _owner() -> str | None:
    """None when we are not root; else the system user the server runs as (made if needed)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            check=True,
            capture_output=True,
        )
    return PG_USER


def start_server() -> Iterator[Server]:
    """Yield a running server, stopping (and removing) a throwaway one afterwards."""
    given = os.environ.get("COCKPIT_TEST_PG_URL")
    if given:
        yield Server(given)
        return
    bindir = server_bin()
    if bindir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL server programs are missing under CI=true: " + SKIP)
        pytest.skip(SKIP)
    owner = _owner()
    root = Path(tempfile.mkdtemp(prefix="ckpg"))
    data, sock = root / "data", root / "s"
    sock.mkdir()
    if owner is not None:
        ids = pwd.getpwnam(owner)
        for p in (root, sock):
            os.chown(p, ids.pw_uid, ids.pw_gid)
    try:
        _run_as(
            owner,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "cockpit",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        opts = (
            f"-k {sock} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        _run_as(
            owner,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            opts,
            "-l",
            str(root / "log"),
            "-w",
            "start",
        )
        try:
            yield Server(f"postgresql://cockpit@/postgres?host={sock}")
        finally:
            _run_as(owner, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
