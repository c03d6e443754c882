"""Peak memory of `cockpit import` on a generated DiscordChatExporter export (default 1 GB).

Budget: under 300 MB peak resident memory for the whole process.

    python bench/bench_import_memory.py [--size 1GB]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.gen_dce import parse_size, write_dce  # noqa: E402

OUT = ROOT / "bench" / "out"
BUDGET_MB = 300


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, from /proc."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", type=parse_size, default=parse_size("1GB"))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    export = OUT / f"dce_{args.size // 1_000_000}MB.json"
    if not export.exists():
        t = time.perf_counter()
        count = write_dce(export, size=args.size, seed=11)
        print(f"generated {export.name}: {count} messages in {time.perf_counter() - t:.0f} s")
    size_mb = export.stat().st_size / 1e6
    cockpit = Path(sys.executable).parent / "cockpit"
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        db = Path(tmp) / "mem.db"
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(cockpit), "--db", str(db), "import", str(export)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "COCKPIT_DB": str(db)},
        )
        peak_tree = 0.0
        while proc.poll() is None:  # the import and its parser process, summed
            peak_tree = max(peak_tree, tree_rss_mb(proc.pid))
            time.sleep(0.1)
        out, err = proc.communicate()
        elapsed = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        db_mb = db.stat().st_size / 1e6 if db.exists() else 0
    print(out.strip())
    if proc.returncode != 0:
        print(err.strip())
        return 1
    print(
        f"export: {size_mb:.0f} MB; import took {elapsed:.1f} s ({size_mb / elapsed:.1f} MB/s); store {db_mb:.0f} MB"
    )
    ok = peak_tree < BUDGET_MB
    print(f"largest single process peak (getrusage): {peak_mb:.0f} MB")
    print(
        f"peak resident memory, import + parser process together (sampled every 0.1 s): "
        f"{peak_tree:.0f} MB (budget < {BUDGET_MB} MB): {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
