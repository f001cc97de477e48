"""The product as a user meets it: `mailbot` subprocesses on a temp config, a real Dovecot
holding the partnership mailbox, and a real SMTP server capturing what mailbot sends.

A story test appends mail with IMAP APPEND (the way delivered mail arrives), runs
`mailbot poll` / `chase --now` / `send` / `cases show`, and reads the captured mail.
"""

from __future__ import annotations

import email
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date, datetime
from email.message import EmailMessage, Message
from email.policy import default
from email.utils import format_datetime, make_msgid
from pathlib import Path

from mailbot.adapters.policy_files import calendar_for, load_policy
from mailbot.domain.working_days import LONDON
from mailbot.intake.form_builder import fill_form
from tests.servers.dovecot import DovecotServer, ImapAccount
from tests.servers.smtp import SmtpServer

ROOT = Path(__file__).resolve().parents[2]
AUTHSERV = "mx.partnership.test"
PASSWORD_ENV = "E2E_MAILBOX_PASSWORD"


@dataclass
class Sent:
    """One captured email, parsed."""

    recipient: str
    message: Message

    @property
    def template(self) -> str:
        return str(self.message["X-Mailbot-Template"] or "")

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"]).strip("<>")

    @property
    def sent_on(self) -> datetime:
        return email.utils.parsedate_to_datetime(str(self.message["Date"]))

    def attachment_names(self) -> list[str]:
        return [part.get_filename() for part in self.message.walk() if part.get_filename()]

    def text(self) -> str:
        body = self.message.get_body(("plain",))
        return body.get_content() if body else ""


@dataclass
class Story:
    policy: str
    dovecot: DovecotServer
    smtp: SmtpServer
    account: ImapAccount
    workdir: Path
    address: str
    business_manager: str
    contacts: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        self.config = self.workdir / "config.toml"
        self.config.write_text(self._config_text())
        self.calendar = calendar_for(load_policy(self.policy))

    def _config_text(self) -> str:
        contacts = "".join(f'{role} = "{value}"\n' for role, value in self.contacts.items())
        return f"""
[database]
url = "sqlite:///mailbot.sqlite3"
[outgoing]
kind = "smtp"
host = "127.0.0.1"
port = {self.smtp.port}
security = "none"
[[mailbox]]
name = "{self.policy}"
address = "{self.address}"
policy = "{self.policy}"
kind = "imap"
host = "127.0.0.1"
port = {self.dovecot.port}
security = "none"
username = "{self.account.username}"
password_env = "{PASSWORD_ENV}"
business_managers = ["Business Manager <{self.business_manager}>"]
sender_trust = "authentication-results"
trusted_authserv_ids = ["{AUTHSERV}"]
[mailbox.contacts]
{contacts}"""

    # --- running mailbot ---------------------------------------------------------------

    def mailbot(self, *args: str, now: datetime | None = None, check: bool = True) -> str:
        command = [sys.executable, "-m", "mailbot", "--config", str(self.config)]
        if now is not None:
            command += ["--now", now.isoformat()]
        env = {**os.environ, PASSWORD_ENV: self.account.password, "PYTHONPATH": str(ROOT)}
        result = subprocess.run([*command, *args], cwd=self.workdir, env=env, capture_output=True,
                                text=True, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"mailbot {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result.stdout

    def deliver(self, message: bytes, now: datetime) -> list[Sent]:
        """Appends a message to the mailbox, polls, and returns the mail that caused."""
        before = len(self.smtp.received)
        self.dovecot.append(self.account, message)
        self.mailbot("poll", now=now)
        return self.sent()[before:]

    def deliver_nothing(self, now: datetime) -> list[Sent]:
        """Polls with nothing new in the mailbox; returns what that sent (should be nothing)."""
        before = len(self.smtp.received)
        self.mailbot("poll", now=now)
        return self.sent()[before:]

    def chase(self, now: datetime) -> list[Sent]:
        before = len(self.smtp.received)
        self.mailbot("chase", now=now)
        return self.sent()[before:]

    def sent(self) -> list[Sent]:
        return [Sent(received.recipients[0], email.message_from_bytes(received.data, policy=default))
                for received in self.smtp.received]

    def case_text(self, reference: str) -> str:
        return self.mailbot("cases", "show", reference)

    # --- writing mail ------------------------------------------------------------------

    def referral(self, referrer: str, fields: dict, now: datetime, as_form: bool = True) -> bytes:
        message = EmailMessage()
        message["From"] = referrer
        message["To"] = self.address
        message["Subject"] = "Request for Resolution"
        message["Date"] = format_datetime(now)
        message["Message-ID"] = make_msgid(domain="agency.test")
        if as_form:
            message.set_content("Our Request for Resolution is attached.\n")
            message.add_attachment(fill_form(self.policy, fields), maintype="application",
                                   subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
                                   filename="request.docx")
        else:
            message.set_content("".join(f"{_label(k)}: {_plain(v)}\n" for k, v in fields.items()))
        return bytes(message)

    def reply(self, to: Sent, body: str, now: datetime, *, sender: str | None = None,
              authenticated: bool = True, headers: dict | None = None) -> bytes:
        """A reply to a captured email, as the receiving server would hand it to mailbot."""
        sender = sender or self.business_manager
        message = EmailMessage()
        domain = sender.rsplit("@", 1)[-1]
        verdict = "pass" if authenticated else "fail"
        message["Authentication-Results"] = (f"{AUTHSERV}; dkim={verdict} header.d={domain};"
                                             f" dmarc={verdict} header.from={domain}")
        message["From"] = sender
        message["To"] = self.address
        message["Subject"] = "RE: " + to.subject
        message["Date"] = format_datetime(now)
        message["Message-ID"] = make_msgid(domain=domain)
        message["In-Reply-To"] = f"<{to.message_id}>"
        message["References"] = f"<{to.message_id}>"
        for name, value in (headers or {}).items():
            message[name] = value
        quoted = "\n".join("> " + line for line in to.text().splitlines()[:20])
        message.set_content(f"{body}\n\nKind regards,\nThe sender\n\n"
                            f"-----Original Message-----\nFrom: {self.address}\n{quoted}\n")
        return bytes(message)


def _label(key: str) -> str:
    from mailbot.intake.fields import FIELD_BY_KEY

    return FIELD_BY_KEY[key].label


def _plain(value) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def at(day: str, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=LONDON)


def only(mails: list[Sent], template: str, recipient: str | None = None) -> list[Sent]:
    return [m for m in mails if m.template == template and recipient in (None, m.recipient)]


def reference_of(mails: list[Sent]) -> str:
    return str(mails[0].message["X-Mailbot-Case"])
