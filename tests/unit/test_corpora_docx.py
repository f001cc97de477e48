"""The reader on files other people wrote: never anything but FormError, and form fields right.

Covers every .docx in docx2python's test resources (Word, LibreOffice, Pages, Google Docs,
ISO strict, odd part names), msoffcrypto-tool's encrypted and binary files, every attachment
of every message in mail-parser's test mails, and the Bury Appendix 1 filled in by hand.
"""

import email
import email.policy
from datetime import date
from pathlib import Path

import form_samples as S
import pytest

from mailbot.domain.errors import FormError
from mailbot.intake.docx_form import read_form_attachment
from tests.corpora import CORPORA

DOCX2PYTHON = CORPORA / "docx2python" / "tests" / "resources"
CRYPTO = CORPORA / "msoffcrypto-tool" / "tests"
MAILS = CORPORA / "mail-parser" / "tests" / "mails"


def corpus_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "LICENSE.txt")
    assert files, f"corpus missing: {folder}"
    return files


def read_or_refuse(data: bytes):
    """The reading, or None when refused; any other exception fails the test."""
    try:
        return read_form_attachment(data)
    except FormError as refusal:
        assert refusal.reply_text and refusal.code
        return None


@pytest.mark.parametrize("path", corpus_files(DOCX2PYTHON), ids=lambda p: p.name)
def test_every_docx2python_file_is_read_or_refused_never_crashed(path):
    read_or_refuse(path.read_bytes())


@pytest.mark.parametrize("path", corpus_files(CRYPTO), ids=lambda p: p.name)
def test_every_msoffcrypto_file_is_read_or_refused_never_crashed(path):
    reading = read_or_refuse(path.read_bytes())
    assert (reading is None) == (path.parent.name == "inputs")


@pytest.mark.parametrize("path", corpus_files(DOCX2PYTHON), ids=lambda p: p.name)
def test_truncated_corpus_files_are_refused_never_crashed(path):
    data = path.read_bytes()
    for cut in (len(data) // 3, len(data) - 100):
        read_or_refuse(data[:cut])


def controls(name: str) -> list[tuple[str, str, str, object]]:
    reading = read_form_attachment((DOCX2PYTHON / name).read_bytes())
    return [(c.source, c.kind, c.name, c.value) for c in reading.controls]


def test_docx2python_check_boxes_and_drop_downs_of_both_kinds_are_read():
    assert controls("check_drop_my.docx") == [
        ("legacy field", "checkbox", "", False),
        ("legacy field", "checkbox", "Check1", True),
        ("content control", "checkbox", "", False),
        ("content control", "checkbox", "", True),
        ("legacy field", "dropdown", "Dropdown2", "Piihan B"),
        ("content control", "dropdown", "Shay's Drop", ""),  # still "Choose an item."
        ("content control", "dropdown", "Shay's Drop", "my_item_A"),
        ("content control", "dropdown", "Shay's Drop", "my_item_B"),
    ]


def test_legacy_check_boxes_honour_checked_over_default_in_every_spelling():
    values = [value for *_, value in controls("checked-true-false.docx")]
    assert values == [False, False, False, False, True, True, True, True]


def test_a_legacy_drop_down_shows_its_chosen_entry_or_else_its_first():
    assert controls("checked_drop1.docx") == [
        ("legacy field", "checkbox", "Check1", True),
        ("legacy field", "dropdown", "Dropdown2", "PIlihan A")]
    assert controls("unchecked_drop0.docx") == [
        ("legacy field", "checkbox", "Check1", False),
        ("legacy field", "dropdown", "Dropdown2", "Piihan B")]


def test_a_rich_text_content_control_gives_its_whole_text():
    assert controls("ControlTest.docx") == [(
        "content control", "richtext", "Test_Control",
        "This is a test\nFor a content control or content container in word.")]


def test_a_real_referral_form_with_legacy_fields_reads_its_ticked_boxes():
    found = controls("checked_boxes.docx")
    ticked = {name for _, kind, name, value in found if kind == "checkbox" and value}
    assert ticked == {"chkMember_APS", "chkMember_GENESIS", "chkMember_DA", "chkMember_Regional",
                      "chkMember_CoronerME", "chkMember_LawEnforce", "chkMember_AttorneyOt",
                      "chkMember_Psych", "chkMember_Medical", "chkMember_Ombudsman",
                      "chkMember_PublicGuar", "chkMember_Other"}
    assert sum(1 for _, kind, *_ in found if kind == "checkbox") == 44
    assert ("legacy field", "dropdown", "drpClient_Gender", "Select...") in found
    assert all(value == "" for _, kind, _, value in found if kind == "text")


# ---------------------------------------------------------------- mail-parser attachments

def attachments(path: Path) -> list[bytes]:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.compat32)
    found = []
    for part in message.walk():
        if part.is_multipart():
            continue
        if part.get_filename() or part.get_content_maintype() not in ("text",):
            payload = part.get_payload(decode=True)
            found.append(payload if isinstance(payload, bytes) else b"")
    return found


