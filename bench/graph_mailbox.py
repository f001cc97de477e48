"""Graph mailbox benchmark against the fake Graph server on loopback (issue 5). Prints its figures.

A backlog of N messages (about 20 kB each) waits in the inbox; the server holds every answer
``--latency`` milliseconds, standing in for the round trip to Microsoft 365. The backlog is
fetched and moved to the processed folder in batches of 50, once with one request in flight
and once with four (Exchange Online's limit per app and mailbox), and the requests made and
the wall time are printed. The fake server is not Exchange: the figures show what the
concurrency buys against a given latency, not what a real tenant will do.

    .venv/bin/python bench/graph_mailbox.py [--backlog 200] [--latency 30]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mailbot.adapters.microsoft.graph_mailbox import GraphMailbox  # noqa: E402
from tests.servers.graph import GraphServer  # noqa: E402


def _message(n: int) -> bytes:
    body = ("Referral text line.\r\n" * 1000).encode()
    return (f"From: r{n}@school.example\r\nTo: bsp@bury.example\r\nSubject: Referral {n}\r\n"
            f"Message-ID: <bench{n}@school.example>\r\n\r\n").encode() + body


def run(backlog: int, latency_ms: float, concurrency: int) -> tuple[float, int, int]:
    with GraphServer() as server, tempfile.TemporaryDirectory() as state_dir:
        store = server.add_mailbox(f"bench-{concurrency}@council.example")
        inbox = store.folder("inbox").id
        for n in range(backlog):
            store.deliver(_message(n), inbox)
        server.slow_down(latency_ms / 1000)
        mailbox = GraphMailbox("bench", store.address, server.token_source(), base_url=server.base_url,
                               state_path=Path(state_dir) / "state.json",
                               max_concurrent_requests=concurrency, page_size=100)
        started = time.perf_counter()
        handled = 0
        while batch := mailbox.fetch_new(limit=50):
            for raw in batch:
                mailbox.mark_processed(raw)
            handled += len(batch)
        seconds = time.perf_counter() - started
        mailbox.close()
        return seconds, handled, len(server.exchanges)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", type=int, default=200)
    parser.add_argument("--latency", type=float, default=30.0, help="milliseconds per answer")
    args = parser.parse_args()
    print(f"Graph mailbox: backlog of {args.backlog} messages, {args.latency:.0f} ms per answer")
    for concurrency in (1, 4):
        seconds, handled, requests = run(args.backlog, args.latency, concurrency)
        print(f"  {concurrency} in flight: {handled} fetched and moved in {seconds:.2f} s"
              f" ({handled / seconds:.0f} messages/s, {requests} requests)")


if __name__ == "__main__":
    main()
