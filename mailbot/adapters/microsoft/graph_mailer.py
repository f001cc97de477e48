"""The Graph mailer: sends the MIME mailbot built through the mailbox's own Microsoft 365 account.

``POST /users/{user}/sendMail`` with ``Content-Type: text/plain`` and the base64 of the message
is Graph's documented way to send MIME as it is; ``202 Accepted`` means sent (and saved to
Sent Items). Graph takes the recipients from the message's To, Cc and Bcc headers, as there is
no separate envelope, so when the envelope differs (``redirect_all_to`` in staging) the
headers are readdressed to it, keeping the original To in ``X-Mailbot-Original-To``; otherwise
the bytes go out untouched. Errors follow the mailer contract: throttling, 5xx and network
trouble are TransientError, other 4xx (ErrorInvalidRecipients, a message too large) are
PermanentError, refused tokens and permissions AuthenticationFailed.
"""

from __future__ import annotations

import base64
import logging
import re
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses

from mailbot.adapters.microsoft.graph_client import GRAPH_URL, MAX_THROTTLE_WAIT, GraphClient
from mailbot.domain.errors import PermanentError
from mailbot.services.ports import OutgoingEmail, TokenProvider

log = logging.getLogger(__name__)

# Graph refuses requests over 4 MB; base64 makes the MIME a third larger than it is.
MAX_REQUEST_BYTES = 4 * 1024 * 1024
_ADDRESS_HEADERS = ("to", "cc", "bcc")
_HEADER_END = re.compile(rb"\r?\n\r?\n")


class GraphMailer:
    """Sends as ``user`` (Mail.Send application permission); one instance per mailbox."""

    def __init__(
        self, user: str, token_provider: TokenProvider, *, base_url: str = GRAPH_URL,
        max_concurrent_requests: int = 4, timeout: float = 30, verify: bool | str = True,
        max_throttle_wait: float = MAX_THROTTLE_WAIT,
    ):
        self.user = user
        self._client = GraphClient(token_provider, user, base_url=base_url, timeout=timeout, verify=verify,
                                   max_concurrent_requests=max_concurrent_requests,
                                   max_throttle_wait=max_throttle_wait)

    def send(self, email: OutgoingEmail) -> None:
        if not email.recipients:
            raise PermanentError(f"message {email.message_id} has no recipients")
        body = base64.b64encode(addressed_to(email.data, email.recipients))
        if len(body) > MAX_REQUEST_BYTES:
            raise PermanentError(f"message {email.message_id} is {len(email.data)} bytes; Graph's sendMail"
                                 " takes about 3 MB of MIME at most. Send it through SMTP instead.")
        # Not retried on a dropped connection: Graph may have sent it, and a repeat would duplicate.
        self._client.request("POST", self._client.user_path("sendMail"), content=body,
                             headers={"Content-Type": "text/plain"}, expect=(202,),
                             doing=f"sending {email.message_id}", permission="Mail.Send",
                             retry_dropped=False)
        log.info("Graph %s: sent %s", self.user, email.message_id)

    def close(self) -> None:
        self._client.close()


def addressed_to(data: bytes, recipients: tuple[str, ...]) -> bytes:
    """``data`` itself if its To/Cc/Bcc name exactly ``recipients``; else readdressed to them."""
    match = _HEADER_END.search(data)
    if match is None:
        raise PermanentError("the message has no end of headers")
    headers = BytesHeaderParser(policy=compat32).parsebytes(data[:match.end()])
    named = [address for _, address in getaddresses(
        [str(value) for name in _ADDRESS_HEADERS for value in headers.get_all(name, [])])]
    if {a.lower() for a in named if a} == {r.lower() for r in recipients}:
        return data
    if any("\r" in r or "\n" in r for r in recipients):
        raise PermanentError("a recipient address holds a line break")  # header injection
    newline = b"\r\n" if data[match.start():match.start() + 2] == b"\r\n" else b"\n"
    kept = _without_address_headers(data[:match.start()].split(newline))
    original = ", ".join(a for a in named if a) or "(none)"
    added = [f"To: {', '.join(recipients)}".encode(), f"X-Mailbot-Original-To: {original}".encode()]
    return newline.join(added + kept) + data[match.start():]


def _without_address_headers(lines: list[bytes]) -> list[bytes]:
    kept: list[bytes] = []
    skipping = False
    for line in lines:
        if line[:1] in (b" ", b"\t"):  # a folded continuation belongs to the header above it
            if not skipping:
                kept.append(line)
            continue
        name = line.split(b":", 1)[0].strip().lower().decode("ascii", "replace")
        skipping = name in _ADDRESS_HEADERS
        if not skipping:
            kept.append(line)
    return kept
