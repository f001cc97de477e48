"""Mailbox benchmark against a private Dovecot on loopback (issue 4). Prints its figures.

1. Latency: `mailbot run` (IMAP IDLE) is running; each referral is APPENDed and timed until
   its acknowledgement reaches the SMTP server (median and 95th percentile).
2. Backlog: N referrals (bare mail, no attachment) already waiting. A bare batched IMAP fetch
   of them is timed, then mailbot's intake of the same messages in its two halves: ingest
   (fetch, store compressed, move to the processed folder) and acting (open a case, queue
   three emails, commit). Each of ``--rounds`` rounds has a fresh mailbox; medians are shown.
   It runs in this process so that interpreter start-up is not counted. ``--profile`` prints
   where the ingest time goes (fetch, store, move; not acting). It is timed on each of
   Dovecot's mailbox formats in ``--mail-formats``: on Maildir, Dovecot renames a message's
   file when a read-write session first sees it and again when it is moved, work a
   read-only bare fetch never asks of it; mdbox keeps many messages a file.
3. Memory: peak RSS of the `mailbot poll` command over backlogs of two sizes, to show that
   it does not grow with the backlog.

Targets (issues 4 and 19): p95 latency under 2 s; backlog ingest within 2x of the bare
fetch; peak memory under 200 MB whatever the backlog. Run from the project root:

    .venv/bin/python bench/mailbox.py [--latency 50] [--backlog 1000] [--rounds 5]
                                      [--memory 1000,10000] [--mail-formats maildir,mdbox]
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import math
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mailbot.bootstrap import bootstrap  # noqa: E402
from mailbot.config import load_settings  # noqa: E402
from mailbot.domain.working_days import LONDON  # noqa: E402
from mailbot.services.intake import act_on_pending, store_messages  # noqa: E402
from mailbot.services.polling import BATCH  # noqa: E402  (the bare fetch uses it too)
from tests.servers.dovecot import DovecotServer, ImapAccount  # noqa: E402
from tests.servers.smtp import SmtpServer  # noqa: E402

NOW = "2026-11-23T10:00"
PASSWORD_ENV = "BENCH_PASSWORD"


FORM_VALUES = {"date_of_notification": "02/03/2026", "referrer_role": "Social worker",
               "referrer_agency": "Bury Children's Services", "other_agency": "Bury Primary School",
               "summary": "The school has not shared attendance concerns.\n" * 10,
               "earlier_stages_evidence": "Stage 1: email on 3/2/26.", "stage_reached": 1,
               "desired_outcome": "Weekly attendance data."}


def referral_with_form(number: int) -> bytes:
    """A referral as most arrive: a short email carrying the filled Word form (about 40 KB)."""
    from mailbot.intake.form_builder import fill_form

    message = EmailMessage()
    message["From"] = f"Referrer {number} <referrer{number}@agency.test>"
    message["To"] = "bsp@bury.test"
    message["Subject"] = "Request for Resolution"
    message["Message-ID"] = make_msgid(domain="agency.test")
    message.set_content("Please find the form attached.")
    form = fill_form("bury", {**FORM_VALUES, "child_name": f"Child {number}",
                              "referrer_name": f"Referrer {number}",
                              "referrer_email": f"referrer{number}@agency.test"})
    message.add_attachment(form, maintype="application", subtype="vnd.openxmlformats-"
                           "officedocument.wordprocessingml.document", filename="form.docx")
    return bytes(message)


def referral(number: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"Referrer {number} <referrer{number}@agency.test>"
    message["To"] = "bsp@bury.test"
    message["Subject"] = "Request for Resolution"
    message["Message-ID"] = make_msgid(domain="agency.test")
    message.set_content(f"Child's name: Child {number}\nReferrer's name: Referrer {number}\n"
                        f"Referrer's email: referrer{number}@agency.test\n"
                        f"Summary of disagreement: Disagreement number {number}.\n"
                        "Stage reached so far: Level 1\n")
    return bytes(message)


def write_config(workdir: Path, dovecot: DovecotServer, account: ImapAccount,
                 smtp_port: int | None) -> Path:
    outgoing = (f'kind = "smtp"\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"'
                if smtp_port else 'kind = "directory"\ndirectory = "outbox"')
    config = workdir / "config.toml"
    config.write_text(f"""
