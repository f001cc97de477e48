"""The MIME walk behind ``intake.message``: bodies, attachments, forwarded mail and reports.

``walk`` visits the parts of one message (not those of messages forwarded inside it, which
are handed back untouched for the parser to read on their own) and gathers what the
``InboundMessage`` needs. It never raises on malformed MIME; what it had to guess at it
records as a defect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32

from mailbot.intake.headers import (
    decoded,
    message_ids,
    normalise_message_id,
    single_line,
    wider_charset,
)

MAX_PARTS = 1000
_DELIVERY_STATUS = {"message/delivery-status", "message/global-delivery-status"}
_DISPOSITION = {"message/disposition-notification", "message/global-disposition-notification"}
_HEADERS_ONLY = {"text/rfc822-headers", "message/rfc822-headers", "message/global-headers",
                 "message/partial"}
_MESSAGES = {"message/rfc822", "message/global"}
QUOTED_MESSAGE_ID = re.compile(r"^[ \t>]*Message-I[dD]\s*:\s*(<[^>\s]+>|\S+@\S+)", re.MULTILINE)
_STATUS_LINE = re.compile(r"^([A-Za-z][\w-]*)\s*:\s*(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Attachment:
    """A file carried by a message. ``filename`` is for display only, never for a path."""

    filename: str
    declared_type: str
    data: bytes


@dataclass
class Walked:
    """What one walk over a message's parts gathered; mutable only while walking."""

    text: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    embedded: list[Message] = field(default_factory=list)
    embedded_ids: list[str] = field(default_factory=list)
    report_type: str = ""
    status_blocks: list[dict[str, str]] = field(default_factory=list)
    has_delivery_status: bool = False
    has_disposition: bool = False
    defects: list[str] = field(default_factory=list)
    parts: int = 0

    def body_message_ids(self) -> list[str]:
        """Message-IDs quoted in the text body, as non-standard bounces quote the original."""
        text = "\n".join(self.text)
        return [normalise_message_id(found) for found in QUOTED_MESSAGE_ID.findall(text)]


def walk(part: Message, walked: Walked) -> None:
    walked.parts += 1
    if walked.parts > MAX_PARTS:
        if walked.parts == MAX_PARTS + 1:
            walked.defects.append(f"more than {MAX_PARTS} MIME parts; the rest were ignored")
        return
    walked.defects.extend(type(defect).__name__ for defect in getattr(part, "defects", ()))
    if walked.parts > 1 and (own_id := _raw_message_id(part)):
        # A body part with a Message-ID of its own is an original pasted in without a
        # message/rfc822 wrapper, as some older servers return bounced mail.
        walked.embedded_ids.extend(message_ids(own_id))
    ctype = part.get_content_type()
    if ctype in _MESSAGES:
        _embedded(part, walked)
    elif ctype in _DELIVERY_STATUS:
        walked.has_delivery_status = True
        walked.status_blocks.extend(_status_blocks(part))
    elif ctype in _DISPOSITION:
        walked.has_disposition = True
    elif ctype in _HEADERS_ONLY:
        _headers_only(part, walked)
    elif part.is_multipart():
        _multipart(part, ctype, walked)
    elif part.get_content_maintype() == "multipart":
        _broken_multipart(part, walked)
    elif ctype in ("text/plain", "text/html") and not _is_attachment(part):
        target = walked.html if ctype == "text/html" else walked.text
        target.append(decode_text(part))
    else:
        walked.attachments.append(_attachment(part))


def _multipart(part: Message, ctype: str, walked: Walked) -> None:
    if ctype == "multipart/report" and not walked.report_type:
        walked.report_type = str(part.get_param("report-type", "") or "").lower()
    payload = part.get_payload()
    for sub in payload if isinstance(payload, list) else ():
        if isinstance(sub, Message):
            walk(sub, walked)


def _embedded(part: Message, walked: Walked) -> None:
    inner = _inner_message(part)
    walked.embedded.append(inner)
    walked.embedded_ids.extend(_ids_of(inner))


