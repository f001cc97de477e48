"""Two partnerships on one mailbot, attacked through their mailboxes and the CLI.

Bury and City & Hackney each have a mailbox (a Maildir, or an account on a real Dovecot) and
a business manager; one SMTP server captures everything mailbot sends. Tests deliver mail as
a receiving server would hand it over, run the real `mailbot` command, and read what came
out: the mail, `cases show`, and the command's own output.
"""

from __future__ import annotations

import email
import mailbox
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date, datetime
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime, make_msgid
from pathlib import Path

from mailbot.domain.referral import AgencyType
from mailbot.intake.form_builder import fill_form
from tests.e2e.harness import Sent, _label, _plain, at, only, reference_of
from tests.servers.dovecot import DovecotServer, ImapAccount
from tests.servers.smtp import SmtpServer

ROOT = Path(__file__).resolve().parents[2]
AUTHSERV = "mx.partnership.test"
DAY = at("2026-11-23")
CHILD = "Sam Sample"
DOB = date(2015, 3, 14)


def form(**changes) -> dict:
    """A Bury form: a school raises it about children's social care at level 1 (a form that
    states no level opens at Bury's level 4, which needs the evidence of levels 1 to 3)."""
    fields = {
        "stage_reached": 1,
        "child_name": CHILD, "child_dob": DOB,
        "referrer_name": "Priya Shah", "referrer_email": "priya.shah@school.test",
        "referrer_agency": "Hollins Primary School", "referrer_agency_type": AgencyType.SCHOOL,
        "other_agency": "Children's Social Care", "other_agency_contact_name": "Alex Morgan",
        "other_agency_contact_email": "alex.morgan@csc.test",
        "other_agency_type": AgencyType.CHILDRENS_SOCIAL_CARE,
        "safeguarding_lead_aware": True, "safeguarding_lead_name": "Tom Reid",
        "safeguarding_lead_email": "tom.reid@school.test",
        "summary": "The threshold for assessment is met but the contact was closed.",
        "desired_outcome": "A child and family assessment.",
    }
    return {**fields, **changes}


@dataclass
class Partnership:
    name: str
    policy: str
    address: str
    manager: str
    account: ImapAccount | None = None
    maildir: Path | None = None


