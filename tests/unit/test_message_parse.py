"""Tests of intake.message: inbound bytes become a frozen InboundMessage, never an exception."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mail_corpora import corpus

from mailbot.intake.message import InboundMessage, normalise_message_id, parse_message


def _mail(headers: str, body: str = "Hello\n") -> bytes:
    return (headers.strip("\n") + "\n\n" + body).encode("utf-8")


def test_every_message_in_the_mail_parser_corpus_parses_without_raising():
    files = sorted(p for p in corpus("mail-parser", "tests", "mails").iterdir() if p.is_file())
    assert len(files) >= 19
    for path in files:
        msg = parse_message(path.read_bytes())
        assert isinstance(msg, InboundMessage), path.name
        assert msg.raw_size == path.stat().st_size


def test_every_bounce_in_the_set_of_emails_corpus_parses_without_raising():
    for path in sorted(corpus("set-of-emails", "maildir").glob("*/*.eml")):
        assert isinstance(parse_message(path.read_bytes()), InboundMessage), path.name


def test_rfc2047_subjects_and_names_are_decoded():
    msg = parse_message(corpus("mail-parser", "tests", "mails", "mail_test_12").read_bytes())
    assert msg.subject == "代开各地增值税发票"
    assert msg.from_addresses[0].name == "张先生"
    assert msg.from_addresses[0].email == "baoguan@hotmail.com"


def test_a_gb2312_subject_with_gbk_bytes_is_still_decoded():
    msg = parse_message(corpus("mail-parser", "tests", "mails", "mail_test_9").read_bytes())
    assert not msg.subject.startswith("=?")


def test_an_encoded_display_name_with_a_comma_stays_one_address():
    msg = parse_message(corpus("mail-parser", "tests", "mails", "mail_test_18").read_bytes())
    assert [a.email for a in msg.from_addresses] == ["comma.name@example.com"]
    assert msg.from_addresses[0].name == "LastßlName, FirstName"
    assert not msg.from_header_defects


def test_a_display_name_spoofing_an_address_exposes_the_real_one():
    # "From: alice@example.com <bob@example.com>": the mailbox is bob's, whatever it shows.
    msg = parse_message(corpus("mail-parser", "tests", "mails", "mail_test_19").read_bytes())
    assert [a.email for a in msg.from_addresses] == ["bob@example.com"]
    assert msg.from_header_defects


def test_rfc2231_attachment_filenames_are_decoded():
    raw = _mail(
        "From: a@example.org\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="b"',
        "--b\nContent-Type: text/plain\n\nsee attached\n--b\n"
        "Content-Type: application/octet-stream\n"
        "Content-Disposition: attachment; filename*=UTF-8''R%C3%A9f%C3%A9rence%20form.docx\n"
        "Content-Transfer-Encoding: base64\n\nUEsDBA==\n--b--\n",
    )
    msg = parse_message(raw)
    assert [(a.filename, a.data) for a in msg.attachments] == [("Référence form.docx", b"PK\x03\x04")]
    assert msg.text_body.strip() == "see attached"


def test_attachment_filenames_lose_their_directories_and_control_characters():
    raw = _mail(
        "From: a@example.org\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="b"',
        "--b\nContent-Type: text/plain\n\nx\n--b\nContent-Type: application/pdf\n"
        'Content-Disposition: attachment; filename="../../etc/pass\twd.pdf"\n\n%PDF\n--b--\n',
    )
    assert parse_message(raw).attachments[0].filename == "pass wd.pdf"


def test_nested_message_rfc822_parts_come_out_as_forwarded_messages():
    inner = (
        "From: Inner <inner@example.org>\nSubject: original\nMessage-ID: <inner-1@example.org>\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="i"\n\n'
        "--i\nContent-Type: text/plain\n\ninner text\n--i\n"
        'Content-Type: application/pdf\nContent-Disposition: attachment; filename="f.pdf"\n\n'
        "%PDF\n--i--\n"
    )
    raw = _mail(
        "From: outer@example.org\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="o"',
        f"--o\nContent-Type: text/plain\n\nforwarding\n--o\nContent-Type: message/rfc822\n\n"
        f"{inner}\n--o--\n",
    )
    msg = parse_message(raw)
    assert msg.attachments == ()
    (forwarded,) = msg.forwarded
    assert forwarded.message_id == "inner-1@example.org"
    assert forwarded.text_body.strip() == "inner text"
    assert [a.filename for a in msg.all_attachments()] == ["f.pdf"]


def test_forwarding_nested_past_the_depth_limit_is_kept_as_an_attachment():
    raw = "From: last@example.org\nSubject: deepest\n\nbottom\n"
    for level in range(6):
        raw = (
            f"From: l{level}@example.org\nMIME-Version: 1.0\nContent-Type: message/rfc822\n\n"
            + raw
        )
    msg = parse_message(raw.encode())
    depth, current = 0, msg
    while current.forwarded:
        current, depth = current.forwarded[0], depth + 1
    assert depth == 3
    assert current.attachments[0].declared_type == "message/rfc822"


def test_message_ids_are_normalised_and_threading_headers_split():
    raw = _mail(
        "From: a@example.org\nMessage-ID:  < abc@x.example >\n"
        "In-Reply-To: <one@mailbot.example>\n"
        "References: <zero@mailbot.example>\n <one@mailbot.example> junk"
    )
    msg = parse_message(raw)
    assert msg.message_id == "abc@x.example"
    assert msg.in_reply_to == ("one@mailbot.example",)
    assert msg.references == ("zero@mailbot.example", "one@mailbot.example")
    assert normalise_message_id(" <a@b> ") == "a@b"


def test_return_path_is_none_when_absent_and_empty_for_the_null_sender():
    assert parse_message(_mail("From: a@example.org")).return_path is None
    assert parse_message(_mail("Return-Path: <>\nFrom: a@example.org")).return_path == ""
    found = parse_message(_mail("Return-Path: <Bob@Example.org>\nFrom: a@example.org"))
    assert found.return_path == "bob@example.org"


def test_a_from_header_with_two_addresses_is_flagged():
    msg = parse_message(_mail("From: a@example.org, b@example.org"))
    assert len(msg.from_addresses) == 2
    assert msg.from_header_defects
    assert msg.sender is None


def test_a_missing_from_header_is_flagged():
    msg = parse_message(_mail("Subject: none"))
    assert msg.from_addresses == ()
    assert msg.from_header_defects


def test_trust_and_automation_headers_are_kept_in_order():
    raw = _mail(
        "Authentication-Results: mx.bury.gov.uk; dmarc=pass header.from=bury.gov.uk\n"
        "Authentication-Results: forged.example; dkim=pass header.d=bury.gov.uk\n"
        "X-MS-Exchange-Organization-AuthAs: Internal\n"
        "X-MS-Exchange-Organization-AuthSource: EX01.bury.local\n"
        "Auto-Submitted: Auto-Replied\nPrecedence: Bulk\nList-Id: <x.example>\n"
        "X-Mailbot-Loop: BSP@bury.gov.uk\nFrom: a@bury.gov.uk\n"
        "Date: Tue, 3 Mar 2026 10:00:00 -0000"
    )
    msg = parse_message(raw)
    assert msg.authentication_results[0].startswith("mx.bury.gov.uk")
    assert len(msg.authentication_results) == 2
    assert msg.exchange_headers["x-ms-exchange-organization-authas"] == "Internal"
    assert msg.auto_submitted == "auto-replied"
    assert msg.precedence == "bulk"
    assert msg.has_list_headers
    assert msg.loop_header == "bsp@bury.gov.uk"
    assert msg.date == datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


def test_an_rfc3464_report_exposes_its_actions_recipients_and_original_id():
    raw = corpus("mail-parser", "tests", "mails", "mail_malformed_2").read_bytes()
    msg = parse_message(raw)
    assert msg.is_delivery_report
    assert msg.delivery_actions == ("failed",)
    assert msg.failed_recipients == ("abh@netpar.com.br",)
    assert msg.reported_message_ids == ("004801d1fc84$01c934ac$b247f0b7$@infospacemail.com",)


def test_a_bounce_quoting_the_original_in_its_body_reports_that_id():
    raw = _mail(
        "From: MAILER-DAEMON@mx.example.org\nMessage-ID: <bounce-1@mx.example.org>\n"
        "Subject: failure notice",
        "Sorry.\n--- Below this line is a copy of the message.\n\n"
        "Message-ID: <20260303.abc@mailbot.bury.gov.uk>\nSubject: [BSCP-2026-0007]\n",
    )
    assert parse_message(raw).reported_message_ids == ("20260303.abc@mailbot.bury.gov.uk",)


def test_an_html_only_message_has_an_empty_text_body():
    raw = _mail(
        "From: a@example.org\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8",
        "<p>Hello</p>",
    )
    msg = parse_message(raw)
    assert (msg.text_body, msg.html_body.strip()) == ("", "<p>Hello</p>")


def test_an_outlook_msg_file_is_kept_as_text_with_its_defects_recorded():
    msg = parse_message(corpus("mail-parser", "tests", "mails", "mail_outlook_1").read_bytes())
    assert msg.defects
    assert msg.from_header_defects


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00\xff\xfe", b"From: <>\n\n", b"Content-Type: multipart/mixed\n\n--x\n",
     b"Subject: =?utf-8?b?####?=\nFrom: =?x-unknown?q?a?= <a@b>\n\nhi"],
)
def test_hostile_inputs_do_not_raise(raw):
    assert isinstance(parse_message(raw), InboundMessage)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(raw):
    assert parse_message(raw).raw_size == len(raw)


def test_a_from_header_naming_no_address_keeps_its_text_but_no_address():
    msg = parse_message(_mail("From: MAILER-DAEMON <>"))
    assert msg.from_addresses == ()
    assert msg.from_header == "MAILER-DAEMON <>"
    assert msg.from_header_defects
