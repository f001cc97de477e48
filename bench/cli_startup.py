"""How long the looking commands take as whole processes: `mailbot cases`, `cases show` and
`policies show` (start, imports, the answer, exit), beside `python -c pass`.

Runs the demo once in a scratch folder (so there is a case to show), then starts each command
``--runs`` times and prints the median and minimum wall time and CPU time (user + system, the
operating system's own accounting of the finished child) next to the target (issue 18: under
250 ms). CPU time is the figure to quote on a shared machine: wall time there includes
waiting for a core. Python's bytecode is cached in the scratch folder (as an installed wheel
has it), so the first, uncounted run of each command compiles it; ``--no-bytecode`` compiles
mailbot's modules on every run instead. ``--before DIR`` also times a checkout of the code
before a change (its folder holding ``mailbot/``), run for run in turn with this one, and
prints the ratio of each pair's CPU time. ``/usr/bin/time -v python -m mailbot cases`` gives
the same kind of figure from outside.

    .venv/bin/python bench/cli_startup.py [--runs 7] [--before /tmp/mailbot-main]
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
TARGET_MS = 250
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
    return wall * 1000, cpu * 1000


def environment(code: Path, folder: str, bytecode: bool, name: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(code)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if bytecode:  # kept out of the checkout; one folder per code, so neither reads the other's
        env["PYTHONPYCACHEPREFIX"] = str(Path(folder) / f"bytecode-{name}")
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def verdict(label: str, cpu_median: float) -> str:
    if label.startswith("python"):
        return ""
    return (f"  against the target of < {TARGET_MS} ms:"
            f" {'met' if cpu_median < TARGET_MS else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-bytecode", action="store_true",
                        help="compile mailbot's modules on every run (no cached bytecode)")
    parser.add_argument("--before", type=Path, help="a checkout of the code before the change")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as folder:
        bytecode = not args.no_bytecode
        env = environment(ROOT, folder, bytecode, "now")
        old = environment(args.before.resolve(), folder, bytecode, "before") if args.before else None
        subprocess.run([sys.executable, "-m", "mailbot", "--now", "2026-11-23T10:00", "demo",
                        "--once"], cwd=folder, env=env, check=True, capture_output=True)
        print(f"{args.runs} runs each, CPU = user + system of the finished process"
              f"{'' if args.no_bytecode else ' (bytecode cached after the first, uncounted run)'}")
        for label, arguments in COMMANDS:
            report(label, arguments, folder, env, old, args.runs)


def report(label: str, arguments: list[str], folder: str, env: dict[str, str],
           old: dict[str, str] | None, runs: int) -> None:
    timed(arguments, folder, env)  # compiles the bytecode, warms the file cache
    if old is not None:
        timed(arguments, folder, old)
    now, before = [], []
    for _ in range(runs):
        now.append(timed(arguments, folder, env))
        if old is not None:
            before.append(timed(arguments, folder, old))
    walls, cpus = [w for w, _ in now], [c for _, c in now]
    line = (f"{label:<28} CPU median {statistics.median(cpus):5.0f} ms (min {min(cpus):4.0f});"
            f" wall median {statistics.median(walls):5.0f} ms (min {min(walls):4.0f})")
    if before:
        ratios = [c / b for (_, c), (_, b) in zip(now, before, strict=True)]
        line += (f"; before {statistics.median(c for _, c in before):5.0f} ms CPU,"
                 f" paired ratio {statistics.median(ratios):.2f}")
    print(line + verdict(label, statistics.median(cpus)), flush=True)


if __name__ == "__main__":
    from machine import describe

    print(describe(), flush=True)
    main()
