"""The product as a user meets it: `mailbot` subprocesses on a temp config, a real Dovecot
holding the partnership mailbox, and a real SMTP server capturing what mailbot sends.

A story test appends mail with IMAP APPEND (the way delivered mail arrives), runs
`mailbot poll` / `chase --now` / `send` / `cases show`, and reads the captured mail.
"""

from __future__ import annotations

import email
import io
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage, Message
from email.policy import default
from email.utils import format_datetime, make_msgid
from pathlib import Path

import docx

from mailbot.adapters.policy_files import calendar_for, load_policy
from mailbot.domain.referral import AgencyType
from mailbot.domain.working_days import LONDON
from mailbot.intake.fields import AGENCY_TYPE_LABELS
from mailbot.intake.form_builder import fill_form
from tests.servers.dovecot import DovecotServer, ImapAccount
from tests.servers.smtp import SmtpServer

ROOT = Path(__file__).resolve().parents[2]
AUTHSERV = "mx.partnership.test"
CHASERS = ("reminder", "due_today", "overdue")
# Commands From a business manager that must not be believed: what the refusal says, and how
# the reply is forged (see Story.reply).
FORGERIES = {
    "dmarc-fail": ("could not be verified", {"authenticated": False}),
    "foreign-authserv": ("could not be verified", {"authserv": "mx.attacker.test"}),
    "unthreaded": ("reply to a message mailbot sent to you", {"threaded": False}),
}
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

    def accept(self, mails: list[Sent], now: datetime) -> list[Sent]:
        """The business manager accepts a new case by replying ACCEPT to its new-case notice;
        returns what that sent: the mail held for the people the referral names, and the
        confirmation."""
        [notice] = only(mails, "new_case", self.business_manager)
        return self.deliver(self.reply(notice, "ACCEPT", now), now)

    def open(self, referrer: str, fields: dict, now: datetime, **options) -> list[Sent]:
        """Delivers a referral and accepts it: every email the case's opening caused."""
        mails = self.deliver(self.referral(referrer, fields, now, **options), now)
        released = self.accept(mails, now)
        assert only(released, "command_confirmation", self.business_manager), released
        return mails + [m for m in released if m.template != "command_confirmation"]

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

    def state(self, reference: str) -> str:
        """`cases show` without its history: status, stage, deadline and people by role."""
        return self.case_text(reference).split("\nHistory:", 1)[0]

    def chase_days(self, first: str, last: str, hour: int = 9, minute: int = 30) -> dict[date, list[Sent]]:
        """Runs the deadline pass once a day, every calendar day from ``first`` to ``last``."""
        day, end, sent = date.fromisoformat(first), date.fromisoformat(last), {}
        while day <= end:
            sent[day] = self.chase(at(day.isoformat(), hour, minute))
            day += timedelta(days=1)
        return sent

    def assert_chasers_on_working_days(self) -> None:
        """No reminder, due-today or overdue notice ever went on a weekend or bank holiday."""
        chasers = [m for m in self.sent() if m.template in CHASERS]
        assert chasers, "the story sent no chasers at all"
        for mail in chasers:
            day = mail.sent_on.astimezone(LONDON).date()
            assert self.calendar.is_working_day(day), f"{mail.template} went on {day:%A %d %B %Y}"

    def assert_subjects_name_no_child(self, reference: str, child_name: str) -> None:
        """Every email about the case carries [REF] in its subject and never the child's name."""
        mails = for_case(self.sent(), reference)
        assert mails
        for mail in mails:
            assert f"[{reference}]" in mail.subject, mail.subject
            assert not set(child_name.lower().split()) & set(mail.subject.lower().split()), mail.subject

    def command(self, to: Sent, body: str, now: datetime, **options) -> list[Sent]:
        """Replies to ``to`` with ``body`` (as the business manager unless told otherwise)."""
        return self.deliver(self.reply(to, body, now, **options), now)

    @contextmanager
    def unchanged(self, reference: str, before: str | None = None) -> Iterator[str]:
        """Asserts that what happens inside leaves the case's state as it was (``before``,
        if the test already knows it, saves a `cases show`)."""
        before = before or self.state(reference)
        yield before
        assert self.state(reference) == before

    def forged_command_refused(self, to_manager: Sent, body: str, now: datetime, forgery: str) -> None:
        """``body`` From the business manager but forged as FORGERIES[forgery] says: refused."""
        why, options = FORGERIES[forgery]
        self._refused(self.reply(to_manager, body, now, **options), self.business_manager, why, now)

    def outsider_command_refused(self, to_outsider: Sent, body: str, now: datetime) -> None:
        """``body`` from someone on the case who is not a business manager: refused."""
        sender = to_outsider.recipient
        self._refused(self.reply(to_outsider, body, now, sender=sender), sender,
                      "Only the business managers", now)

    def _refused(self, message: bytes, sender: str, why: str, now: datetime) -> None:
        """Refused with ``why``; a command from someone other than the business manager is
        also passed to the business manager, and the refusal says so."""
        answers = self.deliver(message, now)
        expected = [("command_refusal", sender)]
        if sender != self.business_manager:
            expected.append(("for_attention", self.business_manager))
        assert sorted((m.template, m.recipient) for m in answers) == sorted(expected)
        [refusal] = only(answers, "command_refusal")
        text = refusal.text()
        assert why in text and "Nothing has changed" in text, text
        assert str(refusal.message["X-Mailbot-Case"]) in refusal.subject
        if sender != self.business_manager:
            assert "passed to the business managers" in text, text

    def out_of_office(self, chaser: Sent, now: datetime) -> None:
        """An Outlook out-of-office answer to a chaser gets no answer."""
        auto = self.reply(chaser, "I am out of the office until Monday with limited access to email.",
                          now, sender=chaser.recipient, subject_prefix="Automatic reply: ",
                          headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"})
        assert self.deliver(auto, now) == []

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
              authenticated: bool = True, authserv: str = AUTHSERV, threaded: bool = True,
              subject_prefix: str = "RE: ", headers: dict | None = None) -> bytes:
        """A reply to a captured email, as the receiving server would hand it to mailbot.

        ``authenticated=False``: the server found DKIM and DMARC failing (a forged From).
        ``authserv``: who claims to have checked it (a forger writes their own header).
        ``threaded=False``: no In-Reply-To/References, only the [REF] in the subject."""
        sender = sender or self.business_manager
        message = EmailMessage()
        domain = sender.rsplit("@", 1)[-1]
        verdict = "pass" if authenticated else "fail"
        message["Authentication-Results"] = (f"{authserv}; dkim={verdict} header.d={domain};"
                                             f" dmarc={verdict} header.from={domain}")
        message["From"] = sender
        message["To"] = self.address
        message["Subject"] = subject_prefix + to.subject
        message["Date"] = format_datetime(now)
        message["Message-ID"] = make_msgid(domain=domain)
        if threaded:
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
    """A form answer as a person would type it in an email."""
    if isinstance(value, AgencyType):
        return AGENCY_TYPE_LABELS[value]
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


