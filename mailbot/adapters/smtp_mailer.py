"""The SMTP mailer: hands outbox messages to the partnership's relay with smtplib.

It keeps one connection open between sends (checked with NOOP before reuse) and speaks TLS,
STARTTLS, or plain text to loopback only. Failures are sorted for the outbox: connection
problems, timeouts and 4xx answers are TransientError (retry later); 5xx answers are
PermanentError; a message taken for some recipients but not others is RecipientsRefused; a
refused password or OAuth2 token (XOAUTH2, after one retry with a fresh token) is
AuthenticationFailed.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable

from mailbot.adapters.bearer_tokens import forget_token, token_refused
from mailbot.adapters.connection_security import check_security
from mailbot.domain.errors import AuthenticationFailed, PermanentError, TransientError
from mailbot.services.ports import OutgoingEmail, RecipientsRefused

log = logging.getLogger(__name__)


class SmtpMailer:
    """Sends with smtplib; ``token_provider`` switches authentication to XOAUTH2."""

    def __init__(
        self, host: str, port: int, security: str, username: str = "",
        password: str | None = None, token_provider: Callable[[], str] | None = None,
        timeout: float = 30, ssl_context: ssl.SSLContext | None = None,
    ):
        check_security(host, security, "outgoing.security")
        self.host, self.port, self.security = host, port, security
        self._username, self._password, self._token_provider = username, password, token_provider
        self._timeout = timeout
        self._ssl_context = ssl_context
        self._smtp: smtplib.SMTP | None = None

    def send(self, email: OutgoingEmail) -> None:
        if not email.recipients:
            raise PermanentError(f"message {email.message_id} has no recipients")
        smtp = self._connection()
        options = _mail_options(smtp, email)
        try:
            refused = smtp.sendmail(email.envelope_from, list(email.recipients), email.data,
                                    mail_options=options)
        except smtplib.SMTPRecipientsRefused as error:
            self.close()
            raise _refusal_error(error.recipients, email) from error
        except (smtplib.SMTPException, OSError) as error:
            self.close()  # the session state is unknown; start the next send afresh
            raise _translate(error, f"sending {email.message_id}") from error
        if refused:
            accepted = tuple(r for r in email.recipients if r not in refused)
            raise RecipientsRefused(accepted, _decoded(refused))

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    # -- the connection ----------------------------------------------------------------------

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            try:
                if self._smtp.noop()[0] == 250:
                    return self._smtp
            except (smtplib.SMTPException, OSError):
                pass  # the relay closed an idle connection, as relays do
            self.close()
        try:
            self._smtp = self._open()
        except (smtplib.SMTPException, OSError) as error:
            raise _translate(error, f"connecting to {self.host}:{self.port}") from error
        return self._smtp

    def _open(self) -> smtplib.SMTP:
        context = self._ssl_context or ssl.create_default_context()
        if self.security == "tls":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self._timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self._timeout)
        try:
            smtp.ehlo()
            if self.security == "starttls":
                if not smtp.has_extn("starttls"):
                    # Going on in plain text would expose the password and the mail.
                    raise PermanentError(f"{self.host}:{self.port} does not offer STARTTLS")
                smtp.starttls(context=context)
                smtp.ehlo()
            self._authenticate(smtp)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _authenticate(self, smtp: smtplib.SMTP) -> None:
        where = f"{self._username} at {self.host}:{self.port}"
        if self._token_provider is not None:
            self._xoauth2(smtp, where)
        elif self._username:
            try:
                smtp.login(self._username, self._password or "")
            except smtplib.SMTPAuthenticationError as error:
                if not _refusal(error):
                    raise
                raise AuthenticationFailed(f"SMTP login refused for {where}: {_said(error)}",
                                           "Check the username, and the password in the"
                                           " environment variable named by password_env"
                                           ) from error

    def _xoauth2(self, smtp: smtplib.SMTP, where: str) -> None:
        """AUTH XOAUTH2; a refused token is replaced once by a fresh one before it counts.

        SMTP allows another AUTH after a failed one, so the retry needs no new connection.
        """
        for attempt in (1, 2):
            token = self._token_provider()
            initial = f"user={self._username}\x01auth=Bearer {token}\x01\x01"
            try:
                # On failure the server sends a JSON challenge; an empty answer ends the exchange.
                smtp.auth("XOAUTH2", lambda challenge=None, first=initial:
                          "" if challenge is not None else first)
                return
            except smtplib.SMTPAuthenticationError as error:
                if not _refusal(error):
                    raise  # 454 and the like: a passing trouble, sorted by _translate
                if attempt == 2:
                    raise token_refused("SMTP", where, token, "SMTP.SendAsApp",
                                        _said(error)) from error
                forget_token(self._token_provider)
                log.info("SMTP server refused the OAuth2 token for %s; trying a fresh one", where)


def _refusal(error: smtplib.SMTPAuthenticationError) -> bool:
    """535 and other 5xx answers refuse the credentials; 4xx ones (454) are passing trouble."""
    return isinstance(error.smtp_code, int) and 500 <= error.smtp_code <= 599


def _said(error: smtplib.SMTPResponseException) -> str:
    text = error.smtp_error
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{error.smtp_code} {text}".strip()


def _mail_options(smtp: smtplib.SMTP, email: OutgoingEmail) -> list[str]:
    """SMTPUTF8 (RFC 6531) when an address is not ASCII; refused if the relay lacks it."""
    addresses = (email.envelope_from, *email.recipients)
    if all(address.isascii() for address in addresses):
        return []
    if not smtp.has_extn("smtputf8"):
        raise PermanentError(f"{email.message_id}: the relay cannot take non-ASCII addresses")
    return ["SMTPUTF8"]


def _translate(error: BaseException, doing: str) -> Exception:
    """Map smtplib and socket failures to the error family by the SMTP reply class."""
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return PermanentError(f"SMTP {doing}: the server does not support it: {error}")
    code = getattr(error, "smtp_code", None)
    text = getattr(error, "smtp_error", b"")
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if isinstance(code, int) and 500 <= code <= 599:
        return PermanentError(f"SMTP {doing}: {code} {text}".strip())
    if isinstance(code, int):
        return TransientError(f"SMTP {doing}: {code} {text}".strip())
    return TransientError(f"SMTP {doing}: {type(error).__name__}: {error}")


def _refusal_error(refused: dict, email: OutgoingEmail) -> Exception:
    """Every recipient was refused: transient if any refusal was 4xx, else permanent."""
    decoded = _decoded(refused)
    listed = ", ".join(f"{address} ({code} {text})" for address, (code, text) in decoded.items())
    if any(400 <= code < 500 for code, _ in decoded.values()):
        return TransientError(f"SMTP refused {email.message_id} for now: {listed}")
    return PermanentError(f"SMTP refused {email.message_id}: {listed}")


def _decoded(refused: dict) -> dict[str, tuple[int, str]]:
    return {
        address: (code, text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text))
        for address, (code, text) in refused.items()
    }
