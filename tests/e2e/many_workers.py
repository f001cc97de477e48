"""Several `mailbot` processes on one database: the set-up the concurrency tests and the
bench scripts share (issue 14).

A workdir holds the config, one Maildir per partnership (or a Dovecot account) and the
``outbox`` folder the directory mailer writes each sent message to, so "sent once" is
"one file per Message-ID". The database is a SQLite file in the workdir or a PostgreSQL URL.
"""

from __future__ import annotations

import collections
import email
import mailbox
import os
import subprocess
import sys
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime, make_msgid
from pathlib import Path

from sqlalchemy import text

from mailbot.adapters.sqlalchemy_store import make_engine

ROOT = Path(__file__).resolve().parents[2]
PASSWORD_ENV = "MANY_WORKERS_MAILBOX_PASSWORD"
# Four partnerships, each its own mailbox: address, and the stage line its referrals carry.
PARTNERSHIPS = {
    "bury": "bsp@bury.test",
    "hackney": "chscp@hackney.test",
    "bromley": "bscp@bromley.test",
    "berkshire": "pan-berkshire@berkshire.test",
}


@dataclass
class Imap:
    port: int
    username: str
    password: str


@dataclass
class Deployment:
    workdir: Path
    database_url: str
    partnerships: list[str]
    imap: Imap | None = None  # one Dovecot account for the first partnership instead of a Maildir
    lease_seconds: float = 60
    outbox_name: str = "outbox"

    def __post_init__(self) -> None:
        self.config = self.workdir / f"config-{self.outbox_name}.toml"
        self.config.write_text(self._config_text())

    def _config_text(self) -> str:
        blocks = [f"""
[database]
url = "{self.database_url}"
[outgoing]
kind = "directory"
directory = "{self.outbox_name}"
[worker]
send_every_seconds = 1
chase_every_minutes = 1
lease_seconds = {self.lease_seconds}
"""]
        for name in self.partnerships:
            blocks.append(f"""
[[mailbox]]
name = "{name}"
address = "{PARTNERSHIPS[name]}"
policy = "{name}"
business_managers = ["manager@{name}.test"]
sender_trust = "none"
""" + (f"""kind = "imap"
host = "127.0.0.1"
port = {self.imap.port}
security = "none"
username = "{self.imap.username}"
password_env = "{PASSWORD_ENV}"
""" if self.imap and name == self.partnerships[0] else f"""kind = "maildir"
path = "maildir/{name}"
"""))
        return "".join(blocks)

    # -- mail in -----------------------------------------------------------------------------

    def maildir(self, name: str) -> mailbox.Maildir:
        (self.workdir / "maildir").mkdir(exist_ok=True)
        return mailbox.Maildir(self.workdir / "maildir" / name, create=True)

    def deliver(self, name: str, messages: list[bytes]) -> None:
        box = self.maildir(name)
        for message in messages:
            box.add(message)

    # -- running mailbot ---------------------------------------------------------------------

    def start(self, *args: str, now: str | None = None) -> subprocess.Popen:
        command = [sys.executable, "-m", "mailbot", "--config", str(self.config)]
        if now:
            command += ["--now", now]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
               PASSWORD_ENV: self.imap.password if self.imap else ""}
        return subprocess.Popen([*command, *args], cwd=self.workdir, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def run(self, *args: str, now: str | None = None, timeout: float = 300) -> tuple[int, str]:
        process = self.start(*args, now=now)
        output, _ = process.communicate(timeout=timeout)
        return process.returncode, output

    # -- what came of it ---------------------------------------------------------------------

    def sent(self, folder: str | None = None) -> list[tuple[str, str, str]]:
        """(Message-ID, template, recipient) of every file the directory mailer wrote."""
        found = []
        for path in sorted((self.workdir / (folder or self.outbox_name)).glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=default)
            found.append((str(message["Message-ID"]).strip("<>"),
                          str(message["X-Mailbot-Template"]), str(message["To"])))
        return found

    def query(self, sql: str) -> list:
        engine = make_engine(self.database_url)
        try:
            with engine.connect() as db:
                return list(db.execute(text(sql)).all())
        finally:
            engine.dispose()


def referral(partnership: str, number: int, when) -> bytes:
    """A referral as labelled lines (contract section 5), from its own referrer."""
    message = EmailMessage()
    message["From"] = f"Referrer {number} <referrer{number}@agency.test>"
    message["To"] = PARTNERSHIPS[partnership]
    message["Subject"] = "Request for Resolution"
    message["Date"] = format_datetime(when)
    message["Message-ID"] = make_msgid(domain="agency.test")
    message.set_content(
        f"Child's name: Child {number}\nChild's date of birth: 14/03/2015\n"
        f"Referrer's name: Referrer {number}\nReferrer's role: Social worker\n"
        f"Referrer's agency/team: Team {number}\nReferrer's email: referrer{number}@agency.test\n"
        "Type of referrer's agency: Children's social care\nOther agency: Northfield School\n"
        "Type of other agency: School\n"
        f"Summary of disagreement: Disagreement number {number} ({partnership}).\n"
        "Evidence of the challenge that has taken place at stages 1, 2 & 3 and the outcome at"
        " each stage: Discussed between practitioners and their managers; no agreement.\n"
        "Actions taken to date: Discussed between practitioners and their managers.\n"
        "Rationale for referring to the partnership: The agencies cannot agree.\n"
        "Desired outcome for the child and / or family: A plan both agencies support.\n")
    return bytes(message)


def sent_twice(sent: list[tuple[str, str, str]]) -> dict[str, int]:
    """Message-IDs delivered more than once."""
    return {mid: n for mid, n in collections.Counter(m for m, _, _ in sent).items() if n > 1}
