"""Tests of intake.sender_trust: a command is believed only when the server vouches for it."""

from __future__ import annotations

import pytest

from mailbot.intake.message import parse_message
from mailbot.intake.sender_trust import check_sender_trust, parse_authentication_results

FROM = "From: Jane Smith <jane.smith@bury.gov.uk>\n"


def _msg(headers: str):
    return parse_message((headers.strip("\n") + "\n\nESCALATE\n").encode())


MX = frozenset({"mx.bury.gov.uk"})


def _check(headers: str, mode="authentication-results", **kwargs):
    kwargs.setdefault("trusted_authserv_ids", MX)
    return check_sender_trust(_msg(headers), mode, **kwargs)


def test_dmarc_pass_is_trusted():
    verdict = _check("Authentication-Results: mx.bury.gov.uk; dmarc=pass (p=reject) "
                     "header.from=bury.gov.uk\n" + FROM)
    assert verdict.passed
    assert "DMARC" in verdict.reason


def test_an_aligned_dkim_pass_is_trusted():
    verdict = _check("Authentication-Results: mx.bury.gov.uk; spf=fail; "
                     "dkim=pass header.d=mail.bury.gov.uk header.s=s1; dmarc=none\n" + FROM)
    assert verdict.passed


def test_a_dkim_pass_by_header_i_is_read_from_its_domain():
    assert _check("Authentication-Results: mx.bury.gov.uk; dkim=pass header.i=@bury.gov.uk\n"
                  + FROM).passed


def test_a_dkim_pass_for_another_domain_is_not_trusted():
    verdict = _check("Authentication-Results: mx.bury.gov.uk; dkim=pass header.d=evil.example;"
                     " dmarc=fail header.from=bury.gov.uk\n" + FROM)
    assert not verdict.passed
    assert "bury.gov.uk" in verdict.reason


@pytest.mark.parametrize("signer", ["notbury.gov.uk", "gov.uk", "uk", "bury.gov.uk.evil.example"])
def test_a_dkim_pass_for_a_lookalike_or_public_parent_domain_is_not_trusted(signer):
    # DMARC's organisational domain, from the Public Suffix List: gov.uk is a public suffix,
    # so a signature "from gov.uk" vouches for no council.
    assert not _check(f"Authentication-Results: mx.bury.gov.uk; dkim=pass header.d={signer}\n"
                      + FROM).passed


def test_a_quoted_value_with_a_semicolon_does_not_split_the_result():
    headers = ('Authentication-Results: mx.bury.gov.uk; dkim=pass header.b="a;dmarc=fail"'
               " header.d=bury.gov.uk\n" + FROM)
    assert _check(headers).passed


@pytest.mark.parametrize("order", ["forged below", "forged above"])
def test_two_headers_in_our_servers_name_are_a_forgery_whatever_their_order(order):
    # A server that does not strip incoming copies lets a sender's own header through; which
    # one is ours cannot be told, so neither counts and the verdict says it was forged.
    genuine = "Authentication-Results: mx.bury.gov.uk; dmarc=fail\n"
    forged = "Authentication-Results: mx.bury.gov.uk; dmarc=pass\n"
    headers = genuine + forged if order == "forged below" else forged + genuine
    verdict = _check(headers + FROM)
    assert not verdict.passed and verdict.forged


def test_a_header_naming_our_server_below_its_received_line_was_written_by_the_sender():
    # The receiving server added a Received line and no sender check of its own: the only
    # Authentication-Results header in its name came with the message.
    headers = ("Received: from attacker.example by mx.bury.gov.uk; Mon, 30 Nov 2026 10:00 +0000\n"
               "Authentication-Results: mx.bury.gov.uk; dmarc=pass header.from=bury.gov.uk\n"
               + FROM)
    verdict = _check(headers)
    assert not verdict.passed and verdict.forged
    assert _check(headers, trusted_received_hops=1).passed  # a delivery hop after the check


def test_without_a_named_receiving_server_nothing_is_trusted():
    verdict = _check("Authentication-Results: mx.bury.gov.uk; dmarc=pass\n" + FROM,
                     trusted_authserv_ids=frozenset())
    assert not verdict.passed
    assert "trusted_authserv_ids" in verdict.reason


def test_trusted_authserv_ids_skip_headers_from_other_servers():
    headers = ("Authentication-Results: forged.example; dmarc=pass\n"
               "Authentication-Results: mx.bury.gov.uk; dmarc=fail\n" + FROM)
    assert not _check(headers, trusted_authserv_ids=frozenset({"mx.bury.gov.uk"})).passed
    headers = ("Authentication-Results: forged.example; dmarc=fail\n"
               "Authentication-Results: MX.bury.gov.uk 1; dmarc=pass\n" + FROM)
    assert _check(headers, trusted_authserv_ids=frozenset({"mx.bury.gov.uk"})).passed


def test_no_authentication_results_is_not_trusted():
    verdict = _check(FROM)
    assert not verdict.passed
    assert verdict.reason


def test_a_from_header_with_two_addresses_is_never_trusted():
    verdict = _check("Authentication-Results: mx.bury.gov.uk; dmarc=pass\n"
                     "From: jane.smith@bury.gov.uk, boss@bury.gov.uk\n")
    assert not verdict.passed
    assert "exactly one" in verdict.reason


def test_a_display_name_spoof_is_never_trusted():
    assert not _check("Authentication-Results: mx.bury.gov.uk; dmarc=pass\n"
                      "From: jane.smith@bury.gov.uk <attacker@evil.example>\n").passed


def test_exchange_internal_authenticated_senders_are_trusted():
    headers = ("X-MS-Exchange-Organization-AuthAs: Internal\n"
               "X-MS-Exchange-Organization-AuthSource: EX01.bury.local\n"
               "X-MS-Exchange-Organization-AuthMechanism: 04\n" + FROM)
    verdict = _check(headers, "exchange-internal")
    assert verdict.passed
    assert "Exchange" in verdict.reason


def test_exchange_anonymous_senders_are_not_trusted():
    headers = ("X-MS-Exchange-Organization-AuthAs: Anonymous\n"
               "X-MS-Exchange-Organization-AuthSource: EX01.bury.local\n" + FROM)
    verdict = _check(headers, "exchange-internal")
    assert not verdict.passed
    assert "anonymous" in verdict.reason


def test_exchange_internal_without_an_auth_source_is_not_trusted():
    assert not _check("X-MS-Exchange-Organization-AuthAs: Internal\n" + FROM,
                      "exchange-internal").passed


def test_mode_none_trusts_everyone():
    assert _check("From: a@b.example\n", "none").passed


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError):
        _check(FROM, "dkim-only")


def test_authentication_results_comments_and_versions_are_parsed():
    server, results = parse_authentication_results(
        "mx.google.com; dkim=pass (2048-bit key) header.i=@bury.gov.uk header.s=sel "
        'header.b="abc;def"; spf/1=pass (google.com: domain) smtp.mailfrom=x@bury.gov.uk; '
        "dmarc=pass (p=QUARANTINE sp=NONE dis=NONE) header.from=bury.gov.uk"
    )
    assert server == "mx.google.com"
    assert [(r.method, r.result) for r in results][0] == ("dkim", "pass")
    assert ("dmarc", "pass") in [(r.method, r.result) for r in results]
    assert results[0].properties["header.i"] == "@bury.gov.uk"
