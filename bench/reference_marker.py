"""What the reference marker (issue 14) costs each case opened. Prints its figures.

Issues N references on a fresh SQLite database, one commit each (as intake opens one case
per transaction), first without the marker, then with it written after every commit, and
prints the time per reference of each and the difference. Run from the project root:

    nice .venv/bin/python bench/reference_marker.py [--references 500]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mailbot.adapters.migrate import migrate  # noqa: E402
from mailbot.adapters.reference_marker import FileReferenceMarker  # noqa: E402
from mailbot.adapters.sqlalchemy_store import (  # noqa: E402
    SqlAlchemyUnitOfWork,
    make_engine,
    make_session_factory,
)
from mailbot.services.context import Services  # noqa: E402
from mailbot.services.database_identity import check_database  # noqa: E402


def _per_reference(folder: Path, count: int, with_marker: bool) -> float:
    url = f"sqlite:///{folder / ('with' if with_marker else 'without')}.sqlite3"
    migrate(url)
    sessions = make_session_factory(make_engine(url))
    marker = FileReferenceMarker(folder / f"marker-{with_marker}.json", url)
    hook = marker.note_issued if with_marker else None
    services = Services(lambda: SqlAlchemyUnitOfWork(sessions, on_issued=hook), None, {})
    if with_marker:
        check_database(services, marker, accept=False)
    start = time.perf_counter()
    for _ in range(count):
        with services.uow_factory() as uow:
            uow.cases.next_reference("BSCP", 2026)
            uow.commit()
    return (time.perf_counter() - start) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--references", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    without, with_ = [], []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as folder:
            without.append(_per_reference(Path(folder), args.references, False))
            with_.append(_per_reference(Path(folder), args.references, True))
    a, b = statistics.median(without), statistics.median(with_)
    print(f"{args.references} references, one commit each, median of {args.rounds} rounds:")
    print(f"  without the marker: {a * 1000:.2f} ms per reference")
    print(f"  with the marker:    {b * 1000:.2f} ms per reference (+{(b - a) * 1000:.2f} ms)")


if __name__ == "__main__":
    main()
