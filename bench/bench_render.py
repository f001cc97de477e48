"""Rendering throughput: how long the jinja renderer takes per email, by kind of notice.

Run: .venv/bin/python bench/bench_render.py  (prints figures; asserts nothing)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "unit")]

from rendering_cases import bury, every_notice  # noqa: E402

from mailbot.adapters.jinja_renderer import JinjaRenderer  # noqa: E402


def main(rounds: int = 20) -> None:
    policy, _ = bury()
    renderer = JinjaRenderer()
    items = every_notice()
    timings: dict[str, list[float]] = {}
    for _ in range(rounds):
        for item in items:
            started = time.perf_counter()
            renderer.render(item.notice, case=item.case, policy=policy,
                            partnership_name=policy.name, recipient=item.notice.to[0])
            timings.setdefault(item.notice.template, []).append(time.perf_counter() - started)
    total = sum(sum(t) for t in timings.values())
    count = sum(len(t) for t in timings.values())
    print(f"{count} renders in {total:.3f}s: {1000 * total / count:.2f} ms each on average")
    for name, values in sorted(timings.items(), key=lambda kv: -sum(kv[1]) / len(kv[1])):
        print(f"  {name:22} {1000 * sum(values) / len(values):7.2f} ms")


if __name__ == "__main__":
    main()