def _inner_message(part: Message) -> Message:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    if isinstance(inner, Message) and inner.keys():
        return inner
    # Some servers put a blank line before the embedded headers, which leaves the parser an
    # empty header block and the real headers in the body; parse again without it.
    return message_from_bytes(payload_bytes(part).lstrip(b"\r\n"), policy=compat32)


def _ids_of(msg: Message) -> tuple[str, ...]:
    """The Message-ID of an embedded original, even when broken folding hid it in the body."""
    found = message_ids(_raw_message_id(msg))
    body = msg.get_payload()
    if found or not isinstance(body, str):
        return found
    return tuple(normalise_message_id(item) for item in QUOTED_MESSAGE_ID.findall(body))


def _broken_multipart(part: Message, walked: Walked) -> None:
    """A multipart whose boundary never appears: keep its text so nothing is hidden."""
    walked.defects.append("multipart without its boundary; read as plain text")
    walked.text.append(_decode_bytes(payload_bytes(part), "utf-8"))


def _headers_only(part: Message, walked: Walked) -> None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        # The parser reads message/rfc822-headers as a message; its headers are what we want.
        headers = payload[0]
    else:
        headers = BytesHeaderParser(policy=compat32).parsebytes(payload_bytes(part))
    walked.embedded_ids.extend(message_ids(_raw_message_id(headers)))


def _raw_message_id(msg: Message) -> str | None:
    for key, value in msg.raw_items():
        if key.lower() == "message-id":
            return str(value)
    return None


def _status_blocks(part: Message) -> list[dict[str, str]]:
    """The per-recipient fields of a delivery-status part (RFC 3464), keys lowercased."""
    payload = part.get_payload()
    if isinstance(payload, list):
        texts = [_block_text(block) for block in payload if isinstance(block, Message)]
    else:
        texts = _decode_bytes(payload_bytes(part), "utf-8").split("\n\n")
    blocks = []
    for text in texts:
        fields = {key.lower(): single_line(value) for key, value in _STATUS_LINE.findall(text)}
        if fields:
            blocks.append(fields)
    return blocks


def _block_text(block: Message) -> str:
    lines = [f"{key}: {value}" for key, value in block.raw_items()]
    body = block.get_payload()
    if isinstance(body, str) and body.strip():
        # The global variant (RFC 6533) is read as one block with the rest as its body.
        lines.append(body)
    return "\n".join(lines)


def _is_attachment(part: Message) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    return disposition == "attachment" or (disposition != "inline" and bool(_filename(part)))


def _attachment(part: Message) -> Attachment:
    return Attachment(
        filename=sanitise_filename(_filename(part) or ""),
        declared_type=part.get_content_type(),
        data=payload_bytes(part),
    )


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename() or part.get_param("name")
    except Exception:  # noqa: BLE001 - malformed RFC 2231 parameters raise assorted errors
        return None
    if isinstance(name, tuple):
        name = name[2]
    return decoded(str(name)) if name else None


def sanitise_filename(name: str) -> str:
    """A filename safe to show: no directories, no control characters, of sane length."""
    base = re.split(r"[\\/]", single_line(name))[-1].strip(" .")
    return base[:150] or "attachment"


def payload_bytes(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - a broken transfer encoding; keep what is there
        data = None
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    if isinstance(payload, list):
        return b"".join(sub.as_bytes() for sub in payload if isinstance(sub, Message))
    return str(payload or "").encode("utf-8", "surrogateescape")


def decode_text(part: Message) -> str:
    declared = part.get_content_charset() or "utf-8"
    return _decode_bytes(payload_bytes(part), declared).replace("\r\n", "\n").replace("\r", "\n")


def _decode_bytes(data: bytes, declared: str) -> str:
    for charset in (wider_charset(declared), "utf-8"):
        try:
            return data.decode(charset)
        except (LookupError, UnicodeError):
            continue
    # Mislabelled 8-bit text: latin-1 never fails and keeps every byte visible.
    return data.decode("latin-1")