[database]
url = "sqlite:///mailbot.sqlite3"
[outgoing]
{outgoing}
[worker]
send_every_seconds = 1
[[mailbox]]
name = "bury"
address = "bsp@bury.test"
policy = "bury"
kind = "imap"
host = "127.0.0.1"
port = {dovecot.port}
security = "none"
username = "{account.username}"
password_env = "{PASSWORD_ENV}"
business_managers = ["manager@bury.test"]
sender_trust = "none"
""")
    return config


def mailbot_command(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "mailbot", "--config", str(config), *args]


def child_env(account: ImapAccount) -> dict[str, str]:
    return {**os.environ, PASSWORD_ENV: account.password, "PYTHONPATH": str(ROOT)}


# --- 1. latency --------------------------------------------------------------------------------

def latency(dovecot: DovecotServer, count: int) -> None:
    account = dovecot.add_user()
    smtp = SmtpServer()
    smtp.start()
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as folder:
        config = write_config(Path(folder), dovecot, account, smtp.port)
        with open(Path(folder) / "worker.log", "wb") as log_file:
            worker = subprocess.Popen(mailbot_command(config, "run"), cwd=folder,
                                      env=child_env(account), stdout=log_file,
                                      stderr=subprocess.STDOUT)
        try:
            times = _time_acknowledgements(dovecot, account, smtp, count)
        except RuntimeError:
            print((Path(folder) / "worker.log").read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            worker.terminate()
            worker.wait(timeout=30)
            smtp.stop()
    times.sort()
    p95 = times[math.ceil(0.95 * len(times)) - 1]  # nearest rank
    print(f"latency APPEND -> acknowledgement at SMTP over {count} messages (IMAP IDLE):"
          f" median {statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms,"
          f" max {times[-1] * 1000:.0f} ms  (target: p95 < 2000 ms)", flush=True)


def _time_acknowledgements(dovecot: DovecotServer, account: ImapAccount, smtp: SmtpServer,
                           count: int) -> list[float]:
    # Warm up: once the first referral is answered, the worker is up and in IDLE.
    dovecot.append(account, referral(-1))
    _wait_for_ack(smtp, 0, "referrer-1@agency.test", timeout=60)
    times = []
    for number in range(count):
        before = len(smtp.received)
        started = time.monotonic()
        dovecot.append(account, referral(number))
        _wait_for_ack(smtp, before, f"referrer{number}@agency.test")
        times.append(time.monotonic() - started)
    return times


def _wait_for_ack(smtp: SmtpServer, before: int, recipient: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(recipient in m.recipients and b"X-Mailbot-Template: acknowledgement" in m.data
               for m in smtp.received[before:]):
            return
        time.sleep(0.002)
    raise RuntimeError(f"no acknowledgement for {recipient} within {timeout}s")


# --- 2. backlog rate -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Spent:
    """One timed run: wall seconds, this process's CPU seconds (its threads too), and the CPU
    seconds of the Dovecot processes that served it (counted once they have exited)."""

    wall: float
    cpu: float
    server: float


class Stopwatch:
    def __init__(self, dovecot: DovecotServer):
        self._dovecot = dovecot
        time.sleep(0.3)  # the sessions before (the backlog's APPENDs) end and are reaped
        self._started = (time.monotonic(), time.process_time(), self._server())

    def _server(self) -> float:
        """CPU of the master's exited children (the imap processes, reaped as they log out)."""
        pid = self._dovecot.pid
        if pid is None:
            return 0.0
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")  # cutime, cstime

    def spent(self) -> Spent:
        wall, cpu = time.monotonic() - self._started[0], time.process_time() - self._started[1]
        time.sleep(0.3)  # the sessions' processes exit and are reaped
        return Spent(wall, cpu, self._server() - self._started[2])


def bare_fetch_seconds(dovecot: DovecotServer, account: ImapAccount) -> tuple[Spent, int]:
    """A plain client: log in, select, search, fetch every message in batches."""
    watch = Stopwatch(dovecot)
    fetched = 0
    with dovecot.connect(account) as client:
        client.select_folder("INBOX", readonly=True)
        uids = sorted(client.search(["ALL"]))
        for i in range(0, len(uids), BATCH):
            fetched += len(client.fetch(uids[i:i + BATCH], ["BODY.PEEK[]"]))
    return watch.spent(), fetched


