"""Tests of intake.sender_trust: a command is believed only when the server vouches for it."""

from __future__ import annotations

import pytest

from mailbot.intake.message import parse_message
from mailbot.intake.sender_trust import check_sender_trust, parse_authentication_results

FROM = "From: Jane Smith <jane.smith@bury.gov.uk>\n"


def _msg(headers: str):
    return parse_message((headers.strip("\n") + "\n\nESCALATE\n").encode())


def _check(headers: str, mode="authentication-results", **kwargs):
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
    assert _check("Authentication-Results: mx; dkim=pass header.i=@bury.gov.uk\n" + FROM).passed


def test_a_dkim_pass_for_another_domain_is_not_trusted():
    verdict = _check("Authentication-Results: mx.bury.gov.uk; dkim=pass header.d=evil.example;"
                     " dmarc=fail header.from=bury.gov.uk\n" + FROM)
    assert not verdict.passed
    assert "bury.gov.uk" in verdict.reason


def test_a_dkim_pass_for_a_lookalike_domain_is_not_trusted():
    assert not _check("Authentication-Results: mx; dkim=pass header.d=notbury.gov.uk\n"
                      + FROM).passed


def test_only_the_topmost_header_counts():
    # A sender can add a passing header of their own below the server's.
    verdict = _check("Authentication-Results: mx.bury.gov.uk; dmarc=fail\n"
                     "Authentication-Results: mx.bury.gov.uk; dmarc=pass\n" + FROM)
    assert not verdict.passed


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
    verdict = _check("Authentication-Results: mx; dmarc=pass\n"
                     "From: jane.smith@bury.gov.uk, boss@bury.gov.uk\n")
    assert not verdict.passed
    assert "exactly one" in verdict.reason


def test_a_display_name_spoof_is_never_trusted():
    assert not _check("Authentication-Results: mx; dmarc=pass\n"
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
