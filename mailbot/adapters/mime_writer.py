"""MIME written straight to bytes: header lines, text and binary parts, multiparts.

``email.message.EmailMessage`` builds every header through the policy's header registry,
parsing each value it was just given back into a tree and folding it again; that was
2.7 ms of the 3.1 ms it took to compose one email (issue 19). mailbot sends one shape of
message, so it writes that shape itself: RFC 2047 encoded words (``email.header``) for
names and subjects that are not plain ASCII, RFC 2231 for such file names, quoted-printable
or base64 bodies, CRLF line ends and header lines folded under 78 characters. Values reach
here already flattened to one line (``single_line``), so no value can start a header.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import time
from email.header import Header
from email.utils import encode_rfc2231
from itertools import groupby

MAX_LINE = 78  # RFC 5322's "should"; every line here stays under it but for one long word
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')
_ESCAPED = re.compile(r'[\\"]')
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Tried only at the start of each line: unanchored, the search counted up to 79 bytes again
# from every byte of every shorter line.
_LONG_LINE = re.compile(rb"(?m)^[^\n]{%d}" % (MAX_LINE + 1))
# Lines of text parts and their quoted-printable encoding (``_quoted_printable``). Some hold
# a child's name: emptied when full and at least every hour, so such a line does not stay in
# a quiet worker's memory long after its email (nor long after its case is erased).
_QP_LINES: dict[bytes, bytes] = {}
_QP_KEPT = 4096
_QP_KEPT_SECONDS = 3600.0
_qp_emptied_at = time.monotonic()


def header(name: str, value: str) -> str:
    """``Name: value`` as folded CRLF lines. Runs of words that are not plain ASCII become
    encoded words; the plain ones (a case reference in a subject) stay readable as they are."""
    if _plain(value):
        if len(name) + 2 + len(value) <= MAX_LINE:
            return f"{name}: {value}\r\n"
        plain_words = value.split(" ")
        if max(map(len, plain_words)) < _LONG_WORD:  # every word plain: one run, as below
            return _fold([f"{name}:", *plain_words], " ") + "\r\n"
    words: list[str] = []
    for plain, run in groupby(value.split(" "), key=_plain_word):
        run_words = list(run)
        words += run_words if plain else _encoded_words(" ".join(run_words))
    return _fold([f"{name}:", *words], " ") + "\r\n"


def address_header(name: str, addresses: list[str]) -> str:
    """An address list (each item already formatted by ``mailbox``), folded between words."""
    items = [f"{item}," for item in addresses[:-1]] + addresses[-1:]
    return _fold([f"{name}:", *" ".join(items).split(" ")], " ") + "\r\n"


def mailbox(display_name: str, addr_spec: str) -> str:
    """``Name <address>``: the name quoted when it holds specials, encoded when not ASCII."""
    if not display_name:
        return addr_spec
    if not _plain(display_name):
        return f"{' '.join(_encoded_words(display_name))} <{addr_spec}>"
    if _SPECIALS.search(display_name):
        return f"{_quoted(display_name)} <{addr_spec}>"
    return f"{display_name} <{addr_spec}>"


def text_part(text: str, subtype: str) -> tuple[str, bytes]:
    """A UTF-8 text part as (its header lines, its body). Short lines go as they are (7bit,
    or 8bit when not ASCII, as ``email`` chose before); any line over 78 characters makes the
    part quoted-printable, whose lines stay under 77."""
    if "\r" in text:  # rendered text has none: copying 10 kB twice for nothing
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    data = text.encode("utf-8")
    if not data.endswith(b"\n"):
        data += b"\n"
    # A line over 78 bytes, found without splitting the part into a list of its lines.
    if _LONG_LINE.search(data) is None:
        encoding, body = ("7bit" if data.isascii() else "8bit"), data.replace(b"\n", b"\r\n")
    else:  # lines kept with CRLF ends already
        encoding, body = "quoted-printable", _quoted_printable(data)
    return (f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
            f"Content-Transfer-Encoding: {encoding}\r\n"), body


def _quoted_printable(data: bytes) -> bytes:
    """``binascii.b2a_qp`` of ``data`` (text whose every line ends in LF), a line at a time,
    with CRLF line ends, each line's encoding kept for the next part that holds it.
    Quoted-printable encodes each line on its own (soft breaks, trailing blanks and a lone
    dot are all matters of one line), so the lines joined are the part encoded whole; and
    most lines of a partnership's emails (the base template's, its guidance, its commands)
    are the same in every one. Encoding each part whole had been a tenth of acting on a referral."""
    global _qp_emptied_at
    if time.monotonic() - _qp_emptied_at > _QP_KEPT_SECONDS:
        _QP_LINES.clear()
        _qp_emptied_at = time.monotonic()
    encoded = []
    for line in data.splitlines(keepends=True):
        kept = _QP_LINES.get(line)
        if kept is None:
            if len(_QP_LINES) >= _QP_KEPT:
                _QP_LINES.clear()
            kept = _QP_LINES[line] = binascii.b2a_qp(line, istext=True).replace(b"\n", b"\r\n")
        encoded.append(kept)
    return b"".join(encoded)


def binary_part(maintype: str, subtype: str, data: bytes, *, disposition: str, filename: str,
                params: dict[str, str] | None = None, content_id: str = "") -> tuple[str, bytes]:
    """A base64 part (an attachment or an inline picture) as (its header lines, its body)."""
    kind = f"{_token(maintype, 'application')}/{_token(subtype, 'octet-stream')}"
    type_line = _fold([f"Content-Type: {kind}" + (";" if params else ""),
                       *_params(params or {})], " ")
    lines = [f"{type_line}\r\n", "Content-Transfer-Encoding: base64\r\n",
             _fold([f"Content-Disposition: {disposition};", _filename(filename)], " ") + "\r\n"]
    if content_id:
        lines.append(f"Content-ID: {content_id}\r\n")
    return "".join(lines), base64.encodebytes(data).replace(b"\n", b"\r\n")


def multipart(subtype: str, parts: list[tuple[str, bytes]]) -> tuple[str, bytes]:
    """Parts joined under a boundary that none of them contains, as (header lines, body)."""
    whole = [head.encode("ascii") + b"\r\n" + body for head, body in parts]
    boundary = f"=_mailbot_{secrets.token_hex(12)}"
    while any(boundary.encode("ascii") in item for item in whole):
        boundary = f"=_mailbot_{secrets.token_hex(12)}"
    delimiter = f"--{boundary}".encode("ascii")
    body = b"".join(delimiter + b"\r\n" + item + b"\r\n" for item in whole) + delimiter + b"--\r\n"
    return f'Content-Type: multipart/{subtype};\r\n boundary="{boundary}"\r\n', body


def _encoded_words(text: str) -> list[str]:
    """RFC 2047 encoded words for ``text`` (UTF-8, each under 76 characters); the spaces
    between them are not part of the text, which a reader joins back without them."""
    return Header(text, "utf-8", maxlinelen=74).encode(linesep="\n").split("\n ")


_LONG_WORD = MAX_LINE - 12  # a word this long is encoded, to be folded within a line


def _plain_word(word: str) -> bool:
    return _plain(word) and len(word) < _LONG_WORD


def _plain(value: str) -> bool:
    """ASCII that no reader would take for an encoded word."""
    return value.isascii() and "=?" not in value


def _fold(words: list[str], separator: str) -> str:
    """Words joined by ``separator``, breaking to a new line (CRLF and a space) rather than
    passing 78 characters. The first two words (a header's name and the start of its value)
    always share a line; a word longer than a line keeps a line of its own."""
    lines, line = [], separator.join(words[:2])
    for word in words[2:]:
        if len(line) + len(separator) + len(word) > MAX_LINE:
            lines.append(line)
            line = word
        else:
            line = f"{line}{separator}{word}"
    return "\r\n ".join([*lines, line])


def _quoted(value: str) -> str:
    return '"' + _ESCAPED.sub(lambda match: "\\" + match.group(0), value) + '"'


def _token(value: str, fallback: str) -> str:
    value = value.strip().lower()
    return value if _TOKEN.match(value) else fallback


def _params(params: dict[str, str]) -> list[str]:
    items = [f"{name}={_quoted(value)}" for name, value in params.items()
             if _TOKEN.match(name) and value.isascii()]
    return [f"{item};" for item in items[:-1]] + items[-1:]


def _filename(name: str) -> str:
    if name.isascii():
        return f"filename={_quoted(name)}"
    return f"filename*={encode_rfc2231(name, 'utf-8')}"
