"""What reading one .docx may cost, and how many one message may make mailbot read (issue 14).

A 1.9 MB document of 38 MiB of unlabelled table cells passed every budget of the type gate
and took 15 to 22 s and about 800 MB to read; ten of them in one email held intake for 161 s.
Each is now refused by a budget (the part's size, cells, paragraphs, seconds) before or while
it is read, and answered with what to send instead. Nothing here is timed: each test asserts
which budget refused the document.
"""

from __future__ import annotations

import os
from email.message import EmailMessage

import pytest
from form_samples import document, package

from mailbot.domain.errors import FormError
from mailbot.intake.docx_form import read_form_attachment
from mailbot.intake.form_builder import fill_form
from mailbot.intake.message import parse_message
from mailbot.intake.typegate import MIB, Budgets
from mailbot.services import referrals


def _cells(count: int) -> str:
    """Empty cells, ten to a row, each with a random revision id as Word writes them, so
    the part compresses about as well as a real document (not like a zip bomb)."""
    rows = []
    for start in range(0, count, 10):
        cells = "".join(f'<w:tc><w:p w:rsidR="00{os.urandom(2).hex().upper()}00"/></w:tc>'
                        for _ in range(min(10, count - start)))
        rows.append(f"<w:tr>{cells}</w:tr>")
    return f"<w:tbl>{''.join(rows)}</w:tbl>"


def _refusal(data: bytes, budgets: Budgets | None = None) -> FormError:
    with pytest.raises(FormError) as caught:
        read_form_attachment(data, budgets) if budgets else read_form_attachment(data)
    return caught.value


def test_38_mib_of_unlabelled_cells_in_a_small_file_is_refused_before_it_is_read():
    xml = document(_cells(38 * MIB // 42)).encode()
    data = package(xml)
    assert len(xml) > 30 * MIB and len(data) < 4 * MIB  # the shape of issue 14's document
    error = _refusal(data)
    assert error.code == "too_large_document"
    assert "blank one is attached" in error.reply_text


def test_a_document_of_more_cells_than_any_form_is_refused_by_the_cells_budget():
    data = package(document(_cells(12_000)))
    assert len(data) < 1 * MIB
    assert _refusal(data).code == "too_many_cells"


def test_a_document_of_more_paragraphs_than_any_form_is_refused_by_the_paragraphs_budget():
    assert _refusal(package(document("<w:p/>" * 25_000))).code == "too_many_paragraphs"


def test_a_document_that_takes_longer_than_its_seconds_is_refused():
    data = package(document("<w:p><w:r><w:t>Line</w:t></w:r></w:p>" * 200))
    assert _refusal(data, Budgets(max_seconds=0)).code == "too_slow"


def test_a_filled_form_is_well_within_every_budget():
    assert read_form_attachment(fill_form("bury", {"child_name": "Sam"})).value("child_name") == "Sam"


def test_a_message_makes_mailbot_read_at_most_three_documents_and_says_so():
    read = []

    def counting(data):
        read.append(data)
        return read_form_attachment(data)

    message = EmailMessage()
    message["From"] = "Jane <jane@school.example>"
    message["To"] = "bsp@bury.example"
    message["Message-ID"] = "<ten@school.example>"
    message.set_content("Please see attached.")
    blank = package(document("<w:p><w:r><w:t>Nothing here</w:t></w:r></w:p>"))
    for number in range(10):
        message.add_attachment(blank, maintype="application", subtype="octet-stream",
                               filename=f"document {number}.docx")
    message.add_attachment(b"\x89PNG\r\n\x1a\n" + bytes(100), maintype="image", subtype="png",
                           filename="logo.png")
    reading, _, refusals = referrals._read_form(counting, parse_message(bytes(message)))
    assert reading is None
    assert len(read) == referrals.MAX_DOCUMENTS_TRIED + 1  # three documents and the logo
    not_read = [r for r in refusals if "reads at most 3 documents" in r]
    assert [r.split(":")[0] for r in not_read] == [f"document {n}.docx" for n in range(3, 10)]
