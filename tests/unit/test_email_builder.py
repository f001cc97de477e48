"""Tests of adapters.email_builder, read back through our own parser."""

from __future__ import annotations

import binascii
import random
import re
import time
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default

import pytest

from mailbot.adapters import mime_writer
from mailbot.adapters.email_builder import build_email, make_message_id
from mailbot.intake.message import Address, parse_message

WHEN = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


def _build(**overrides) -> bytes:
    args = dict(
        from_addr=Address("Bury Safeguarding Children Partnership", "bsp@bury.gov.uk"),
        to=["Jane Smith <jane.smith@school.example>"],
        subject="[BSCP-2026-0007] Referral received",
        text="Your reference is BSCP-2026-0007.",
        html="<p>Your reference is <b>BSCP-2026-0007</b>.</p>",
        message_id="m1@mailbot.bury.gov.uk",
        auto_submitted="auto-replied",
        date=WHEN,
    )
    args.update(overrides)
    return build_email(**args)


def test_the_contract_headers_are_all_present():
    raw = _build(in_reply_to="<orig@school.example>", references=["a@x.example", "<b@y>"])
    msg = message_from_bytes(raw, policy=default)
    assert msg["From"].addresses[0].addr_spec == "bsp@bury.gov.uk"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["X-Mailbot-Loop"] == "bsp@bury.gov.uk"
    assert msg["Message-ID"] == "<m1@mailbot.bury.gov.uk>"
    assert msg["In-Reply-To"] == "<orig@school.example>"
    assert msg["References"] == "<a@x.example> <b@y>"
    assert msg["MIME-Version"] == "1.0"
    assert msg["Date"].datetime == WHEN


def test_the_body_is_text_plus_html_alternatives():
    parsed = parse_message(_build())
    assert parsed.text_body.strip() == "Your reference is BSCP-2026-0007."
    assert "<b>BSCP-2026-0007</b>" in parsed.html_body
    assert message_from_bytes(_build()).get_content_type() == "multipart/alternative"


