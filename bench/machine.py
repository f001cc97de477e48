"""The machine a benchmark ran on, printed above its figures.

Issue 18's and 19's targets were set on one machine; a later one ran Python 2 to 3 times
slower, and every figure in absolute time moved with it. So each benchmark names the CPU, its
cores and the CPU time of a fixed pure-Python loop, by which figures from two machines can be
set side by side (the loop took 0.13 s of CPU on the 2-core AMD EPYC of 2026-12-05, 21:20 UTC).
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

LOOP = 2_000_000


def python_loop_seconds() -> float:
    """CPU time of ``LOOP`` additions in a Python loop, the best of three."""
    best = float("inf")
    for _ in range(3):
        started, total = time.process_time(), 0
        for number in range(LOOP):
            total += number
        best = min(best, time.process_time() - started)
    return best


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe() -> str:
    return (f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()};"
            f" {LOOP:,} Python additions in {python_loop_seconds():.3f} s of CPU;"
            f" load average {os.getloadavg()[0]:.1f}")