def recipients(mails: Iterable[Sent], template: str) -> set[str]:
    return {m.recipient for m in mails if m.template == template}


def for_case(mails: Iterable[Sent], reference: str) -> list[Sent]:
    return [m for m in mails if str(m.message["X-Mailbot-Case"]) == reference]


def decision_notice_text(mail: Sent) -> str:
    """Every paragraph and table cell of the .docx decision notice attached to ``mail``."""
    return docx_text(attached(mail, "-decision-notice.docx"))


def attached(mail: Sent, ending: str) -> bytes:
    """The one attachment of ``mail`` whose name ends with ``ending``."""
    [part] = [p for p in mail.message.walk() if (p.get_filename() or "").endswith(ending)]
    return part.get_payload(decode=True)


def docx_text(data: bytes) -> str:
    """Every paragraph and table cell of a .docx, one a line."""
    document = docx.Document(io.BytesIO(data))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.extend(cell.text for cell in row.cells)
    return "\n".join(lines)


def history_rows(data: bytes) -> list[list[str]]:
    """The rows of the history table (the last table) of a case record .docx."""
    table = docx.Document(io.BytesIO(data)).tables[-1]
    return [[cell.text for cell in row.cells] for row in table.rows][1:]


def shown_history(case_text: str) -> list[tuple[str, str]]:
    """(time, actor) of each event `mailbot cases show` lists, in order."""
    rows = []
    for line in case_text.split("\nHistory:\n", 1)[1].splitlines():
        if line.startswith("  ") and not line.startswith("    ") and "  by " in line:
            when = line[2:18]
            actor = line.split("  by ", 1)[1].rsplit("  (", 1)[0]  # "(Stage 2)", "(Level 2)"
            rows.append((when, actor))
    return rows