@pytest.mark.parametrize("path", corpus_files(MAILS), ids=lambda p: p.name)
def test_every_attachment_in_the_mail_parser_corpus_is_refused_cleanly(path):
    for data in [path.read_bytes(), *attachments(path)]:
        assert read_or_refuse(data) is None  # not one of them is a Word form


# ---------------------------------------------------------------- Bury Appendix 1 by hand

def test_the_verbatim_bury_appendix_filled_in_by_hand_is_read_with_every_field_right():
    reading = read_form_attachment(S.bury_by_hand())
    assert reading.values() == S.bury_expected()
    assert not reading.errors and not reading.warnings


@pytest.mark.parametrize(("lead_cell", "aware"), [
    (("  Yes / No", "   ", "  Name of safeguarding lead: Peter Jones"), None),
    (("  Yes / No   Yes", "   ", "  Name of safeguarding lead: Peter Jones"), True),
    (("  Yes / No", "  No", "  Name of safeguarding lead: Peter Jones"), False),
    (("  / No", "   ", "  Name of safeguarding lead: Peter Jones"), False),
    (("Yes", "Name of safeguarding lead: Peter Jones"), True),
])
def test_the_bury_yes_no_cell_is_read_however_the_writer_answered(lead_cell, aware):
    reading = read_form_attachment(S.bury_by_hand({"lead_answer": lead_cell}))
    assert reading.value("safeguarding_lead_aware") is aware
    assert reading.value("safeguarding_lead_name") == "Peter Jones"


def test_the_bury_yes_no_cell_with_the_wrong_word_struck_through_is_read():
    reading = read_form_attachment(S.bury_by_hand(lead_runs=[("  Yes / ", True), ("No", False)]))
    assert reading.value("safeguarding_lead_aware") is False


def test_the_safeguarding_leads_email_written_after_their_name_is_read_too():
    cell = ("  Yes /", "", "  Name of safeguarding lead: Peter Jones (peter.jones@bury.gov.uk)")
    reading = read_form_attachment(S.bury_by_hand({"lead_answer": cell}))
    assert reading.value("safeguarding_lead_name") == "Peter Jones"
    assert reading.value("safeguarding_lead_email") == "peter.jones@bury.gov.uk"


def test_an_impossible_date_of_birth_on_the_bury_form_is_an_error_for_that_field():
    reading = read_form_attachment(S.bury_by_hand({"dob": "30/02/2015"}))
    assert "child_dob" not in reading.fields
    assert reading.errors["child_dob"].startswith('"30/02/2015" is not a real date')
    assert reading.value("date_of_notification") == date(2026, 3, 2)


def test_the_bury_stage_table_adds_nothing_to_the_reading():
    reading = read_form_attachment(S.bury_by_hand())
    assert "stage_reached" not in reading.fields and reading.extra == ()
