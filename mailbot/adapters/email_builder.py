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
from email.errors import HeaderParseError
from email.headerregistry import Address as HeaderAddress
from email.utils import format_datetime
from functools import lru_cache
from typing import Literal

from mailbot.adapters import mime_writer as mime
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
    sender_text, sender_address = _header_address(from_addr)
    lines = [mime.address_header("From", [sender_text]),
             mime.address_header("To", [_header_address(item)[0] for item in to])]
    if cc:
        lines.append(mime.address_header("Cc", [_header_address(item)[0] for item in cc]))
    lines += [mime.header("Subject", single_line(subject)), _date_line(date, date.utcoffset()),
              mime.header("Message-ID", _bracketed(message_id))]
    if in_reply_to:
        lines.append(mime.header("In-Reply-To", _bracketed(in_reply_to)))
    if references:
        lines.append(mime.header("References", " ".join(_bracketed(item) for item in references)))
    lines += [f"Auto-Submitted: {auto_submitted}\r\n", "X-Auto-Response-Suppress: All\r\n",
              mime.header(LOOP_HEADER, sender_address.lower())]
    lines += _extra(extra_headers or {})
    html_part = mime.text_part(html, "html")
    if inline_images:
        html_part = mime.multipart("related", [html_part, *(
            _inline(content_id, filename, mime_type, data)
            for content_id, filename, mime_type, data in inline_images)])
    body = mime.multipart("alternative", [mime.text_part(text, "plain"), html_part])
    if attachments:
        body = mime.multipart("mixed", [body, *(
            _attachment(filename, mime_type, data) for filename, mime_type, data in attachments)])
    content_headers, content = body
    return "".join([*lines, "MIME-Version: 1.0\r\n", content_headers, "\r\n"]).encode(
        "ascii") + content


@lru_cache(maxsize=4096)
def _header_address(value: Address | str) -> tuple[str, str]:
    """The address as header text (``Name <address>``, encoded as needed) and the bare
    address; PermanentError when it cannot be mailed (which is not kept: it is raised
    again on every call). Kept per value, cleaning it included: the partnership's own
    address and its business managers' are on most messages."""
    if isinstance(value, Address):
        name, email = value.name, value.email
    else:
        # Read "Name <address>" by its last angle bracket, so that a display name holding
        # commas, colons or another address stays one name rather than extra recipients.
        match = _NAME_ADDR.match(single_line(value))
        name, email = (match.group(1), match.group(2)) if match else ("", single_line(value))
        name = name.strip().strip('"').strip()
    return _formatted(single_line(printable(name)), single_line(email), single_line(str(value)))


@lru_cache(maxsize=4096)
def _formatted(name: str, email: str, shown: str) -> tuple[str, str]:
    """Checked by the standard library's address parser (once per address: the same few
    partnership and manager addresses are on most messages)."""
    try:
        parsed = HeaderAddress(display_name=name, addr_spec=email)
        addr_spec = parsed.addr_spec
        if not parsed.domain.isascii():  # an international domain goes as its IDNA name
            addr_spec = f"{addr_spec.rpartition('@')[0]}@{parsed.domain.encode('idna').decode()}"
        addr_spec.encode("ascii")  # an address header carries only ASCII (no SMTPUTF8 here)
    except (ValueError, IndexError, TypeError, HeaderParseError) as error:
        raise PermanentError(f"not a usable email address: {shown!r}") from error
    return mime.mailbox(name, addr_spec), addr_spec


@lru_cache(maxsize=64)
def _date_line(date: datetime, offset: object) -> str:
    """The Date header, once per moment and offset: the messages a change causes share
    one, and ``format_datetime`` was a tenth of building each. The offset is in the key
    because the same moment in another zone compares equal but is written differently."""
    return f"Date: {format_datetime(date)}\r\n"


def _bracketed(message_id: str) -> str:
    bare = normalise_message_id(single_line(message_id))
    if not bare or "@" not in bare:
        raise ValueError(f"not a Message-ID: {message_id!r}")
    return f"<{bare}>"


def _extra(headers: Mapping[str, str]) -> list[str]:
    lines = []
    for name, value in headers.items():
        if not _HEADER_NAME.match(name) or name.lower() in _RESERVED:
            raise ValueError(f"header {name!r} cannot be set as an extra header")
        lines.append(mime.header(name, single_line(value)))
    return lines


def _safe_filename(filename: str, fallback: str) -> str:
    return single_line(filename).replace("/", "_").replace("\\", "_") or fallback


def _attachment(filename: str, mime_type: str, data: bytes) -> tuple[str, bytes]:
    kind, *params = [item.strip() for item in single_line(mime_type).split(";")]
    maintype, _, subtype = kind.partition("/")
    extra = dict(item.split("=", 1) for item in params if "=" in item)
    return mime.binary_part(
        maintype, subtype, data, disposition="attachment",
        filename=_safe_filename(filename, "attachment"),
        params={key.strip(): value.strip().strip('"') for key, value in extra.items()})


def _inline(content_id: str, filename: str, mime_type: str, data: bytes) -> tuple[str, bytes]:
    """An image beside the HTML in multipart/related, as Outlook expects an inline picture:
    marked inline, with the Content-ID the HTML's cid: link names."""
    maintype, _, subtype = single_line(mime_type).partition("/")
    return mime.binary_part(maintype, subtype, data, disposition="inline",
                            filename=_safe_filename(filename, "image"),
                            content_id=_bracketed(content_id))
