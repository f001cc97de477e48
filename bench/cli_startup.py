"""How long the looking commands take as whole processes: `mailbot cases`, `cases show` and
`policies show` (start, imports, the answer, exit), beside `python -c pass`.

Runs the demo once in a scratch folder (so there is a case to show), then starts each command
``--runs`` times and prints the median and minimum wall time and CPU time (user + system, the
operating system's own accounting of the finished child). Target (issue 18): under 250 ms.
`farm-bench -- .venv/bin/python -m mailbot cases` gives the same figures from outside.

    .venv/bin/python bench/cli_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = (("python -c pass", ["-c", "pass"]),
            ("mailbot cases", ["-m", "mailbot", "cases"]),
            ("mailbot cases show REF", ["-m", "mailbot", "cases", "show", "BSCP-2026-0001"]),
            ("mailbot policies show bury", ["-m", "mailbot", "policies", "show", "bury"]))


def timed(arguments: list[str], folder: str, env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, *arguments], cwd=folder, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as folder:
        subprocess.run([sys.executable, "-m", "mailbot", "--now", "2026-11-23T10:00", "demo",
                        "--once"], cwd=folder, env=env, check=True, capture_output=True)
        for label, arguments in COMMANDS:
            timed(arguments, folder, env)  # warm the file cache
            runs = [timed(arguments, folder, env) for _ in range(args.runs)]
            walls, cpus = [w * 1000 for w, _ in runs], [c * 1000 for _, c in runs]
            print(f"{label:<28} wall median {statistics.median(walls):6.0f} ms (min {min(walls):5.0f});"
                  f" CPU median {statistics.median(cpus):6.0f} ms (min {min(cpus):5.0f})"
                  f"{'' if label.startswith('python') else '  (target < 250 ms)'}", flush=True)


if __name__ == "__main__":
    main()
