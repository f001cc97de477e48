"""Outgoing mail as RFC 5322 bytes: the last step before a queued message is handed to a Mailer.

``build_email`` sets the headers CONTRACT section 4 asks of everything mailbot sends
(From the partnership address, Auto-Submitted, X-Auto-Response-Suppress, our loop header, a
Message-ID of our own) and always carries plain text and HTML. Names, subjects and
addresses often come from inbound mail, so every header value is flattened to one line
here: a CR or LF in a value would let a sender inject headers of their own.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.headerregistry import Address as HeaderAddress
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import format_datetime
from typing import Literal

from mailbot.domain.errors import PermanentError
from mailbot.domain.notices import OWN_MESSAGE_ID_PREFIX
from mailbot.domain.text import printable
from mailbot.intake.headers import Address, normalise_message_id, single_line
from mailbot.intake.message import LOOP_HEADER

AutoSubmitted = Literal["auto-generated", "auto-replied"]
_NAME_ADDR = re.compile(r"^(.*)<([^<>]*)>\s*$")
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")
_RESERVED = {
    "from", "to", "cc", "subject", "date", "message-id", "in-reply-to", "references",
    "auto-submitted", "x-auto-response-suppress", LOOP_HEADER.lower(), "mime-version",
    "content-type", "content-transfer-encoding", "bcc",
}


class _CachingHeaderRegistry(HeaderRegistry):
    """The standard registry makes a new header class with type() on every lookup, which
    was a third of the cost of building a message; the classes hold no state, so one per
    header name serves every message."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        if key not in self._classes:
            self._classes[key] = super().__getitem__(name)
        return self._classes[key]


_POLICY = default.clone(header_factory=_CachingHeaderRegistry())


def make_message_id(domain: str) -> str:
    """A new, unguessable Message-ID in bare form (no angle brackets), as intake stores them."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    return (f"{OWN_MESSAGE_ID_PREFIX}{stamp}.{secrets.token_hex(10)}"
            f"@{single_line(domain).strip().lower()}")


def build_email(
    *,
    from_addr: Address | str,
    to: Sequence[str],
    cc: Sequence[str] = (),
    subject: str,
    text: str,
    html: str,
    message_id: str,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    auto_submitted: AutoSubmitted,
    attachments: Sequence[tuple[str, str, bytes]] = (),
    inline_images: Sequence[tuple[str, str, str, bytes]] = (),
    date: datetime,
    extra_headers: Mapping[str, str] | None = None,
) -> bytes:
    """The message as CRLF bytes ready for SMTP or a .eml file. ``inline_images`` are
    (Content-ID, filename, MIME type, data) the HTML shows as ``<img src="cid:...">``."""
    if auto_submitted not in ("auto-generated", "auto-replied"):
        raise ValueError(f"Auto-Submitted must be auto-generated or auto-replied: {auto_submitted}")
    if date.tzinfo is None:
        raise ValueError("the Date of an outgoing message needs a time zone")
    sender = _header_address(from_addr)
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = sender
    msg["To"] = [_header_address(item) for item in to]
    if cc:
        msg["Cc"] = [_header_address(item) for item in cc]
    msg["Subject"] = single_line(subject)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = _bracketed(message_id)
    if in_reply_to:
        msg["In-Reply-To"] = _bracketed(in_reply_to)
    if references:
        msg["References"] = " ".join(_bracketed(item) for item in references)
    msg["Auto-Submitted"] = auto_submitted
    msg["X-Auto-Response-Suppress"] = "All"
    msg[LOOP_HEADER] = sender.addr_spec.lower()
    _add_extra(msg, extra_headers or {})
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    for content_id, filename, mime_type, data in inline_images:
        _add_related(msg.get_payload()[-1], content_id, filename, mime_type, data)
    for filename, mime_type, data in attachments:
        _attach(msg, filename, mime_type, data)
    return msg.as_bytes(policy=SMTP)


def _header_address(value: Address | str) -> HeaderAddress:
    if isinstance(value, Address):
        name, email = value.name, value.email
    else:
        # Read "Name <address>" by its last angle bracket, so that a display name holding
        # commas, colons or another address stays one name rather than extra recipients.
        match = _NAME_ADDR.match(single_line(value))
        name, email = (match.group(1), match.group(2)) if match else ("", single_line(value))
        name = name.strip().strip('"').strip()
    try:
        return HeaderAddress(display_name=single_line(printable(name)),
                             addr_spec=single_line(email))
    except (ValueError, IndexError, TypeError) as error:
        raise PermanentError(f"not a usable email address: {single_line(str(value))!r}") from error


def _bracketed(message_id: str) -> str:
    bare = normalise_message_id(single_line(message_id))
    if not bare or "@" not in bare:
        raise ValueError(f"not a Message-ID: {message_id!r}")
    return f"<{bare}>"


def _add_extra(msg: EmailMessage, headers: Mapping[str, str]) -> None:
    for name, value in headers.items():
        if not _HEADER_NAME.match(name) or name.lower() in _RESERVED:
            raise ValueError(f"header {name!r} cannot be set as an extra header")
        msg[name] = single_line(value)


def _attach(msg: EmailMessage, filename: str, mime_type: str, data: bytes) -> None:
    kind, *params = [item.strip() for item in single_line(mime_type).split(";")]
    maintype, _, subtype = kind.partition("/")
    extra = dict(item.split("=", 1) for item in params if "=" in item)
    msg.add_attachment(
        data,
        maintype=maintype or "application",
        subtype=subtype or "octet-stream",
        filename=single_line(filename).replace("/", "_").replace("\\", "_") or "attachment",
        params={key.strip(): value.strip().strip('"') for key, value in extra.items()},
    )


def _add_related(html_part: EmailMessage, content_id: str, filename: str, mime_type: str,
                 data: bytes) -> None:
    """An image beside the HTML in multipart/related, as Outlook expects an inline picture:
    marked inline, with the Content-ID the HTML's cid: link names."""
    maintype, _, subtype = single_line(mime_type).partition("/")
    html_part.add_related(data, maintype=maintype, subtype=subtype, cid=_bracketed(content_id),
                          disposition="inline",
                          filename=single_line(filename).replace("/", "_").replace("\\", "_"))