@dataclass
class World:
    backend: str
    workdir: Path
    smtp: SmtpServer
    dovecot: DovecotServer | None = None
    partnerships: dict[str, Partnership] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, policy, address, manager in (
                ("bury", "bury", "bsp@bury.test", "manager@bury.test"),
                ("hackney", "hackney", "chscp@hackney.test", "manager@hackney.test")):
            account = self.dovecot.add_user() if self.dovecot else None
            maildir = None if account else self.workdir / "maildir" / name
            if maildir:
                maildir.parent.mkdir(parents=True, exist_ok=True)
                mailbox.Maildir(maildir, create=True)
            self.partnerships[name] = Partnership(name, policy, address, manager, account, maildir)
        self.config = self.workdir / "config.toml"
        self.config.write_text(self._config())

    def _config(self) -> str:
        text = (f'[database]\nurl = "sqlite:///mailbot.sqlite3"\n[outgoing]\nkind = "smtp"\n'
                f'host = "127.0.0.1"\nport = {self.smtp.port}\nsecurity = "none"\n')
        for p in self.partnerships.values():
            text += (f'[[mailbox]]\nname = "{p.name}"\naddress = "{p.address}"\n'
                     f'policy = "{p.policy}"\nbusiness_managers = ["Manager <{p.manager}>"]\n'
                     f'sender_trust = "authentication-results"\n'
                     f'trusted_authserv_ids = ["{AUTHSERV}"]\n')
            if p.account:
                text += (f'kind = "imap"\nhost = "127.0.0.1"\nport = {self.dovecot.port}\n'
                         f'security = "none"\nusername = "{p.account.username}"\n'
                         f'password_env = "PASSWORD_{p.name.upper()}"\n')
            else:
                text += f'kind = "maildir"\npath = "{p.maildir}"\n'
        return text

    # --- running mailbot ---------------------------------------------------------------

    def run(self, *args: str, now: datetime | None = DAY, verbose: bool = False,
            check: bool = True) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "mailbot", "--config", str(self.config)]
        command += ["-v"] if verbose else []
        command += ["--now", now.isoformat()] if now else []
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.update({f"PASSWORD_{p.name.upper()}": p.account.password
                    for p in self.partnerships.values() if p.account})
        result = subprocess.run([*command, *args], cwd=self.workdir, env=env,
                                capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"mailbot {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def drop(self, name: str, message: bytes) -> None:
        """Hands a message to a partnership's mailbox, as its mail server would."""
        partnership = self.partnerships[name]
        if partnership.account:
            self.dovecot.append(partnership.account, message)
        else:
            mailbox.Maildir(partnership.maildir).add(message)

    def deliver(self, name: str, message: bytes, now: datetime = DAY) -> list[Sent]:
        """Drops a message in a partnership's mailbox, polls, returns the mail that caused."""
        before = len(self.smtp.received)
        self.drop(name, message)
        self.run("poll", now=now)
        return self.sent()[before:]

    def sent(self) -> list[Sent]:
        return [Sent(r.recipients[0], email.message_from_bytes(r.data, policy=default))
                for r in self.smtp.received]

    def case_text(self, reference: str) -> str:
        return self.run("cases", "show", reference).stdout

    def state(self, reference: str) -> str:
        return self.case_text(reference).split("\nHistory:", 1)[0]

    def open_case(self, name: str = "bury", referrer: str = "Priya Shah <priya.shah@school.test>",
                  fields: dict | None = None, now: datetime = DAY) -> tuple[str, list[Sent]]:
        mails = self.deliver(name, self.referral(name, referrer, fields or form(), now), now)
        return reference_of(mails), mails

    def new_case_notice(self, mails: list[Sent], name: str = "bury") -> Sent:
        [notice] = only(mails, "new_case", self.partnerships[name].manager)
        return notice

    # --- writing mail ------------------------------------------------------------------

    def referral(self, name: str, referrer: str, fields: dict, now: datetime,
                 as_form: bool = True) -> bytes:
        message = EmailMessage()
        message["From"] = referrer
        message["To"] = self.partnerships[name].address
        message["Subject"] = "Request for Resolution"
        message["Date"] = format_datetime(now)
        message["Message-ID"] = make_msgid(domain="agency.test")
        if not as_form:  # the form's fields as "Label: value" lines in the body
            message.set_content("".join(f"{_label(k)}: {_plain(v)}\n" for k, v in fields.items()))
            return bytes(message)
        message.set_content("Our Request for Resolution is attached.\n")
        message.add_attachment(fill_form(self.partnerships[name].policy, fields),
                               maintype="application", filename="request.docx",
                               subtype="vnd.openxmlformats-officedocument.wordprocessingml.document")
        return bytes(message)

    def reply(self, to: Sent, body: str, *, sender: str | None = None, mailbox: str = "bury",
              now: datetime = DAY, authenticated: bool = True, threaded: bool = True,
              quoted: str | None = None, top_headers: str = "", subject: str | None = None,
              message_id: str | None = None, date_header: str | None = None) -> bytes:
        """A reply to ``to``, as the receiving server of ``mailbox`` hands it over: with its
        Authentication-Results on top (unless ``top_headers`` puts lines above it), and the
        original below an Outlook "-----Original Message-----" line."""
        sender = sender or self.partnerships[mailbox].manager
        domain = sender.rsplit("@", 1)[-1]
        verdict = "pass" if authenticated else "fail"
        message = EmailMessage()
        message["Authentication-Results"] = (f"{AUTHSERV}; dkim={verdict} header.d={domain};"
                                             f" dmarc={verdict} header.from={domain}")
        message["From"] = sender
        message["To"] = self.partnerships[mailbox].address
        message["Subject"] = subject if subject is not None else "RE: " + to.subject
        message["Date"] = date_header or format_datetime(now)
        message["Message-ID"] = message_id or make_msgid(domain=domain)
        if threaded:
            message["In-Reply-To"] = f"<{to.message_id}>"
            message["References"] = f"<{to.message_id}>"
        original = quoted if quoted is not None else to.text()
        message.set_content(f"{body}\n\n-----Original Message-----\nFrom: {to.message['From']}\n"
                            f"Sent: {to.message['Date']}\nTo: {to.recipient}\n"
                            f"Subject: {to.subject}\n\n{original}\n")
        return top_headers.encode() + bytes(message)

    def reply_as_stranger(self, reference: str, body: str, *, sender: str = "stranger@evil.test",
                          mailbox: str = "bury") -> bytes:
        """A new message, not in any thread mailbot started, with ``[reference]`` typed into its
        subject. The receiving server checked it: a stranger's own domain passes; a forged
        partnership address fails."""
        domain = sender.rsplit("@", 1)[-1]
        verdict = "fail" if domain in {p.address.rsplit("@", 1)[-1]
                                       for p in self.partnerships.values()} else "pass"
        message = EmailMessage()
        message["Authentication-Results"] = (f"{AUTHSERV}; dkim={verdict} header.d={domain};"
                                             f" dmarc={verdict} header.from={domain}")
        message["From"] = sender
        message["To"] = self.partnerships[mailbox].address
        message["Subject"] = f"[{reference}] about the case"
        message["Date"] = format_datetime(DAY)
        message["Message-ID"] = make_msgid(domain=domain)
        message.set_content(body + "\n")
        return bytes(message)
