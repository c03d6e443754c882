"""A store URL is never taken for a file path: an unsupported scheme is refused in one line,
and nothing is created on disk (no `mysql:` directory, no SQLite file)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


def test_an_unsupported_store_url_is_refused_and_creates_nothing(tmp_path: Path) -> None:
    before = sorted(tmp_path.rglob("*"))
    r = subprocess.run(
        [str(VENV_BIN / "cockpit"), "--db", "mysql://x/y", "feed"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": str(VENV_BIN), "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "d")},
        timeout=60,
    )
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "mysql" in lines[0] and "scheme" in lines[0]
    assert "Traceback" not in r.stderr
    assert sorted(tmp_path.rglob("*")) == before
