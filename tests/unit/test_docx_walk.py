"""The form walker's shortcuts (issue 18) read what the long way reads.

The walker finds a row's cells in one look unless content controls or custom XML wrap them,
reads a run without weighing its properties unless they strike, highlight or shade it, and a
form that gives the same words twice (a control, then the table cell holding it) is parsed
once. Each test here is a document where the shortcut must step aside.
"""

import form_samples as S
import pytest

from mailbot.domain.errors import FormError
from mailbot.intake.docx_form import read_form_attachment
from mailbot.intake.typegate import parse_xml


def cell(*paragraphs: str, props: str = "") -> str:
    body = "".join(f'<w:p><w:r><w:t xml:space="preserve">{p}</w:t></w:r></w:p>'
                   for p in paragraphs)
    return f"<w:tc>{f'<w:tcPr>{props}</w:tcPr>' if props else ''}{body}</w:tc>"


def control(tag: str, content: str) -> str:
    return (f'<w:sdt><w:sdtPr><w:tag w:val="{tag}"/></w:sdtPr>'
            f"<w:sdtContent>{content}</w:sdtContent></w:sdt>")


def run_of(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'


def read(body: str):
    return read_form_attachment(S.package(S.document(body)))


def test_cells_wrapped_in_a_content_control_are_read_after_the_control_is_reported():
    row = ('<w:tr><w:trPr><w:gridBefore w:val="1"/></w:trPr>'
           + control("row_control", cell("Child's name") + cell("Sam Smith")) + "</w:tr>")
    reading = read(f"<w:tbl>{row}</w:tbl>")
    assert reading.value("child_name") == "Sam Smith"
    assert [c.name for c in reading.controls] == ["row_control"]


def test_a_cell_whose_properties_come_after_its_text_still_spans_its_columns():
    late = ("<w:tc><w:p><w:r><w:t>Child's name</w:t></w:r></w:p><w:tcPr>"
            '<w:gridSpan w:val="2"/></w:tcPr></w:tc>')
    rows = (f"<w:tr>{late}{cell('Referrer name')}</w:tr>"
            f"<w:tr>{cell('Sam Smith')}{cell('under the span')}{cell('Jane Smith')}</w:tr>")
    reading = read(f"<w:tbl>{rows}</w:tbl>")
    assert reading.value("child_name") == "Sam Smith"
    assert reading.value("referrer_name") == "Jane Smith"


@pytest.mark.parametrize("props", ["", "<w:rPr/>", "<w:rPr><w:b/><w:sz w:val='24'/></w:rPr>",
                                   "<w:rPr><w:strike w:val='0'/></w:rPr>",
                                   "<w:rPr><w:highlight w:val='none'/></w:rPr>"])
def test_a_run_whose_properties_neither_strike_nor_mark_it_reads_as_written(props):
    reading = read(f"<w:p><w:r>{props}<w:t>Child's name: Sam Smith</w:t></w:r></w:p>")
    assert reading.value("child_name") == "Sam Smith"


@pytest.mark.parametrize(("props", "aware"), [
    ("<w:rPr><w:b/><w:strike/></w:rPr>", True),
    ("<w:rPr><w:dstrike w:val='true'/></w:rPr>", True),
    ("<w:rPr><w:b/><w:highlight w:val='yellow'/></w:rPr>", False),
    ("<w:rPr><w:shd w:val='clear' w:fill='FFFF00'/></w:rPr>", False),
])
def test_a_run_struck_through_or_highlighted_among_other_properties_still_counts(props, aware):
    """Striking "No" leaves Yes; highlighting "No" picks No."""
    text = "Designated safeguarding lead aware of this notice? "
    reading = read(f'<w:p><w:r><w:t xml:space="preserve">{text}Yes / </w:t></w:r>'
                   f"<w:r>{props}<w:t>No</w:t></w:r></w:p>")
    assert reading.value("safeguarding_lead_aware") is aware


def test_the_same_answer_in_a_control_and_its_cell_is_one_answer_without_a_warning():
    row = f"<w:tr>{cell('Child name')}<w:tc><w:p>{control('child_name', run_of('Sam Smith'))}" \
          "</w:p></w:tc></w:tr>"
    reading = read(f"<w:tbl>{row}</w:tbl>")
    assert reading.value("child_name") == "Sam Smith"
    assert reading.fields["child_name"].where == "content control 'child_name'"
    assert not reading.warnings


def test_a_different_answer_in_the_table_is_still_warned_about_after_the_same_one():
    rows = (f"<w:tr>{cell('Child name')}<w:tc><w:p>{control('child_name', run_of('Sam Smith'))}"
            f"</w:p></w:tc></w:tr><w:tr>{cell('Name of child')}{cell('Sam Smith')}</w:tr>"
            f"<w:tr>{cell('Child')}{cell('Samuel Smith')}</w:tr>")
    reading = read(f"<w:tbl>{rows}</w:tbl>")
    assert reading.value("child_name") == "Sam Smith"
    assert len(reading.warnings) == 1 and "answered twice" in reading.warnings[0]


def test_a_tagged_answer_is_the_control_s_alone_though_a_line_of_it_reads_like_a_label():
    """A summary that quotes another field's label is still one answer, read once: its cell
    is not read again, so it neither fills that field nor is warned about as a second answer
    to the summary."""
    summary = ("<w:p>" + run_of("The school has not shared attendance.") + "</w:p>"
               + "<w:p>" + run_of("Desired outcome: the school's view, they said.") + "</w:p>")
    rows = (f"<w:tr>{cell('Summary of disagreement')}"
            f"<w:tc>{control('summary', summary)}</w:tc></w:tr>")
    reading = read(f"<w:tbl>{rows}</w:tbl>")
    assert reading.value("summary") == ("The school has not shared attendance.\n"
                                        "Desired outcome: the school's view, they said.")
    assert reading.value("desired_outcome") is None
    assert not reading.warnings


def test_an_empty_answer_cell_leaves_its_field_to_a_later_answer():
    rows = (f"<w:tr>{cell('Child name')}{cell('')}</w:tr>"
            f"<w:tr>{cell('Name of child')}{cell('Sam Smith')}</w:tr>")
    reading = read(f"<w:tbl>{rows}</w:tbl>")
    assert reading.value("child_name") == "Sam Smith"
    assert reading.fields["child_name"].where == "table 1 row 2"


@pytest.mark.parametrize("codec", ["utf-8", "utf-16-le", "utf-16-be"])
def test_a_document_type_declaration_is_refused_in_every_encoding_the_gate_looks_for(codec):
    xml = '<!DOCTYPE w:document [<!ENTITY a "b">]><w:document xmlns:w="x"/>'
    with pytest.raises(FormError) as refused:
        parse_xml(xml.encode(codec))
    assert refused.value.code == "xml_entities"
