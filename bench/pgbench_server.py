"""A PostgreSQL server for the benches: `--url`/COCKPIT_BENCH_PG_URL, else the throwaway
cluster the tests use (tests/pgserver.py), stopped when the bench ends."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from pgserver import Server, start_server


@contextlib.contextmanager
def server(url: str | None) -> Iterator[Server]:
    url = url or os.environ.get("COCKPIT_BENCH_PG_URL")
    if url:
        yield Server(url)
        return
    gen = start_server()
    try:
        yield next(gen)
    finally:
        gen.close()
