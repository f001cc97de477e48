"""Tests of intake.classify, one rule at a time, on hand-built messages."""

from __future__ import annotations

from mailbot.intake.classify import MessageKind, classify, subject_reference
from mailbot.intake.message import parse_message

OWN = frozenset({"bsp@bury.gov.uk"})
DOMAIN = "mailbot.bury.gov.uk"


def _classify(headers: str, body: str = "Hello\n"):
    raw = (headers.strip("\n") + "\n\n" + body).encode("utf-8")
    return classify(parse_message(raw), own_addresses=OWN, own_message_id_domain=DOMAIN)


PERSON = "From: Jane Smith <jane.smith@school.example>\nMessage-ID: <p1@school.example>\n"


def test_ordinary_mail_is_new():
    result = _classify(PERSON + "Subject: Referral form")
    assert result.kind == MessageKind.NEW == "new"


def test_mail_from_our_own_address_is_own():
    assert _classify("From: Bury SCP <BSP@bury.gov.uk>\nSubject: x").kind == "own"


def test_mail_carrying_our_loop_header_is_own():
    assert _classify(PERSON + "X-Mailbot-Loop: bsp@bury.gov.uk").kind == "own"


def test_mail_with_a_message_id_mailbot_made_is_own():
    assert _classify("From: x@y.example\nMessage-ID: <mailbot.123@mailbot.bury.gov.uk>").kind == "own"


def test_a_colleague_in_the_partnership_domain_is_not_mistaken_for_mailbot():
    assert _classify("From: x@y.example\nMessage-ID: <123@mailbot.bury.gov.uk>").kind == "new"


def test_an_rfc3464_failure_is_a_bounce_linked_to_our_message():
    result = _classify(
        "From: MAILER-DAEMON@mx.example\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
        "--b\nContent-Type: text/plain\n\nfailed; see also\nMessage-ID: <x1@other.example>\n"
        "--b\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.example\n\nFinal-Recipient: rfc822; gone@school.example\n"
        "Action: failed\nStatus: 5.1.1\n\n--b\nContent-Type: text/rfc822-headers\n\n"
        "Message-ID: <m7@mailbot.bury.gov.uk>\nSubject: [BSCP-2026-0007]\n\n--b--\n",
    )
    assert result.kind == "bounce"
    assert result.bounced_message_ids == ("m7@mailbot.bury.gov.uk",)


def test_a_bounce_with_none_of_our_ids_reports_every_id_it_found():
    result = _classify(
        "From: Mail Delivery System <mailer-daemon@mx.example>\nSubject: Undelivered Mail",
        "This is the mail system.\nMessage-ID: <a@elsewhere.example>\n",
    )
    assert result.kind == "bounce"
    assert result.bounced_message_ids == ("a@elsewhere.example",)


def test_a_non_rfc3464_bounce_from_mailer_daemon_is_a_bounce():
    result = _classify(
        "From: MAILER-DAEMON <>\nSubject: Mail delivery failed",
        "There was an error delivering your mail to <x@y.example>.\n550 5.1.1 User unknown\n",
    )
    assert result.kind == "bounce"


def test_x_failed_recipients_makes_a_bounce():
    assert _classify(PERSON + "X-Failed-Recipients: gone@x.example").kind == "bounce"


def test_a_delay_warning_is_automatic_not_a_bounce():
    result = _classify(
        "From: MAILER-DAEMON@mx.example\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
        "--b\nContent-Type: text/plain\n\ndelayed\n--b\nContent-Type: message/delivery-status\n"
        "\nReporting-MTA: dns; mx.example\n\nFinal-Recipient: rfc822; a@b.example\n"
        "Action: delayed\nStatus: 4.4.7\n\n--b--\n",
    )
    assert result.kind == "automatic"


def test_a_read_receipt_is_automatic():
    result = _classify(
        PERSON + 'MIME-Version: 1.0\nContent-Type: multipart/report; '
        'report-type=disposition-notification; boundary="b"',
        "--b\nContent-Type: text/plain\n\nread\n--b\n"
        "Content-Type: message/disposition-notification\n\n"
        "Disposition: manual-action/MDN-sent-manually; displayed\n\n--b--\n",
    )
    assert (result.kind, result.reason) == ("automatic", "It is a read or disposition receipt.")


def test_auto_submitted_other_than_no_is_automatic():
    assert _classify(PERSON + "Auto-Submitted: auto-replied").kind == "automatic"
    assert _classify(PERSON + "Auto-Submitted: no").kind == "new"


def test_bulk_junk_and_list_precedence_are_automatic():
    for value in ("bulk", "junk", "list"):
        assert _classify(PERSON + f"Precedence: {value}").kind == "automatic"
    assert _classify(PERSON + "Precedence: first-class").kind == "new"


def test_list_headers_are_automatic():
    assert _classify(PERSON + "List-Id: <team.lists.example>").kind == "automatic"
    assert _classify(PERSON + "List-Unsubscribe: <mailto:u@x>").kind == "automatic"


def test_an_empty_return_path_is_automatic():
    assert _classify("Return-Path: <>\n" + PERSON).kind == "automatic"


def test_postmaster_mail_without_a_failure_is_automatic():
    assert _classify("From: postmaster@school.example\nSubject: Notice").kind == "automatic"


def test_x_autoreply_headers_are_automatic():
    assert _classify(PERSON + "X-Autoreply: yes").kind == "automatic"
    assert _classify(PERSON + "X-Autorespond: yes").kind == "automatic"


def test_an_out_of_office_subject_is_automatic_as_a_last_resort():
    result = _classify(PERSON + "Subject: Automatic reply: [BSCP-2026-0007] Stage 1")
    assert result.kind == "automatic"
    assert result.subject_reference == "BSCP-2026-0007"
    assert _classify(PERSON + "Subject: Out of Office until Monday").kind == "automatic"


def test_a_reply_is_found_by_in_reply_to_and_references():
    result = _classify(
        PERSON + "In-Reply-To: <m1@mailbot.bury.gov.uk>\n"
        "References: <m0@mailbot.bury.gov.uk> <m1@mailbot.bury.gov.uk>"
    )
    assert result.kind == "reply"
    assert result.referenced_ids == ("m1@mailbot.bury.gov.uk", "m0@mailbot.bury.gov.uk")


def test_a_reply_is_found_by_the_subject_tag_alone():
    result = _classify(PERSON + "Subject: RE: [BSCP-2026-0007] Stage 1 notice")
    assert (result.kind, result.subject_reference) == ("reply", "BSCP-2026-0007")


def test_automatic_rules_win_over_threading():
    result = _classify(PERSON + "Auto-Submitted: auto-replied\nIn-Reply-To: <m1@x.example>")
    assert result.kind == "automatic"


def test_subject_reference_matches_only_well_formed_tags():
    assert subject_reference("Re: [BSCP-2026-0007] x") == "BSCP-2026-0007"
    assert subject_reference("[AB-2026-0001]") == "AB-2026-0001"
    assert subject_reference("[A-2026-0001]") is None
    assert subject_reference("[ABCDEFGHIJK-2026-0001]") is None
    # Contract section 2: references are matched case-insensitively.
    assert subject_reference("[bscp-2026-0007]") == "BSCP-2026-0007"
    assert subject_reference("BSCP-2026-0007 without brackets") is None
    assert subject_reference("") is None
