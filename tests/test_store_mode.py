"""The store's file mode follows the documented set-up: created under the collector's umask
(the unit's UMask=0027), an operator in the store's group can attach read-only; others never.

Needs root to make a throwaway user and group (skipped cleanly otherwise). The operator's
side runs in a forked child that drops to that user, so it uses the interpreter already
loaded (the venv may sit where that user cannot read)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from cockpit.store.sqlite import SQLiteStore
from factories import act

USER, GROUP = "cockpit-test-op", "cockpit-test-ops"
root_only = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("useradd") is None, reason="needs root and useradd"
)


def test_store_mode_follows_the_umask_and_never_other(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        asyncio.run(_make(tmp_path / "a.db"))
        os.umask(0o077)
        asyncio.run(_make(tmp_path / "b.db"))
        os.umask(0o002)
        asyncio.run(_make(tmp_path / "c.db"))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.db").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "b.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "c.db").stat().st_mode) == 0o660  # never for others


async def _make(path: Path) -> None:
    store = await SQLiteStore.open(path)
    await store.write([act(1)])
    await store.close()


@root_only
def test_an_operator_of_the_group_attaches_read_only(tmp_path: Path) -> None:
    subprocess.run(["groupadd", "-f", GROUP], check=True)
    made_user = subprocess.run(["id", USER], capture_output=True).returncode != 0
    if made_user:
        subprocess.run(["useradd", "-M", "-N", "-g", GROUP, "-s", "/bin/false", USER], check=True)
    try:
        import grp
        import pwd

        uid, gid = pwd.getpwnam(USER).pw_uid, grp.getgrnam(GROUP).gr_gid
        # pytest's own tmp dirs are private to root: the store lives in a directory of its own
        home = Path(tempfile.mkdtemp(prefix="cockpit-store-", dir="/tmp"))
        os.chown(home, 0, gid)
        os.chmod(home, 0o2750)  # setgid: the store and its -wal/-shm get the group
        old = os.umask(0o027)
        try:
            _operator_reads(home / "cockpit.db", uid, gid)
        finally:
            os.umask(old)
            shutil.rmtree(home, ignore_errors=True)
    finally:
        if made_user:
            subprocess.run(["userdel", USER], check=False)
        subprocess.run(["groupdel", GROUP], check=False)


def _operator_reads(path: Path, uid: int, gid: int) -> None:
    async def collector_running() -> None:
        store = await SQLiteStore.open(path)  # the collector: the writer stays open
        try:
            await store.write([act(i) for i in range(1, 4)])
            pid = os.fork()
            if pid == 0:  # the operator
                code = 1
                try:
                    os.setgroups([gid])
                    os.setgid(gid)
                    os.setuid(uid)
                    code = asyncio.run(_attach(path))
                finally:
                    os._exit(code)
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0, "the operator could not attach"
        finally:
            await store.close()

    asyncio.run(collector_running())
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


async def _attach(path: Path) -> int:
    try:
        store = await SQLiteStore.open(path, readonly=True)
    except Exception as exc:
        print(f"operator: {exc!r}", file=sys.stderr)
        return 3
    try:
        rows = await store.fetchall("SELECT count(*) FROM activity")
        if rows[0][0] != 3:
            return 4
        try:
            await store.write([act(9)])
        except (sqlite3.Error, Exception):
            return 0  # read-only: writing is refused
        return 5
    finally:
        await store.close()
