"""One `mailbot run` watching 10, 50 and 150 partnership mailboxes on a private Dovecot
(issue 18). Prints its figures next to the targets.

For each size: a fresh Dovecot on loopback with that many virtual users (each its own Unix
uid, as the README advises, so Dovecot's inotify limit of 128 instances per user does not
silently switch IDLE push off past the 128th mailbox), and a generated config in which every
mailbox is its own partnership: the five shipped policies copied under other names and
reference prefixes. Then, with the worker as a separate process:

1. start-up: seconds from launch until every mailbox is logged in (``doveadm who``);
2. at rest: resident memory and threads, and CPU over a quiet spell (``--quiet-seconds``);
3. latency: APPEND -> acknowledgement at the SMTP server, for referrals (with their .docx
   form) dropped into random mailboxes, p50 / p95;
4. the same while mailbox 0 takes a backlog of ``--backlog`` bare referrals (moved into its
   INBOX in one command), and how long the backlog took (`--backlog 0` leaves this out);
5. restart: Dovecot is stopped (its sessions killed) and started again; seconds until every
   mailbox is logged in again, and how the logins spread.
6. stop: seconds from SIGTERM until the worker has exited (its waits are interrupted).

Targets at 150 mailboxes: acknowledgement p95 <= 5 s even during the backlog, < 1% of a core
at rest, < 300 MB, back within 60 s of a restart. Run from the project root (it needs root
for the per-user uids; otherwise every mailbox runs as you):

    nice .venv/bin/python bench/scale.py [--sizes 10,50,150] [--quiet-seconds 60]
                                         [--probes 30] [--backlog 5000]
"""

from __future__ import annotations

import argparse
import functools
import io
import logging
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import zipfile
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.mailbox import referral as bare_referral  # noqa: E402
from mailbot.entrypoints.demo import SAMPLE  # noqa: E402
from mailbot.intake.form_builder import fill_form  # noqa: E402
from tests.servers.dovecot import DovecotServer, ImapAccount  # noqa: E402
from tests.servers.smtp import SmtpServer  # noqa: E402

BASES = ("bury", "hackney", "berkshire", "birmingham", "bromley")
FIRST_UID = 41000  # mailbox i runs as uid FIRST_UID + i
# Dovecot's defaults allow 100 processes per service: one imap process per session.
LIMITS = "default_process_limit = 1000\ndefault_client_limit = 4000\n"


class ManyUsersDovecot(DovecotServer):
    """The test Dovecot, with each virtual user given its own uid when run as root."""

    def __init__(self):
        super().__init__(extra_config=LIMITS)

    def _uid(self, username: str) -> int:
        return FIRST_UID + list(self._users).index(username)

    def _write_users(self) -> None:
        if os.geteuid() != 0:
            return super()._write_users()
        lines = "".join(f"{u}:{p}:{self._uid(u)}:{self._uid(u)}::::\n" for u, p in self._users.items())
        temporary = self.root / "users.tmp"
        temporary.write_text(lines)
        temporary.replace(self.root / "users")

    def add_user(self) -> ImapAccount:
        account = super().add_user()
        if os.geteuid() == 0:
            uid = self._uid(account.username)
            os.chown(self.root / "home" / account.username, uid, uid)
        return account

    def logged_in(self) -> set[str]:
        found = subprocess.run(["doveadm", "-c", str(self.config_path), "who", "-1"],
                               capture_output=True, text=True, timeout=30)
        return {line.split()[0] for line in found.stdout.splitlines()[1:] if line.strip()}


# --- the deployment ------------------------------------------------------------------------------

