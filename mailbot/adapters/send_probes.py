"""Probes for `mailbot mailboxes check`: the sending side of each mailbox.

By default nothing is sent. SMTP is proven as far as it can be without a message: connect,
authenticate, MAIL FROM the partnership address, RCPT TO a real recipient, then RSET. A directory
mailer is proven by being writable. Graph and EWS cannot be proven without sending; the check says
so, or, for Graph, reports whether the token carries Mail.Send. ``send_test`` sends one real test
message with mailbot's loop-guard headers, through the very mailer the worker would use.
"""

from __future__ import annotations

import os
import smtplib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from mailbot.adapters.directory_mailer import DirectoryMailer
from mailbot.adapters.email_builder import build_email, make_message_id
from mailbot.adapters.mailbox_probes import token_roles
from mailbot.adapters.smtp_mailer import SmtpMailer
from mailbot.domain.errors import AuthenticationFailed, PermanentError, TransientError
from mailbot.services.mailbox_check import NotChecked, ProbeFailed
from mailbot.services.ports import Mailer, OutgoingEmail, TokenProvider

SEND_TEST_HINT = "use --send-test ADDRESS to send one real test message"


def make_test_email(sender: str, to: str, now: datetime) -> OutgoingEmail:
    """A small test message from the partnership address, carrying the loop-guard headers."""
    message_id = make_message_id(sender.rpartition("@")[2] or "localhost")
    text = (f"This is a test message from mailbot, sent by `mailbot mailboxes check --send-test`"
            f" to prove that mail from {sender} is delivered. No action is needed.\n")
    data = build_email(from_addr=sender, to=[to], subject=f"mailbot test message from {sender}",
                       text=text, html=f"<p>{text.strip()}</p>", message_id=message_id,
                       auto_submitted="auto-generated", date=now)
    return OutgoingEmail(message_id, sender, (to,), data)


class EnvelopeCheckingSmtpMailer(SmtpMailer):
    """The SMTP mailer, able to try an envelope and take it back with RSET."""

    def try_envelope(self, sender: str, recipient: str) -> tuple[tuple[int, str], tuple[int, str] | None]:
        """(MAIL FROM reply, RCPT TO reply or None when MAIL FROM was refused)."""
        smtp = self._connection()
        try:
            mail = _reply(smtp.mail(sender))
            rcpt = _reply(smtp.rcpt(recipient)) if mail[0] == 250 else None
            smtp.rset()
        except (smtplib.SMTPException, OSError) as error:
            raise TransientError(f"SMTP connection to {self.host}:{self.port} dropped") from error
        finally:
            self.close()
        return mail, rcpt


class SmtpSendProbe:
    needs_login = False

    def __init__(self, make_mailer: Callable[[], EnvelopeCheckingSmtpMailer], *, where: str,
                 sender: str, recipient: str, login: str, login_fix: str, now: datetime,
                 uses_token: bool = False):
        self._make_mailer, self.where = make_mailer, where
        self.sender, self.recipient, self.login, self.login_fix = sender, recipient, login, login_fix
        self.now, self.uses_token = now, uses_token

    def check(self) -> str:
        mailer = self._make_mailer()
        try:
            mail, rcpt = mailer.try_envelope(self.sender, self.recipient)
        except PermanentError as error:
            self._raise_if_login_refused(error)
            raise
        self._judge("MAIL FROM", self.sender, mail,
                    f"Allow {self.login or 'this connection'} to send as {self.sender} (in Exchange, the"
                    " Send As permission on that mailbox), or log in as that address.")
        self._judge("RCPT TO", self.recipient, rcpt or (0, ""),
                    "Allow this account to send to that address (relay permission or a connector),"
                    " or correct the address.")
        method = "XOAUTH2" if self.uses_token else "a password"
        how = f"logged in as {self.login} with {method}" if self.login else "without login"
        return (f"{self.where} ({how}) accepted MAIL FROM:<{self.sender}> and"
                f" RCPT TO:<{self.recipient}>; nothing sent (RSET)")

    def send_test(self, to: str) -> str:
        email = make_test_email(self.sender, to, self.now)
        mailer = self._make_mailer()
        try:
            mailer.send(email)
        except PermanentError as error:
            self._raise_if_login_refused(error)
            raise
        finally:
            mailer.close()
        return f"test message <{email.message_id}> handed to {self.where} for {to}"

    def _raise_if_login_refused(self, error: PermanentError) -> None:
        if isinstance(error, AuthenticationFailed) and self.uses_token:
            return  # the mailer read the refused token's claims for its reason and fix
        cause = error.__cause__
        if isinstance(cause, smtplib.SMTPAuthenticationError):
            code, text = _reply((cause.smtp_code, cause.smtp_error))
            raise AuthenticationFailed(f"{self.where} refused the login for {self.login}: {code} {text}",
                                       self.login_fix) from error

    def _judge(self, command: str, address: str, reply: tuple[int, str], fix: str) -> None:
        code, text = reply
        if code in (250, 251):
            return
        if 400 <= code < 500:
            raise TransientError(f"{command}:<{address}> answered {code} {text}")
        raise ProbeFailed(f"{self.where} refused {command}:<{address}>: {code} {text}", fix)


class DirectorySendProbe:
    needs_login = False

    def __init__(self, path: Path, *, sender: str, now: datetime):
        self.path, self.sender, self.now = path, sender, now
        self.where = str(path)

    def check(self) -> str:
        existing = next(p for p in (self.path, *self.path.parents) if p.exists())
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            raise ProbeFailed(f"cannot write to {existing}",
                              "Correct outgoing.directory, or give the worker's user write permission.")
        state = "" if existing == self.path else " (created on first use)"
        return f"mail is written as .eml files to {self.path}{state}; nothing leaves this machine"

    def send_test(self, to: str) -> str:
        email = make_test_email(self.sender, to, self.now)
        DirectoryMailer(self.path).send(email)
        return f"test message <{email.message_id}> written to {self.path} (outgoing.kind = directory)"


class AccountSendProbe:
    """Graph's sendMail or EWS: the mailbox's own account sends."""

    needs_login = True

    def __init__(self, make_mailer: Callable[[], Mailer], *, where: str, sender: str, now: datetime,
                 token_provider: Callable[[], TokenProvider] | None = None, permission: str = ""):
        self._make_mailer, self._token_provider = make_mailer, token_provider
        self.where, self.sender, self.now, self.permission = where, sender, now, permission

    def check(self) -> str:
        if self._token_provider is None or not self.permission:
            raise NotChecked(f"not checked: {self.where} offers no way to prove it without sending;"
                             f" {SEND_TEST_HINT}")
        if self.permission not in token_roles(self._token_provider()()):
            raise NotChecked(f"not checked: the token does not list {self.permission} (normal when"
                             f" Exchange RBAC for Applications grants it); {SEND_TEST_HINT}")
        return (f"the app holds the {self.permission} application permission; nothing sent (a scope"
                f" or access policy may still exclude this mailbox: {SEND_TEST_HINT})")

    def send_test(self, to: str) -> str:
        email = make_test_email(self.sender, to, self.now)
        mailer = self._make_mailer()
        try:
            mailer.send(email)
        finally:
            close = getattr(mailer, "close", None)
            if callable(close):
                close()
        return f"test message <{email.message_id}> sent through {self.where} to {to}"


def _reply(reply: tuple[int, bytes | str]) -> tuple[int, str]:
    code, text = reply
    return code, text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
