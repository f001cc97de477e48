"""The EWS mailer: sends the MIME mailbot built through the partnership's own Exchange mailbox.

CreateItem takes the message as MimeContent with MessageDisposition SendAndSaveCopy, so Exchange
sends it as the mailbox and files a copy in Sent Items, where the partnership's staff see what
mailbot said. Exchange sends to the message's own To and Cc; when the outbox's envelope differs
(a redirect for a trial run), those headers are taken out and the envelope recipients given as
the item's To, so nobody the envelope leaves out receives it.

A send that failed after the request may have reached Exchange (a dropped connection, a timeout)
is remembered; before it is tried again, Sent Items is searched for its Message-ID, so a retry
never delivers it twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses

from exchangelib import Account, Mailbox, Message

from mailbot.adapters.microsoft.ews_account import EwsConnection, EwsEndpoint
from mailbot.adapters.microsoft.ews_errors import EWS_FAILURES, ServerBusy, translate
from mailbot.domain.errors import PermanentError, TransientError
from mailbot.services.ports import OutgoingEmail

log = logging.getLogger(__name__)

_RECIPIENT_HEADERS = (b"to", b"cc", b"bcc", b"resent-to", b"resent-cc", b"resent-bcc")


class EwsMailer:
    """Sends as ``address`` through ``service_endpoint``; errors sorted as for the mailbox."""

    def __init__(
        self, address: str, *, service_endpoint: str, username: str = "",
        password: str | None = None, token_provider: Callable[[], str] | None = None,
        auth_type: str = "ntlm", ca_file: str = "", timeout: float = 30, save_copy: bool = True,
    ):
        self.address = address
        self._connection = EwsConnection(EwsEndpoint(
            service_endpoint, address, username or address, password, token_provider, auth_type,
            ca_file, timeout, f"mailer {address}"))
        self._save_copy = save_copy
        self._uncertain: set[str] = set()  # Message-IDs whose last attempt may have been sent

    def send(self, email: OutgoingEmail) -> None:
        if not email.recipients:
            raise PermanentError(f"message {email.message_id} has no recipients")
        endpoint = self._connection.endpoint
        doing = f"sending {email.message_id}"
        try:
            account = self._connection.account()
            if email.message_id in self._uncertain and self._in_sent_items(account, email.message_id):
                log.info("%s was sent by an earlier attempt; not sending it again", email.message_id)
            else:
                self._create(account, email)
        except EWS_FAILURES as error:
            translated = translate(error, doing, endpoint=endpoint.service_endpoint,
                                   username=endpoint.username)
            if isinstance(translated, TransientError) and not isinstance(translated, ServerBusy):
                self._uncertain.add(email.message_id)
            raise translated from error
        self._uncertain.discard(email.message_id)

    def close(self) -> None:
        self._connection.close()

    def _create(self, account: Account, email: OutgoingEmail) -> None:
        written = _header_recipients(email.data)
        wanted = {address.lower() for address in email.recipients}
        if written == wanted:
            message = Message(account=account, mime_content=email.data)
        else:
            message = Message(account=account, mime_content=_without_recipient_headers(email.data),
                              to_recipients=[Mailbox(email_address=a) for a in email.recipients])
        message.send(save_copy=self._save_copy)

    def _in_sent_items(self, account: Account, message_id: str) -> bool:
        if not self._save_copy:
            return False  # no copy to look for: a retry may deliver twice, as with SMTP
        wanted = message_id if message_id.startswith("<") else f"<{message_id}>"
        return account.sent.filter(message_id=wanted).only("id").exists()


def _header_recipients(data: bytes) -> set[str]:
    headers = BytesHeaderParser(policy=compat32).parsebytes(data, headersonly=True)
    values = [str(v) for name in ("to", "cc", "bcc") for v in headers.get_all(name, [])]
    return {address.lower() for _, address in getaddresses(values) if address}


def _without_recipient_headers(data: bytes) -> bytes:
    """The message with its To, Cc and Bcc lines (and their folded continuations) taken out."""
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator:
        head, separator, body = data.partition(b"\n\n")
    newline = b"\r\n" if separator == b"\r\n\r\n" else b"\n"
    kept, skipping = [], False
    for line in head.split(newline):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        skipping = line.split(b":", 1)[0].strip().lower() in _RECIPIENT_HEADERS
        if not skipping:
            kept.append(line)
    return newline.join(kept) + separator + body
