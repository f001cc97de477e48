"""Header reading for the message parser: raw values, RFC 2047 decoding, addresses, Message-IDs.

Used by ``intake.message`` while it turns inbound bytes into an ``InboundMessage``. Every
function here works on the raw header text, so it behaves the same whichever ``email``
policy parsed the message, and none of them raises on malformed input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.header import decode_header
from email.headerregistry import Address as HeaderAddress
from email.headerregistry import HeaderRegistry
from email.message import Message
from functools import lru_cache

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_ANGLE_ID = re.compile(r"<([^<>]*)>")
_ANGLE_ADDR = re.compile(r"<([^<>]*)>\s*$")
# The class the registry makes for a From header, made once: the registry makes a new
# class at each look-up (a class and its cycle an address parsed, left to the collector).
_FROM_HEADER = HeaderRegistry()["from"]
_WIDER_CHARSETS = {"gb2312": "gb18030", "gbk": "gb18030", "ks_c_5601-1987": "cp949"}
# The shape most address headers take, whose reading by the header registry is known before
# it is asked: ``Display Name <local@domain>`` or ``local@domain``, RFC 5322's dot-atoms with
# words of atext one space apart before the angle address, and no quotes, comments, groups or
# encoded words (so no "=" or "?" anywhere: the registry decodes ``=?utf-8?q?j?=@x`` as an
# encoded word). The registry read each in about 65 us; anything else still goes to it (the
# two are property-tested to agree).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]"  # atext less "=" and "?"
_DOT_ATOM = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_PLAIN_ADDRESS = re.compile(rf"(?:(?P<name>{_ATEXT}+(?: {_ATEXT}+)*) <(?P<angle>{_DOT_ATOM}@{_DOT_ATOM})>"
                            rf"|(?P<bare>{_DOT_ATOM}@{_DOT_ATOM}))")
_PLAIN_ADDR_SPEC = re.compile(rf"{_DOT_ATOM}@{_DOT_ATOM}")


@dataclass(frozen=True)
class Address:
    """One mailbox from an address header: the display name and the lowercased address."""

    name: str
    email: str

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]


@lru_cache(maxsize=1024)
def mailable(address: str) -> bool:
    """Whether a mailer can put this address on a message: ``tom..reid@example.org`` looks
    like an address but is not one (RFC 5322's dot-atom), and the builder refuses it. Kept
    per address: a referral asks it of its referrer's twice, and the standard library's
    parser reads one in about 35 us (a plain dot-atom address needs no reading)."""
    return bool(_PLAIN_ADDR_SPEC.fullmatch(address)) or _mailable_by_registry(address)


def _mailable_by_registry(address: str) -> bool:
    try:
        HeaderAddress(addr_spec=address.strip())
    except (ValueError, IndexError, TypeError):
        return False
    return "@" in address


def single_line(value: str) -> str:
    """Collapse CR, LF and other control characters into single spaces."""
    return " ".join(_CONTROL.sub(" ", value).split())


class RawHeaders:
    """A message's headers by lowercased name, each name's values read once. Parsing a
    message asks for some thirty names; finding each by a scan of ``Message.raw_items()``
    had been a tenth of parsing a referral."""

    __slots__ = ("names", "_raw", "_read")

    def __init__(self, msg: Message) -> None:
        self.names: list[str] = []  # every header's name, lowercased, topmost first
        self._raw: dict[str, list[object]] = {}
        for key, value in msg.raw_items():
            name = key.lower()
            self.names.append(name)
            self._raw.setdefault(name, []).append(value)
        self._read: dict[str, tuple[str, ...]] = {}

    def values(self, name: str) -> tuple[str, ...]:
        """Every raw value of header ``name``, topmost first, undecoded but unfolded."""
        name = name.lower()
        read = self._read.get(name)
        if read is None:
            read = self._read[name] = tuple(single_line(_unescape(str(value)))
                                            for value in self._raw.get(name, ()))
        return read

    def first(self, name: str) -> str | None:
        values = self.values(name)
        return values[0] if values else None


def _unescape(value: str) -> str:
    """Turn the parser's surrogate-escaped 8-bit header bytes back into text, as UTF-8."""
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:
        return value.encode("utf-8", "replace").decode("utf-8")


def decoded(value: str) -> str:
    """Decode RFC 2047 encoded words, leaving anything undecodable as it came."""
    try:
        chunks = decode_header(value)
    except (ValueError, TypeError, AssertionError, UnicodeError):
        return value
    text = "".join(_decode_chunk(chunk, charset) for chunk, charset in chunks)
    return single_line(text)


def _decode_chunk(chunk: bytes | str, charset: str | None) -> str:
    if isinstance(chunk, str):
        return chunk
    if charset is None:
        # decode_header hands back the plain runs between encoded words in this codec.
        return chunk.decode("raw-unicode-escape", "replace")
    try:
        return chunk.decode(wider_charset(charset), "replace")
    except LookupError:
        return chunk.decode("utf-8", "replace")


def wider_charset(charset: str) -> str:
    """The superset codec for labels senders use loosely (GB 18030 covers mail marked GB 2312)."""
    return _WIDER_CHARSETS.get(charset.lower(), charset)


def decoded_first(headers: RawHeaders, name: str) -> str:
    value = headers.first(name)
    return decoded(value) if value is not None else ""


def normalise_message_id(value: str) -> str:
    """A Message-ID without its angle brackets and surrounding whitespace."""
    return "".join(value.split()).strip("<>")


def message_ids(value: str | None) -> tuple[str, ...]:
    """The Message-IDs in a References or In-Reply-To value, in order, without duplicates."""
    if not value:
        return ()
    found = _ANGLE_ID.findall(value) or value.split()
    ids = (normalise_message_id(item) for item in found)
    return tuple(dict.fromkeys(item for item in ids if item))


def parse_addresses(headers: RawHeaders, name: str) -> tuple[tuple[Address, ...], bool]:
    """The addresses in every ``name`` header and whether parsing them needed guesswork."""
    values = headers.values(name)
    if not values:
        return (), False
    addresses: list[Address] = []
    defective = len(values) > 1
    for value in values:
        found, bad = _addresses_from(value)
        addresses.extend(found)
        defective = defective or bad
    return tuple(addresses), defective


@lru_cache(maxsize=1024)
def _addresses_from(raw: str) -> tuple[tuple[Address, ...], bool]:
    """Parse with the strict header registry; fall back to angle-address reading on defects.
    Kept per header text: the registry took half of parsing a referral, and the same few
    addresses (the partnership's own, its business managers') are on most messages.

    The fallback matters for display-name spoofing such as ``alice@a.example <bob@b.example>``:
    the registry reads that as alice, but the mailbox the message really came from is bob.
    """
    plain = _PLAIN_ADDRESS.fullmatch(raw)
    if plain:
        return (Address(plain["name"] or "", (plain["angle"] or plain["bare"]).lower()),), False
    return _read_by_registry(raw)


def _read_by_registry(raw: str) -> tuple[tuple[Address, ...], bool]:
    try:
        header = _FROM_HEADER("from", raw)
        strict = [
            Address(single_line(a.display_name), a.addr_spec.lower()) for a in header.addresses
        ]
        clean = not header.defects and all(_plausible(a.email) for a in strict)
    except Exception:  # noqa: BLE001 - the registry raises many types on hostile input
        strict, clean = [], False
    if clean:
        return tuple(strict), False
    return tuple(_lenient_addresses(decoded(raw))), True


def _lenient_addresses(text: str) -> list[Address]:
    result = []
    for item in _split_outside_quotes(text):
        match = _ANGLE_ADDR.search(item)
        if match:
            email = match.group(1).strip()
            name = item[: match.start()].strip().strip('"').strip()
        else:
            email, name = item.strip().strip('"'), ""
        if email:
            result.append(Address(single_line(name), email.lower()))
    return result


def _split_outside_quotes(text: str) -> list[str]:
    items, current, quoted, depth = [], [], False, 0
    for char in text:
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "<":
            depth += 1
        elif not quoted and char == ">":
            depth = max(0, depth - 1)
        if char == "," and not quoted and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return [item for item in items if item.strip()]


def _plausible(email: str) -> bool:
    local, at, domain = email.partition("@")
    return bool(local and at and domain) and " " not in email