def prefix(base: str, number: int) -> str:
    letters = "".join(chr(ord("A") + digit) for digit in (number // 676, number // 26 % 26, number % 26))
    return base[:4].upper() + letters


def write_deployment(folder: Path, dovecot: DovecotServer, accounts: list[ImapAccount],
                     smtp_port: int) -> tuple[Path, dict[str, str]]:
    """Policies copied under new names and prefixes, their forms, and the config."""
    policies, forms = folder / "policies", folder / "forms"
    policies.mkdir()
    forms.mkdir()
    env, tables = {}, []
    for number, account in enumerate(accounts):
        base = BASES[number % len(BASES)]
        key = f"{base}{number}"
        text = (ROOT / "policies" / f"{base}.toml").read_text()
        text = text.replace(f'key = "{base}"', f'key = "{key}"', 1)
        original = text.split('reference_prefix = "', 1)[1].split('"', 1)[0]
        text = text.replace(f'reference_prefix = "{original}"',
                            f'reference_prefix = "{prefix(base, number)}"', 1)
        (policies / f"{key}.toml").write_text(text)
        shutil.copy(ROOT / "forms" / f"{base}.docx", forms / f"{key}.docx")
        env[f"SCALE_PASSWORD_{number}"] = account.password
        tables.append(f"""
[[mailbox]]
name = "m{number}"
address = "{key}@partnership.test"
policy = "{key}"
kind = "imap"
host = "127.0.0.1"
port = {dovecot.port}
security = "none"
username = "{account.username}"
password_env = "SCALE_PASSWORD_{number}"
business_managers = ["manager{number}@partnership.test"]
sender_trust = "none"
""")
    config = folder / "config.toml"
    config.write_text(f"""
policies_dir = "policies"
forms_dir = "forms"
[database]
url = "sqlite:///mailbot.sqlite3"
[outgoing]
kind = "smtp"
host = "127.0.0.1"
port = {smtp_port}
security = "none"
""" + "".join(tables))
    return config, env


@functools.cache
def _form(base: str) -> bytes:
    return fill_form(base, SAMPLE)


def referral(number: int, address: str, base: str) -> bytes:
    """A referral with its filled form, from its own referrer ``probe<number>``."""
    referrer = f"probe{number}@school.test"
    written = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(_form(base))) as source, zipfile.ZipFile(written, "w") as copy:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/document.xml":
                data = data.replace(SAMPLE["referrer_email"].encode(), referrer.encode())
            copy.writestr(item, data)
    message = EmailMessage()
    message["From"], message["To"] = f"Probe {number} <{referrer}>", address
    message["Subject"], message["Message-ID"] = "Request for Resolution", make_msgid("school.test")
    message.set_content("Please find our Request for Resolution attached.\n")
    message.add_attachment(written.getvalue(), maintype="application",
                           subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
                           filename="request-for-resolution.docx")
    return bytes(message)


# --- watching the outside --------------------------------------------------------------------------

class Arrivals:
    """When each recipient first got mail at the SMTP server; the bodies are let go of."""

    def __init__(self, smtp: SmtpServer):
        self.smtp, self.first_seen, self.count = smtp, {}, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.005):
            with self.smtp._lock:
                taken = list(self.smtp.received)
                self.smtp.received.clear()
            now = time.monotonic()
            for message in taken:
                self.count += 1
                for recipient in message.recipients:
                    self.first_seen.setdefault(recipient.lower(), now)

    def wait(self, recipient: str, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if recipient in self.first_seen:
                return self.first_seen[recipient]
            time.sleep(0.005)
        raise RuntimeError(f"no mail for {recipient} within {timeout:.0f} s")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def wait_until_all_in(dovecot: ManyUsersDovecot, usernames: set[str], timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if usernames <= dovecot.logged_in():
            return time.monotonic() - started
        time.sleep(0.25)
    missing = len(usernames - dovecot.logged_in())
    raise RuntimeError(f"{missing} mailbox(es) still not logged in after {timeout:.0f} s")


def process_figures(pid: int) -> tuple[float, int, float]:
    """(RSS in MB, threads, CPU seconds so far) of a process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    rss = int(fields["VmRSS"].split()[0]) / 1024
    threads = int(fields["Threads"])
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    return rss, threads, cpu


def percentiles(times: list[float]) -> str:
    times = sorted(times)
    p95 = times[math.ceil(0.95 * len(times)) - 1]  # nearest rank
    return (f"p50 {statistics.median(times):.2f} s, p95 {p95:.2f} s, max {times[-1]:.2f} s"
            f" over {len(times)}")


# --- one size ------------------------------------------------------------------------------------

class Probes:
    def __init__(self, dovecot, accounts, arrivals):
        self.dovecot, self.accounts, self.arrivals = dovecot, accounts, arrivals
        self.number = 0
        self.rng = random.Random(18)

    def one(self, avoid: int | None = None) -> float:
        choices = [i for i in range(len(self.accounts)) if i != avoid]
        index = self.rng.choice(choices)
        base = BASES[index % len(BASES)]
        self.number += 1
        data = referral(self.number, f"{base}{index}@partnership.test", base)
        started = time.monotonic()
        self.dovecot.append(self.accounts[index], data)
        return self.arrivals.wait(f"probe{self.number}@school.test", 120) - started


def stage_backlog(dovecot: DovecotServer, account: ImapAccount, count: int) -> None:
    """Appended to a folder the worker does not watch, to be moved into INBOX in one go."""
    with dovecot.connect(account) as client:
        client.create_folder("Staging")
        for number in range(count):
            client.append("Staging", bare_referral(number))


def release_backlog(dovecot: DovecotServer, account: ImapAccount) -> None:
    with dovecot.connect(account) as client:
        client.select_folder("Staging")
        client.move("1:*", "INBOX")


def run_size(size: int, args: argparse.Namespace) -> None:
    print(f"\n== {size} mailboxes ==", flush=True)
    dovecot = ManyUsersDovecot()
    accounts = [dovecot.add_user() for _ in range(size)]
    dovecot.start()
    smtp = SmtpServer()
    smtp.start()
    arrivals = Arrivals(smtp)
    folder = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    worker = None
    try:
        config, env = write_deployment(folder, dovecot, accounts, smtp.port)
        if args.backlog:
            stage_backlog(dovecot, accounts[0], args.backlog)
        usernames = {account.username for account in accounts}
        log_file = open(folder / "worker.log", "wb")  # noqa: SIM115 - closed with the worker
        launched = time.monotonic()
        worker = subprocess.Popen(
            [sys.executable, "-m", "mailbot", "--config", str(config), "run"], cwd=folder,
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, stdout=log_file,
            stderr=subprocess.STDOUT)
        wait_until_all_in(dovecot, usernames, timeout=300)
        print(f"start-up: every mailbox watched {time.monotonic() - launched:.1f} s after launch",
              flush=True)

        probes = Probes(dovecot, accounts, arrivals)
        probes.one()  # warm-up: every import done, every template loaded once
        time.sleep(5)
        rss, threads, cpu_before = process_figures(worker.pid)
        time.sleep(args.quiet_seconds)
        rss, threads, cpu_after = process_figures(worker.pid)
        share = (cpu_after - cpu_before) / args.quiet_seconds * 100
        print(f"at rest: {rss:.0f} MB resident (target < 300), {threads} threads; CPU over a"
              f" quiet {args.quiet_seconds:.0f} s: {share:.2f}% of a core (target < 1%)",
              flush=True)

        quiet = [probes.one() for _ in range(args.probes)]
        print(f"APPEND -> acknowledgement, random mailboxes: {percentiles(quiet)}", flush=True)

        if args.backlog:
            backlog_phase(dovecot, accounts, arrivals, probes, args)
        restart_phase(dovecot, size)
        rss, threads, _ = process_figures(worker.pid)
        print(f"after all that: {rss:.0f} MB resident, {threads} threads", flush=True)
        stopping = time.monotonic()
        worker.terminate()
        code = worker.wait(timeout=60)
        print(f"SIGTERM -> exit {code} in {time.monotonic() - stopping:.1f} s (every watcher's"
              f" wait interrupted, not waited out)", flush=True)
    except Exception:
        if (folder / "worker.log").exists():
            print((folder / "worker.log").read_text(errors="replace")[-3000:], file=sys.stderr)
        raise
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        arrivals.stop()
        smtp.stop()
        dovecot.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def backlog_phase(dovecot: DovecotServer, accounts: list[ImapAccount], arrivals: Arrivals,
                  probes: Probes, args: argparse.Namespace) -> None:
    """Referrals timed into other mailboxes while mailbox 0 takes its backlog."""
    before = arrivals.count
    release_backlog(dovecot, accounts[0])
    started = time.monotonic()
    during = []

    def backlog_acks() -> int:
        return sum(1 for n in range(args.backlog) if f"referrer{n}@agency.test" in arrivals.first_seen)

    while len(during) < args.probes or (backlog_acks() < args.backlog
                                        and time.monotonic() - started < 900):
        during.append(probes.one(avoid=0))
        if len(during) >= 4 * args.probes and backlog_acks() >= args.backlog:
            break
    left = args.backlog - backlog_acks()
    print(f"... during a backlog of {args.backlog} in mailbox 0: {percentiles(during)}"
          f" (target p95 <= 5 s); {args.backlog - left} of the backlog acknowledged"
          f" {time.monotonic() - started:.0f} s after it landed, {arrivals.count - before}"
          f" emails sent meanwhile", flush=True)
    while backlog_acks() < args.backlog and time.monotonic() - started < 900:
        time.sleep(1)
    print(f"backlog: all {args.backlog} acknowledged {time.monotonic() - started:.0f} s after"
          f" it landed", flush=True)


def restart_phase(dovecot: ManyUsersDovecot, size: int) -> None:
    """Dovecot stopped, its sessions ended, and started again: when is each mailbox back?"""
    dovecot.stop()
    dovecot.start()
    restarted = time.monotonic()
    logins = {}
    while len(logins) < size and time.monotonic() - restarted < 300:
        for user in dovecot.logged_in() - logins.keys():
            logins[user] = time.monotonic() - restarted
        time.sleep(0.25)
    spread = sorted(logins.values())
    per_second = max((sum(1 for t in spread if s <= t < s + 1) for s in range(int(spread[-1]) + 1)),
                     default=0) if spread else 0
    print(f"after a Dovecot restart: {len(logins)} of {size} watched again within"
          f" {spread[-1] if spread else float('nan'):.1f} s (target < 60 s); first back at"
          f" {spread[0] if spread else float('nan'):.1f} s, at most {per_second} logins in one"
          f" second", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,50,150", metavar="N,N")
    parser.add_argument("--quiet-seconds", type=float, default=60)
    parser.add_argument("--probes", type=int, default=30, metavar="N",
                        help="referrals timed at rest, and at least this many during the backlog")
    parser.add_argument("--backlog", type=int, default=5000, metavar="N")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="Session.login_data")  # aiosmtpd, each message
    logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd's log, likewise
    print(f"fs.inotify.max_user_instances = "
          f"{Path('/proc/sys/fs/inotify/max_user_instances').read_text().strip()};"
          f" mailboxes run as {'one uid each' if os.geteuid() == 0 else 'one user'}", flush=True)
    for size in (int(part) for part in args.sizes.split(",")):
        run_size(size, args)


if __name__ == "__main__":
    from machine import describe

    print(describe(), flush=True)
    main()