def backlog(dovecot: DovecotServer, count: int, rounds: int, profile: bool,
            act: bool = True) -> None:
    """Each round puts ``count`` referrals in a fresh mailbox and times a bare fetch of them
    and then mailbot's intake of the same; the medians over rounds are printed, because one
    round of a fifth of a second on a shared machine is mostly noise."""
    fetches, ingests, actings = [], [], []
    profiler = cProfile.Profile() if profile else None
    for _ in range(rounds):
        account = dovecot.add_user()
        dovecot.append_many(account, (referral(n) for n in range(count)))
        spent, fetched = bare_fetch_seconds(dovecot, account)
        assert fetched == count, f"the bare fetch saw {fetched} of {count} messages"
        taken, acting = _intake_seconds(dovecot, account, count, profiler, act)
        print(f"  round: bare fetch wall {spent.wall:.3f} s, CPU {spent.cpu:.3f} s, Dovecot"
              f" {spent.server:.2f} s; ingest wall {taken.wall:.3f} s, CPU {taken.cpu:.3f} s,"
              f" Dovecot {taken.server:.2f} s; ratio {taken.wall / spent.wall:.2f}x", flush=True)
        fetches.append(spent.wall)
        ingests.append(taken.wall)
        actings.append(acting)
    ratios = sorted(i / f for i, f in zip(ingests, fetches, strict=True))
    fetch, ingest, acting = (statistics.median(v) for v in (fetches, ingests, actings))
    print(f"backlog of {count} bare referrals, median of {rounds} rounds: bare batched IMAP"
          f" fetch {fetch:.3f} s ({count / fetch:,.0f} msg/s); mailbot ingest (fetch, store"
          f" compressed, move) {ingest:.3f} s ({count / ingest:,.0f} msg/s); ratio"
          f" {statistics.median(ratios):.1f}x (rounds {ratios[0]:.1f}x to {ratios[-1]:.1f}x)"
          f"  (target: 2x, issue 19)", flush=True)
    if act:
        print(f"then acting on them (open a case, queue 3 emails each): {acting:.2f} s"
              f" ({count / acting:,.0f} msg/s, {acting / count * 1000:.1f} ms each)", flush=True)
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(r"mailbot|imaplib|imapclient|sqlalchemy", 30)


def _intake_seconds(dovecot: DovecotServer, account: ImapAccount, count: int,
                    profiler: cProfile.Profile | None, act: bool) -> tuple[Spent, float]:
    """mailbot's pass over the backlog in this process, so interpreter start-up is not
    counted: the two halves of services.polling.drain_mailbox, timed apart. Ingest takes the
    backlog off the server into the store; acting opens the cases and queues the mail."""
    with tempfile.TemporaryDirectory(prefix="bench-backlog-") as folder:
        config = write_config(Path(folder), dovecot, account, None)
        os.environ[PASSWORD_ENV] = account.password
        app = bootstrap(load_settings(config))  # migrations and policies: not timed
        context = app.services.mailboxes["bury"]
        now = datetime.fromisoformat(NOW).replace(tzinfo=LONDON)
        if profiler:
            profiler.enable()
        watch = Stopwatch(dovecot)
        mailbox = app.open_mailbox("bury")
        stored = 0
        while messages := mailbox.fetch_new(BATCH):
            stored += store_messages(app.services, messages)
            mailbox.mark_all_processed(messages)
        mailbox.close()  # waits for the last batch's move
        if profiler:
            profiler.disable()
        ingest = watch.spent()
        started = time.monotonic()
        acted = act_on_pending(app.services, context, lambda: now) if act else stored
        acting = time.monotonic() - started
    assert stored == acted == count, (stored, acted)
    return ingest, acting


# --- 3. memory -----------------------------------------------------------------------------------

def memory(dovecot: DovecotServer, count: int, forms: bool = False) -> None:
    account = dovecot.add_user()
    make = referral_with_form if forms else referral
    dovecot.append_many(account, (make(n) for n in range(count)))
    # The wrapper reports the peak resident set of its child, the `mailbot poll` process.
    code = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode;"
            " print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as folder:
        config = write_config(Path(folder), dovecot, account, None)
        started = time.monotonic()
        out = subprocess.run([sys.executable, "-c", code,
                              *mailbot_command(config, "--now", NOW, "poll")],
                             cwd=folder, env=child_env(account), capture_output=True, text=True,
                             timeout=7200)
        seconds = time.monotonic() - started
        handled = _acted(Path(folder) / "mailbot.sqlite3")
    returncode, peak_kib = (int(v) for v in out.stdout.strip().splitlines()[-1].split())
    if returncode != 0:
        raise RuntimeError(f"mailbot poll exited {returncode}: {out.stderr[-2000:]}")
    kind = "referrals with a .docx form" if forms else "bare referrals"
    print(f"peak memory of `mailbot poll` over a backlog of {count:,} {kind}: {peak_kib / 1024:.0f}"
          f" MB ({seconds:.0f} s, {handled:,} acted on)  (target: < 200 MB, flat)", flush=True)


