"""Sender trust: whether a message's From address can be believed before a command is taken.

Checked by the reply use case before any state-changing command (CONTRACT section 4). A
From header is trivially forged; what cannot be forged from outside is what the receiving
server recorded. Two sources are supported, chosen per mailbox by ``sender_trust``:

- ``authentication-results``: the receiving server's Authentication-Results header
  (RFC 8601) shows dmarc=pass, or dkim=pass for a domain aligned with the From domain.
  A sender can write such a header too, naming our server, so only one the server itself
  wrote counts: see ``_by_authentication_results``; the README says what the server must do.
- ``exchange-internal``: Exchange marks mail from its own authenticated users with
  X-MS-Exchange-Organization-AuthAs: Internal. Exchange strips these organisation headers
  from mail arriving from outside, which is what makes them trustworthy.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import authres
from publicsuffixlist import PublicSuffixList

from mailbot.intake.message import InboundMessage

TrustMode = Literal["none", "authentication-results", "exchange-internal"]


@dataclass(frozen=True)
class TrustVerdict:
    """Whether the sender is trusted, and why, in words a business manager can act on.

    ``forged`` marks a verdict that found signs of forgery (a sender check the receiving
    server cannot have written), which the business managers are told about.
    """

    passed: bool
    reason: str
    forged: bool = False


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
    trusted_received_hops: int = 0,
) -> TrustVerdict:
    if mode == "none":
        return TrustVerdict(True, "Sender checks are switched off for this mailbox.")
    if msg.sender is None or msg.from_header_defects:
        return TrustVerdict(False, "The From line does not hold exactly one clear address.")
    if mode == "authentication-results":
        return _by_authentication_results(msg, trusted_authserv_ids, trusted_received_hops)
    if mode == "exchange-internal":
        return _by_exchange_headers(msg)
    raise ValueError(f"unknown sender_trust mode: {mode!r}")


def parse_authentication_results(value: str) -> tuple[str, list[AuthResult]]:
    """The authserv-id and the method results of one Authentication-Results value (RFC 8601,
    parsed by ``authres``: comments, quoted values and versions included). A value authres
    cannot read yields no results, so it can never vouch for anyone."""
    try:
        header = authres.AuthenticationResultsHeader.parse_value(value)
    except Exception:  # noqa: BLE001 - a malformed header from a stranger is simply not trusted
        return _authserv_id_of(value), []
    results = [AuthResult(str(r.method).lower(), str(r.result).lower(),
                          {f"{p.type}.{p.name}".lower(): str(p.value).strip('"').lower()
                           for p in r.properties})
               for r in header.results]
    return str(header.authserv_id or "").lower(), results


def _authserv_id_of(value: str) -> str:
    words = value.split(";", 1)[0].split()
    return words[0].lower() if words else ""


def _by_authentication_results(msg: InboundMessage, trusted: frozenset[str],
                               received_hops: int) -> TrustVerdict:
    """Only a header the receiving server wrote counts. It names the server (``authserv-id``),
    there is exactly one such header (RFC 8601 section 5: the server removes copies bearing its
    name from incoming mail), and no more ``Received`` lines stand above it than the mailbox's
    own servers add after the check, because everything below those was written by the sender.
    """
    wanted = {item.lower() for item in trusted}
    if not wanted:
        return TrustVerdict(False, "No receiving mail server is named for this mailbox"
                                   " (trusted_authserv_ids), so no sender check can be believed.")
    ours = [(header, depth) for header, depth in zip(
        msg.authentication_results, msg.authentication_results_depth, strict=False)
        if _authserv_id_of(header) in wanted]
    if not ours:
        return TrustVerdict(False, "Our mail server did not record a sender check on it.")
    if len(ours) > 1:
        return TrustVerdict(False, "It carries more than one sender check in the name of our"
                                   " mail server, so at least one was written by the sender.",
                            forged=True)
    header, depth = ours[0]
    if depth > received_hops:
        return TrustVerdict(False, "Its sender check stands below the line our mail server adds"
                                   " when it receives a message, where only the sender could have"
                                   " written it.", forged=True)
    authserv_id, results = parse_authentication_results(header)
    return _judge(results, msg.sender.domain, authserv_id)


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
    """DMARC's relaxed alignment (RFC 7489 section 3.1): both domains share one organisational
    domain, found with the Public Suffix List, so ``mail.bury.gov.uk`` aligns with
    ``bury.gov.uk`` but ``gov.uk`` and ``notbury.gov.uk`` do not."""
    signer, from_domain = signer.lower().strip("."), from_domain.lower().strip(".")
    if not signer or not from_domain:
        return False
    organisation = _public_suffixes().privatesuffix(from_domain)
    return organisation is not None and organisation == _public_suffixes().privatesuffix(signer)


@functools.cache
def _public_suffixes() -> PublicSuffixList:
    return PublicSuffixList()


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
