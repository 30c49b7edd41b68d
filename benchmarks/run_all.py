"""Run every benchmark in this folder (each `bench_*.py`, in name order), one after another.

    python benchmarks/run_all.py [--quick] [NAME ...]

`--quick` is passed on to every benchmark (each supports it: smaller inputs, fewer runs).
NAMEs pick benchmarks by substring (`run_all.py e2e`). Each runs in its own process with
this interpreter; a failing one is reported and the rest still run; the exit status is 1
if any failed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    names = [a for a in argv if not a.startswith("-")]
    benches = sorted(p for p in HERE.glob("bench_*.py")
                     if not names or any(n in p.stem for n in names))
    if not benches:
        print(f"no benchmark matches {names}", file=sys.stderr)
        return 1
    failed = []
    for path in benches:
        cmd = [sys.executable, str(path), *(["--quick"] if quick else [])]
        print(f"\n===== {path.name} {'(quick)' if quick else ''}".rstrip(), flush=True)
        start = time.perf_counter()
        code = subprocess.call(cmd, cwd=HERE.parent)
        print(f"===== {path.name}: {'ok' if code == 0 else f'FAILED (exit {code})'} "
              f"in {time.perf_counter() - start:.0f} s", flush=True)
        if code:
            failed.append(path.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