def _acted(database: Path) -> int:
    import sqlite3

    with sqlite3.connect(database, timeout=30) as db:
        return db.execute("SELECT count(*) FROM inbound_messages WHERE status != 'received'"
                          ).fetchone()[0]


# The wrapper starts `mailbot run`, waits until the bench says the backlog is done (a file
# appears), stops it and reports the peak resident set of its child.
RUN_WRAPPER = """
import pathlib, resource, subprocess, sys, time
done = pathlib.Path(sys.argv[1])
worker = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
while not done.exists() and worker.poll() is None:
    time.sleep(0.2)
worker.terminate()
worker.wait(timeout=60)
print(worker.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def memory_run(dovecot: DovecotServer, count: int, forms: bool) -> None:
    """Peak memory of `mailbot run` while it takes a backlog of ``count`` waiting referrals and
    acts on every one (counted in its SQLite store)."""
    import sqlite3  # noqa: F401  (its errors, while the worker creates the file)

    account = dovecot.add_user()
    make = referral_with_form if forms else referral
    dovecot.append_many(account, (make(n) for n in range(count)))
    with tempfile.TemporaryDirectory(prefix="bench-memory-run-") as folder:
        config = write_config(Path(folder), dovecot, account, None)
        done = Path(folder) / "done"
        started = time.monotonic()
        wrapper = subprocess.Popen([sys.executable, "-c", RUN_WRAPPER, str(done),
                                    *mailbot_command(config, "--now", NOW, "run")],
                                   cwd=folder, env=child_env(account), stdout=subprocess.PIPE,
                                   text=True)
        database = Path(folder) / "mailbot.sqlite3"
        while time.monotonic() - started < 7200 and wrapper.poll() is None:
            time.sleep(1)
            try:
                acted = _acted(database)
            except sqlite3.Error:
                continue
            if acted >= count:
                break
        seconds = time.monotonic() - started
        done.touch()
        out, _ = wrapper.communicate(timeout=120)
    _, peak_kib = (int(v) for v in out.strip().splitlines()[-1].split())
    kind = "referrals with a .docx form" if forms else "bare referrals"
    print(f"peak memory of `mailbot run` taking a backlog of {count:,} {kind}: {peak_kib / 1024:.0f}"
          f" MB ({seconds:.0f} s to act on all)  (target: < 200 MB)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=int, default=50, metavar="N",
                        help="messages to time one by one under IDLE (0 to skip)")
    parser.add_argument("--backlog", type=int, default=1000, metavar="N",
                        help="size of the backlog whose ingest rate is measured (0 to skip)")
    parser.add_argument("--memory", default="1000,10000", metavar="N,N",
                        help="backlog sizes whose peak memory is measured ('' to skip)")
    parser.add_argument("--rounds", type=int, default=5, metavar="N",
                        help="backlogs timed, each against its own bare fetch (medians shown)")
    parser.add_argument("--memory-forms", default="", metavar="N,N",
                        help="backlog sizes of referrals carrying a .docx form whose peak memory"
                             " is measured, for `mailbot poll` and `mailbot run` ('' to skip)")
    parser.add_argument("--profile", action="store_true",
                        help="print where the backlog's ingest time goes (cProfile)")
    parser.add_argument("--mail-formats", default="maildir,mdbox", metavar="F,F",
                        help="Dovecot mailbox formats the backlog is timed on (maildir, mdbox)")
    parser.add_argument("--ingest-only", action="store_true",
                        help="time the backlog's ingest alone, not acting on it")
    args = parser.parse_args()
    # aiosmtpd warns about a deprecated attribute the capturing server reads, once a message.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    dovecot = DovecotServer()
    dovecot.start()
    try:
        if args.latency:
            latency(dovecot, args.latency)
        for mail_format in filter(None, args.mail_formats.split(",") if args.backlog else ()):
            print(f"Dovecot's mailboxes in {mail_format}:", flush=True)
            if mail_format == "maildir":
                backlog(dovecot, args.backlog, args.rounds, args.profile, not args.ingest_only)
                continue
            other = DovecotServer(mail_format=mail_format)
            other.start()
            try:
                backlog(other, args.backlog, args.rounds, args.profile, not args.ingest_only)
            finally:
                other.cleanup()
        for size in filter(None, args.memory.split(",")):
            memory(dovecot, int(size))
        for size in filter(None, args.memory_forms.split(",")):
            memory(dovecot, int(size), forms=True)
            memory_run(dovecot, int(size), forms=True)
    finally:
        dovecot.cleanup()


if __name__ == "__main__":
    from machine import describe

    print(describe(), flush=True)
    main()
