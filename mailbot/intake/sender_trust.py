"""Sender trust: whether a message's From address can be believed before a command is taken.

Checked by the reply use case before any state-changing command (CONTRACT section 4). A
From header is trivially forged; what cannot be forged from outside is what the receiving
server recorded. Two sources are supported, chosen per mailbox by ``sender_trust``:

- ``authentication-results``: the receiving server's Authentication-Results header
  (RFC 8601) shows dmarc=pass, or dkim=pass for a domain aligned with the From domain.
  Only the topmost header counts, because a sender can add their own lower down; naming
  the server's ``trusted_authserv_ids`` closes the gap when the server adds none at all.
- ``exchange-internal``: Exchange marks mail from its own authenticated users with
  X-MS-Exchange-Organization-AuthAs: Internal. Exchange strips these organisation headers
  from mail arriving from outside, which is what makes them trustworthy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from mailbot.intake.message import InboundMessage

TrustMode = Literal["none", "authentication-results", "exchange-internal"]
_COMMENT = re.compile(r"\([^()]*\)")
_RESULT = re.compile(r"^\s*([\w.-]+)(?:/\d+)?\s*=\s*([\w-]+)")
_PROPERTY = re.compile(r"([\w-]+\.[\w-]+)\s*=\s*(\"[^\"]*\"|[^\s;]+)")


@dataclass(frozen=True)
class TrustVerdict:
    """Whether the sender is trusted, and why, in words a business manager can act on."""

    passed: bool
    reason: str


@dataclass(frozen=True)
class AuthResult:
    """One method's result inside an Authentication-Results header."""

    method: str
    result: str
    properties: dict[str, str]


def check_sender_trust(
    msg: InboundMessage,
    mode: TrustMode,
    *,
    trusted_authserv_ids: frozenset[str] = frozenset(),
) -> TrustVerdict:
    if mode == "none":
        return TrustVerdict(True, "Sender checks are switched off for this mailbox.")
    if msg.sender is None or msg.from_header_defects:
        return TrustVerdict(False, "The From line does not hold exactly one clear address.")
    if mode == "authentication-results":
        return _by_authentication_results(msg, trusted_authserv_ids)
    if mode == "exchange-internal":
        return _by_exchange_headers(msg)
    raise ValueError(f"unknown sender_trust mode: {mode!r}")


def parse_authentication_results(value: str) -> tuple[str, list[AuthResult]]:
    """The authserv-id and the method results of one Authentication-Results value."""
    text = _without_comments(value)
    pieces = [piece.strip() for piece in text.split(";")]
    authserv_id = pieces[0].split()[0].lower() if pieces and pieces[0].split() else ""
    results = []
    for piece in pieces[1:]:
        match = _RESULT.match(piece)
        if not match:
            continue
        props = {k.lower(): v.strip('"').lower() for k, v in _PROPERTY.findall(piece)}
        results.append(AuthResult(match.group(1).lower(), match.group(2).lower(), props))
    return authserv_id, results


def _without_comments(value: str) -> str:
    previous = None
    while previous != value:
        previous, value = value, _COMMENT.sub(" ", value)
    return value


def _by_authentication_results(msg: InboundMessage, trusted: frozenset[str]) -> TrustVerdict:
    wanted = {item.lower() for item in trusted}
    for header in msg.authentication_results:
        authserv_id, results = parse_authentication_results(header)
        if not wanted or authserv_id in wanted:
            return _judge(results, msg.sender.domain, authserv_id)
    if wanted:
        return TrustVerdict(False, "Our mail server did not record a sender check on it.")
    return TrustVerdict(False, "No mail server recorded a sender check on it.")


def _judge(results: list[AuthResult], from_domain: str, server: str) -> TrustVerdict:
    for result in results:
        if result.method == "dmarc" and result.result == "pass":
            checked = result.properties.get("header.from", from_domain)
            if _aligned(checked, from_domain):
                return TrustVerdict(True, f"{server} confirmed the sender's domain (DMARC).")
    for result in results:
        if result.method == "dkim" and result.result == "pass":
            signer = _signing_domain(result.properties)
            if signer and _aligned(signer, from_domain):
                return TrustVerdict(True, f"{server} confirmed a signature from {signer}.")
    return TrustVerdict(
        False,
        f"The receiving mail server could not confirm that this really came from "
        f"{from_domain} (no DMARC pass and no matching signature).",
    )


def _signing_domain(properties: dict[str, str]) -> str:
    if "header.d" in properties:
        return properties["header.d"]
    return properties.get("header.i", "").rpartition("@")[2]


def _aligned(signer: str, from_domain: str) -> bool:
    """Relaxed alignment, approximated: the same domain or one a subdomain of the other."""
    signer, from_domain = signer.lower().strip("."), from_domain.lower().strip(".")
    if "." not in signer or not from_domain:
        return False
    return (
        signer == from_domain
        or from_domain.endswith("." + signer)
        or signer.endswith("." + from_domain)
    )


def _by_exchange_headers(msg: InboundMessage) -> TrustVerdict:
    headers = msg.exchange_headers
    auth_as = headers.get("x-ms-exchange-organization-authas", "").strip().lower()
    has_source = any(
        name in headers
        for name in (
            "x-ms-exchange-organization-authsource",
            "x-ms-exchange-organization-authmechanism",
        )
    )
    if auth_as == "internal" and has_source:
        return TrustVerdict(True, "Exchange confirmed a signed-in sender inside the organisation.")
    if auth_as:
        return TrustVerdict(False, f"Exchange marked the sender as {auth_as}, not internal.")
    return TrustVerdict(False, "Exchange did not mark it as sent by a signed-in internal user.")