def test_attachments_make_a_mixed_message_and_come_back_intact():
    docx = b"PK\x03\x04" + bytes(range(256))
    raw = _build(attachments=[
        ("decision notice.docx",
         "application/vnd.openxmlformats-officedocument.wordprocessingml.document", docx),
        ("deadline.ics", "text/calendar; method=REQUEST", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR"),
    ])
    parsed = parse_message(raw)
    assert message_from_bytes(raw).get_content_type() == "multipart/mixed"
    assert [(a.filename, a.data) for a in parsed.attachments][0] == ("decision notice.docx", docx)
    assert parsed.attachments[1].declared_type == "text/calendar"
    assert b"method=REQUEST" in raw or b'method="REQUEST"' in raw
    assert parsed.text_body.strip() == "Your reference is BSCP-2026-0007."


def test_a_subject_with_an_injected_header_stays_one_subject():
    raw = _build(subject="[BSCP-2026-0007] Hi\r\nBcc: victim@evil.example\nX-Evil: 1")
    msg = message_from_bytes(raw, policy=default)
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    assert "Bcc: victim@evil.example" in msg["Subject"]


def test_a_display_name_with_an_injected_header_stays_one_name():
    raw = _build(
        from_addr=Address("Bury SCP\r\nBcc: victim@evil.example", "bsp@bury.gov.uk"),
        to=["Jane\r\nBcc: victim@evil.example <jane@school.example>"],
        cc=['"Bob\nX-Evil: yes" <bob@police.example>'],
    )
    msg = message_from_bytes(raw, policy=default)
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    assert [a.addr_spec for a in msg["To"].addresses] == ["jane@school.example"]
    assert [a.addr_spec for a in msg["Cc"].addresses] == ["bob@police.example"]
    assert parse_message(raw).from_addresses == (
        Address("Bury SCP Bcc: victim@evil.example", "bsp@bury.gov.uk"),
    )


def test_no_header_line_is_left_bare_by_an_injection():
    raw = _build(subject="a\rb\nc\r\nd", extra_headers={"X-Case": "BSCP\r\nBcc: x@y"})
    headers = raw.split(b"\r\n\r\n", 1)[0].decode()
    names = [line.split(":", 1)[0] for line in headers.split("\r\n") if not line[:1].isspace()]
    assert "Bcc" not in names
    assert re.search(r"^X-Case: BSCP Bcc: x@y\r?$", headers, re.MULTILINE)


def test_every_line_ends_with_crlf():
    raw = _build()
    assert b"\n" not in raw.replace(b"\r\n", b"")


def test_non_ascii_names_and_subjects_survive_the_round_trip():
    raw = _build(to=["Zoë Brontë <zoe@school.example>"], subject="[BSCP-2026-0007] Zoë’s case")
    parsed = parse_message(raw)
    assert parsed.to == (Address("Zoë Brontë", "zoe@school.example"),)
    assert parsed.subject == "[BSCP-2026-0007] Zoë’s case"


def test_extra_headers_cannot_override_the_contract_headers():
    with pytest.raises(ValueError):
        _build(extra_headers={"Auto-Submitted": "no"})
    with pytest.raises(ValueError):
        _build(extra_headers={"Bad Name": "x"})


def test_a_naive_date_and_a_wrong_auto_submitted_are_refused():
    with pytest.raises(ValueError):
        _build(date=datetime(2026, 3, 3, 10, 0))
    with pytest.raises(ValueError):
        _build(auto_submitted="no")


def test_an_unusable_recipient_is_a_permanent_error():
    from mailbot.domain.errors import PermanentError

    for _ in range(2):  # every time: a refusal is never kept as an answer
        with pytest.raises(PermanentError):
            _build(to=["not an address <>"])


def test_made_message_ids_are_bare_unique_and_in_our_domain():
    ids = {make_message_id("Mailbot.Bury.gov.uk") for _ in range(100)}
    assert len(ids) == 100
    for item in ids:
        assert item.endswith("@mailbot.bury.gov.uk")
        assert "<" not in item and ">" not in item
    raw = _build(message_id=next(iter(ids)))
    assert parse_message(raw).message_id in ids


def test_long_subjects_and_names_fold_into_short_header_lines_and_read_back_whole():
    subject = "[BSCP-2026-0007] " + "Zoë’s plan was not followed " * 6
    raw = _build(subject=subject, to=["Zoë Brontë-Smythe of the Children’s Services <zoe@school.example>",
                                      "Bob Jones <bob@police.example>"])
    headers = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert max(len(line) for line in headers) <= 78
    assert all(line.isascii() for line in headers)
    parsed = parse_message(raw)
    assert parsed.subject == " ".join(subject.split())
    assert [a.email for a in parsed.to] == ["zoe@school.example", "bob@police.example"]


def test_long_body_lines_are_quoted_printable_and_come_back_exact():
    text = "Zoë " + "word " * 60 + "\nshort line\ntrailing space \n"
    raw = _build(text=text)
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    assert parse_message(raw).text_body.replace("\r\n", "\n") == text


def test_an_inline_picture_sits_beside_the_html_in_multipart_related():
    raw = _build(inline_images=[("chart.1@bury.gov.uk", "chart.png", "image/png", b"\x89PNG" * 100)])
    msg = message_from_bytes(raw, policy=default)
    alternative = msg.get_body(("related",))
    assert msg.get_content_type() == "multipart/alternative"
    assert alternative.get_content_type() == "multipart/related"
    html, image = alternative.iter_parts()
    assert html.get_content_type() == "text/html"
    assert image["Content-ID"] == "<chart.1@bury.gov.uk>"
    assert image.get_content_disposition() == "inline"
    assert image.get_content() == b"\x89PNG" * 100


def test_a_file_name_that_is_not_ascii_survives():
    raw = _build(attachments=[("décision “final”.docx", "application/octet-stream", b"PK\x03\x04")])
    assert parse_message(raw).attachments[0].filename == "décision “final”.docx"


def test_an_international_domain_is_sent_as_its_idna_name_and_a_broken_address_is_refused():
    from mailbot.domain.errors import PermanentError

    assert "zoe@xn--cole-9oa.example" in parse_message(_build(to=["zoe@école.example"])).to[0].email
    for bad in ("@school.example", "zoë@school.example", "a b@school.example"):
        with pytest.raises(PermanentError):
            _build(to=[bad])


@pytest.mark.parametrize(("text", "encoding"), [
    ("a" * 78 + "\nshort\n", "7bit"),  # a line of 78 bytes is still short enough
    ("a" * 79 + "\nshort\n", "quoted-printable"),
    ("short\n" + "a" * 79, "quoted-printable"),  # the last line, without its line end
    ("é" * 39 + "\n", "8bit"),  # 78 bytes of UTF-8
    ("é" * 40 + "\n", "quoted-printable"),  # 40 characters, but 80 bytes
    ("one\r\ntwo\rthree\n", "7bit"),
])
def test_a_text_part_is_quoted_printable_only_when_a_line_passes_78_bytes(text, encoding):
    headers, body = mime_writer.text_part(text, "plain")
    assert f"Content-Transfer-Encoding: {encoding}\r\n" in headers
    assert b"\r" not in body.replace(b"\r\n", b"")  # every line ends in CRLF, and only there
    decoded = message_from_bytes(headers.encode() + b"\r\n" + body, policy=default)
    expected = text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n") + "\n"
    assert decoded.get_content().replace("\r\n", "\n") == expected


_AWKWARD_LINES = ["a" * 79, "a" * 75 + " ", "a" * 76, "a" * 77 + "=", ".", ". ", " .", "x=y",
                  "trailing space ", "trailing tab\t", "tab\tinside", "é" * 40, "\x0c form feed",
                  "", " ", "=?utf-8?q?x?=", "b" * 200 + " " * 3, "Zoë said: \u202e"]


@pytest.mark.parametrize("seed", range(20))
def test_a_part_encoded_a_line_at_a_time_is_the_part_encoded_whole(seed):
    lines = random.Random(seed).choices(_AWKWARD_LINES, k=30)
    text = "\n".join(lines) + "\n" + "c" * 90 + "\n"
    data = text.encode("utf-8")
    headers, body = mime_writer.text_part(text, "plain")
    assert "quoted-printable" in headers
    assert body == binascii.b2a_qp(data, istext=True).replace(b"\n", b"\r\n")
    # And again, with every line's encoding already kept.
    assert mime_writer.text_part(text, "plain")[1] == body


def test_the_lines_kept_are_let_go_after_an_hour(monkeypatch):
    # A line may hold a child's name: it is not kept in memory long after its email.
    mime_writer.text_part("Child: Sam O'Neill\n" + "c" * 90 + "\n", "plain")
    assert b"Child: Sam O'Neill\n" in mime_writer._QP_LINES
    monkeypatch.setattr(mime_writer, "_qp_emptied_at", time.monotonic() - 3601)
    mime_writer.text_part("Child: Alex Reid\n" + "c" * 90 + "\n", "plain")
    assert b"Child: Sam O'Neill\n" not in mime_writer._QP_LINES
    assert b"Child: Alex Reid\n" in mime_writer._QP_LINES
