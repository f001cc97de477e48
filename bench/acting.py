"""Benchmark of acting on stored referrals: open the case, queue the acknowledgement and the
notices, commit (the second half of intake, ``act_on_pending``), on SQLite and PostgreSQL.

N referrals (bare ``Label: value`` emails, or ``--forms`` with the filled .docx attached) are
stored as a mailbox batch would be, then acted on; the rate is printed with this process's CPU
time, and where that time goes (parsing, reading the form, opening the case, composing the
mail, the database). Target (issue 18): at least 300 messages a second. Run from the root:

    .venv/bin/python bench/acting.py [--count 1000] [--databases sqlite,postgresql] [--forms]
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from deadline_pass import write_config  # noqa: E402
from deadlines import postgres_scratch  # noqa: E402

from mailbot.bootstrap import bootstrap  # noqa: E402
from mailbot.config import load_settings  # noqa: E402
from mailbot.domain.working_days import LONDON  # noqa: E402
from mailbot.entrypoints.startup import settle_start_up  # noqa: E402
from mailbot.services.intake import act_on_pending, store_messages  # noqa: E402
from mailbot.services.ports import RawMessage  # noqa: E402

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=LONDON)
# Where the time goes: this process's CPU inside each of these, timed around every call
# (module:function, or module:Class.method). cProfile, used before, charged its own cost
# to every Python call and so weighed the rendering and MIME code (many small calls) two
# to three times over.
PARTS = (
    ("parse the message", "mailbot.intake.message:parse_message"),
    ("classify and match it", "mailbot.services.case_matching:match_case"),
    ("read the form", "mailbot.services.referrals:_read_form"),
    ("validate it", "mailbot.intake.form_validation:validate"),
    ("open the case (engine)", "mailbot.domain.engine:CaseEngine.open_case"),
    ("claim and mark the message (SQL)", "mailbot.adapters.sqlalchemy_store.inbound:"
                                         "SqlInboundLog.claim_many SqlInboundLog.mark"
                                         " SqlInboundLog.mark_many"),
    ("the case's reference (SQL)", "mailbot.adapters.sqlalchemy_store.cases:"
                                   "SqlCaseRepository.next_reference"),
    ("store the case (SQL)", "mailbot.adapters.sqlalchemy_store.cases:SqlCaseRepository.add"),
    ("render the mail (jinja)", "mailbot.adapters.jinja_renderer:JinjaRenderer.render"),
    ("  of which the calendar entry", "mailbot.adapters.ics_calendar:stage_deadline_ics"),
    ("build the MIME", "mailbot.adapters.email_builder:build_email"),
    ("  of which the text parts", "mailbot.adapters.mime_writer:text_part"),
    ("queue the mail (SQL)", "mailbot.adapters.sqlalchemy_store.outbox:SqlOutbox.enqueue_many"),
    ("commit", "mailbot.adapters.sqlalchemy_store.unit_of_work:SqlAlchemyUnitOfWork.commit"),
)


class PartClock:
    """Adds up this process's CPU time inside each part, outermost calls only."""

    def __init__(self) -> None:
        self.spent = {label: 0.0 for label, _ in PARTS}
        self._undo: list[tuple[object, str, object]] = []

    def install(self) -> None:
        for label, where in PARTS:
            module_name, names = where.split(":")
            module = importlib.import_module(module_name)
            for name in names.split():
                owner_name, _, attribute = name.rpartition(".")
                owner = getattr(module, owner_name) if owner_name else module
                original = getattr(owner, attribute)
                timed = self._timed(label, original)
                # A function is replaced wherever it was imported by name, too.
                holders = [owner] if owner_name else [
                    m for m in list(sys.modules.values())
                    if getattr(m, "__name__", "").startswith("mailbot")
                    and getattr(m, attribute, None) is original]
                for holder in holders:
                    self._undo.append((holder, attribute, original))
                    setattr(holder, attribute, timed)

    def remove(self) -> None:
        for holder, attribute, original in reversed(self._undo):
            setattr(holder, attribute, original)
        self._undo.clear()

    def _timed(self, label: str, function):
        depth = [0]

        def timed(*args, **kwargs):
            if depth[0]:
                return function(*args, **kwargs)
            depth[0] += 1
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.spent[label] += time.process_time() - started
                depth[0] -= 1

        return timed


def referral(number: int, forms: bool) -> bytes:
    if forms:
        from mailbox import referral_with_form  # bench/mailbox.py

        return referral_with_form(number)
    return (f"From: Referrer {number} <referrer{number}@agency.test>\r\nTo: bsp@bury.example\r\n"
            f"Subject: Request for Resolution\r\nMessage-ID: <r{number}.{uuid.uuid4().hex}@agency.test>"
            f"\r\n\r\nChild's name: Child {number}\r\nReferrer's name: Referrer {number}\r\n"
            f"Referrer's email: referrer{number}@agency.test\r\n"
            f"Summary of disagreement: Disagreement number {number}.\r\n"
            "Stage reached so far: Level 1\r\n").encode()


def run(name: str, url: str, count: int, forms: bool, profile: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = bootstrap(load_settings(write_config(Path(folder), url)))
        settle_start_up()  # as `mailbot run` does after its start-up
        context = app.services.mailboxes["bury"]
        # One first, so that templates, caches and connections are warm.
        store_messages(app.services, [RawMessage("bury", 1, "warm", referral(-1, forms))])
        act_on_pending(app.services, context, lambda: NOW)
        raws = [RawMessage("bury", 1, str(n), referral(n, forms)) for n in range(count)]
        store_messages(app.services, raws)
        clock = PartClock() if profile else None
        if clock:
            clock.install()
        started, cpu = time.perf_counter(), time.process_time()
        acted = act_on_pending(app.services, context, lambda: NOW)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        if clock:
            clock.remove()
        kind = "referrals with a .docx form" if forms else "bare referrals"
        print(f"{name:<11} acting on {acted:,} stored {kind}: {acted / seconds:6.0f} msg/s"
              f" ({seconds / acted * 1000:.2f} ms each; this process's CPU {cpu / acted * 1000:.2f}"
              f" ms each, {acted / cpu:.0f} msg/s)  (target >= 300 msg/s)", flush=True)
        if clock:
            where(clock, acted, cpu)


def where(clock: PartClock, acted: int, cpu: float) -> None:
    print(f"{'':<11} where the CPU goes (timed around each part's calls, {cpu / acted * 1000:.2f}"
          " ms a message):")
    for label, spent in clock.spent.items():
        print(f"{'':<13} {label:<34} {spent / acted * 1000:6.2f} ms  {spent / cpu:4.0%}")
    counted = sum(spent for label, spent in clock.spent.items() if not label.startswith(" "))
    rest = cpu - counted
    print(f"{'':<13} {'everything else':<34} {rest / acted * 1000:6.2f} ms  {rest / cpu:4.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--forms", action="store_true", help="referrals carry the .docx form")
    parser.add_argument("--profile", action="store_true", help="and where the CPU goes")
    parser.add_argument("--postgres-url",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    for name in args.databases.split(","):
        if name == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                run(name, f"sqlite:///{folder}/bench.sqlite3", args.count, args.forms, args.profile)
            continue
        with postgres_scratch(args.postgres_url) as url:
            run(name, url, args.count, args.forms, args.profile)


if __name__ == "__main__":
    from machine import describe

    print(describe(), flush=True)
    main()
