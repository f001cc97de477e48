"""The Word form reader on Word-shaped XML written by hand, and on the project's own forms."""

from datetime import date
from pathlib import Path

import form_samples as S
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.domain.errors import FormError
from mailbot.domain.referral import AgencyType
from mailbot.intake import fields as F
from mailbot.intake.docx_form import read_form_attachment
from mailbot.intake.form_builder import PARTNERSHIPS, build_form, fill_form

ROOT = Path(__file__).resolve().parents[2]
STRICT_NS = "http://purl.oclc.org/ooxml/wordprocessingml/main"
DAMAGE_BASE = build_form("hackney")


def row(label: str, value_xml: str) -> str:
    return (f"<w:tr><w:tc><w:p><w:r><w:t>{label}</w:t></w:r></w:p></w:tc>"
            f"<w:tc><w:p>{value_xml}</w:p></w:tc></w:tr>")


def runs(*texts: str) -> str:
    return "".join(f'<w:r><w:t xml:space="preserve">{t}</w:t></w:r>' for t in texts)


def sdt(props: str, content: str) -> str:
    return f"<w:sdt><w:sdtPr>{props}</w:sdtPr><w:sdtContent>{content}</w:sdtContent></w:sdt>"


def legacy(ff: str, instr: str, result: str = "") -> str:
    return (f'<w:r><w:fldChar w:fldCharType="begin"><w:ffData>{ff}</w:ffData></w:fldChar></w:r>'
            f'<w:r><w:instrText xml:space="preserve"> {instr} </w:instrText></w:r>'
            f'<w:r><w:fldChar w:fldCharType="separate"/></w:r>{result}'
            f'<w:r><w:fldChar w:fldCharType="end"/></w:r>')


def checkbox(checked: bool) -> str:
    return legacy(f'<w:name w:val="Check1"/><w:checkBox><w:sizeAuto/><w:default w:val="0"/>'
                  f'<w:checked w:val="{int(checked)}"/></w:checkBox>', "FORMCHECKBOX")


WORD_SHAPED = S.document(
    "<w:tbl>"
    + row("Child\u2019s name", sdt('<w:tag w:val="child_name"/><w:text/>', runs("Sa", "m ", "Smith")))
    + row("Date of birth", sdt('<w:tag w:val="child_dob"/><w:date w:fullDate="2015-07-14T00:00:00Z">'
                               '<w:dateFormat w:val="dd/MM/yyyy"/></w:date>', runs("14/07/2015")))
    + row("Is the child Looked After?", sdt(
        '<w:dropDownList><w:listItem w:value="Yes"/><w:listItem w:value="No"/></w:dropDownList>',
        runs("No")))
    + row("Is the child at immediate risk?", sdt(
        '<w14:checkbox><w14:checked w14:val="1"/></w14:checkbox>', runs("\u2612")))
    + row("Referrer\u2019s name", sdt('<w:tag w:val="referrer_name"/><w:showingPlcHdr/><w:text/>',
                                      runs("Click or tap here to enter text.")))
    + row("Referrer\u2019s role", legacy('<w:name w:val="Text1"/><w:textInput/>', "FORMTEXT",
                                         runs("Family ", "support worker")))
    + row("Is the child subject to a Child Protection Plan?",
          checkbox(False) + runs(" Yes ") + checkbox(True) + runs(" No"))
    + row("Type of other agency", legacy(
        '<w:name w:val="Dropdown1"/><w:ddList><w:result w:val="2"/><w:listEntry w:val=" "/>'
        '<w:listEntry w:val="School"/><w:listEntry w:val="Health"/></w:ddList>', "FORMDROPDOWN"))
    + '<w:tr><w:tc><w:tcPr><w:gridSpan w:val="2"/></w:tcPr><w:p>' + runs("The other agency")
    + "</w:p></w:tc></w:tr>"
    + row("Name", runs("Ann Lee"))
    + '<w:tr><w:tc><w:tcPr><w:vMerge w:val="restart"/></w:tcPr><w:p>' + runs("Other agency")
    + "</w:p></w:tc><w:tc><w:p>" + runs("Bury Primary") + "</w:p></w:tc></w:tr>"
    + "<w:tr><w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p/></w:tc><w:tc><w:p>" + runs("Infant site")
    + "</w:p></w:tc></w:tr>"
    + "</w:tbl>"
    + "<w:p>" + runs("Summary of disagreement:") + "</w:p>"
    + "<w:p>" + runs("First line") + "<w:r><w:br/><w:t>second line</w:t></w:r></w:p>"
    + "<w:p><w:del><w:r><w:delText>Old words</w:delText></w:r></w:del><w:ins><w:r>"
    + "<w:t>Third paragraph</w:t></w:r></w:ins></w:p>"
    + "<w:p>" + runs("Referrer\u2019s email: ", "jane@bury.gov.uk") + "</w:p>"
)
WORD_SHAPED_EXPECTED = {
    "child_name": "Sam Smith", "child_dob": date(2015, 7, 14), "looked_after": False,
    "immediate_risk": True, "referrer_role": "Family support worker",
    "child_protection_plan": False, "other_agency_type": AgencyType.HEALTH,
    "other_agency_contact_name": "Ann Lee", "other_agency": "Bury Primary Infant site",
    "summary": "First line\nsecond line\nThird paragraph", "referrer_email": "jane@bury.gov.uk",
}


def test_word_shaped_xml_with_content_controls_and_legacy_fields_is_read_right():
    reading = read_form_attachment(S.package(WORD_SHAPED))
    assert reading.values() == WORD_SHAPED_EXPECTED
    assert not reading.errors


def test_the_same_form_in_iso_strict_namespaces_reads_the_same():
    strict = WORD_SHAPED.replace(S.W_NS, STRICT_NS)
    assert read_form_attachment(S.package(strict)).values() == WORD_SHAPED_EXPECTED


def test_the_reading_says_where_each_answer_was_found():
    reading = read_form_attachment(S.package(WORD_SHAPED))
    assert reading.fields["child_name"].where == "content control 'child_name'"
    assert reading.fields["referrer_role"].where.startswith("table 1 row 6")
    assert reading.fields["summary"].where.startswith("paragraph line")


def test_an_untouched_content_control_is_an_empty_answer():
    reading = read_form_attachment(S.package(WORD_SHAPED))
    assert "referrer_name" not in reading.fields
    prompt = next(c for c in reading.controls if c.name == "referrer_name")
    assert prompt.placeholder and prompt.value == ""


def test_every_control_is_reported_with_its_kind_and_value():
    controls = read_form_attachment(S.package(WORD_SHAPED)).controls
    kinds = [(c.source, c.kind, c.value) for c in controls]
    assert ("content control", "date", "2015-07-14T00:00:00Z") in kinds
    assert ("content control", "checkbox", True) in kinds
    assert ("legacy field", "dropdown", "Health") in kinds
    assert ("legacy field", "text", "Family support worker") in kinds
    assert [v for s, k, v in kinds if k == "checkbox" and s == "legacy field"] == [False, True]


def test_legacy_fields_named_after_a_field_are_read_without_a_label():
    body = ("<w:p>" + legacy('<w:name w:val="ChildName"/><w:textInput/>', "FORMTEXT",
                             runs("Alex Brown")) + "</w:p>")
    assert read_form_attachment(S.package(S.document(body))).value("child_name") == "Alex Brown"


def test_check_boxes_tagged_with_a_field_and_a_value_pick_that_value():
    body = "".join(
        "<w:p>" + sdt(f'<w:tag w:val="referrer_agency_type={value}"/><w14:checkbox>'
                      f'<w14:checked w14:val="{int(ticked)}"/></w14:checkbox>', runs("x"))
        + runs(f" {value}") + "</w:p>"
        for value, ticked in (("school", False), ("health", True)))
    reading = read_form_attachment(S.package(S.document(body)))
    assert reading.value("referrer_agency_type") is AgencyType.HEALTH


def test_label_and_answer_in_the_same_cell_after_a_colon():
    body = ("<w:tbl><w:tr><w:tc><w:p>" + runs("Child\u2019s name: Robin Hood") +
            "</w:p></w:tc><w:tc><w:p>" + runs("D.O.B: 1/2/2016") + "</w:p></w:tc></w:tr></w:tbl>")
    reading = read_form_attachment(S.package(S.document(body)))
    assert reading.values() == {"child_name": "Robin Hood", "child_dob": date(2016, 2, 1)}


def test_a_row_of_labels_over_a_row_of_answers_is_read_by_column():
    def cells(*texts: str) -> str:
        return "<w:tr>" + "".join(f"<w:tc><w:p>{runs(t)}</w:p></w:tc>" for t in texts) + "</w:tr>"
    body = ("<w:tbl>" + cells("Child's name", "Date of birth", "Stage reached")
            + cells("Kim Lee", "3 May 2014", "Stage 2") + "</w:tbl>")
    reading = read_form_attachment(S.package(S.document(body)))
    assert reading.values() == {"child_name": "Kim Lee", "child_dob": date(2014, 5, 3),
                                "stage_reached": 2}


def test_an_impossible_date_is_an_error_naming_the_field_not_a_guess():
    body = "<w:p>" + runs("Date of birth: 31/02/2015") + "</w:p>"
    reading = read_form_attachment(S.package(S.document(body)))
    assert "child_dob" not in reading.fields
    assert "not a real date" in reading.errors["child_dob"]


def test_struck_through_words_are_not_read():
    body = ("<w:p>" + runs("Is the child Looked After? Yes / ")
            + '<w:r><w:rPr><w:strike/></w:rPr><w:t>No</w:t></w:r></w:p>')
    assert read_form_attachment(S.package(S.document(body))).value("looked_after") is True


def test_a_damaged_document_part_is_refused_not_raised():
    with pytest.raises(FormError) as caught:
        read_form_attachment(S.package(b"<w:document><w:body><w:p>"))
    assert caught.value.code == "corrupt"


def test_a_package_whose_main_part_is_missing_is_refused():
    data = S.package(S.document(""))
    broken = data.replace(b"word/document.xml", b"word/elsewhere.xml")
    with pytest.raises(FormError):
        read_form_attachment(broken)


# ---------------------------------------------------------------- the project's own forms



@pytest.mark.parametrize("partnership", sorted(PARTNERSHIPS))
def test_each_generated_form_filled_in_is_read_with_every_field_right(partnership):
    reading = read_form_attachment(fill_form(partnership, S.FILLED))
    assert reading.values() == S.FILLED
    assert not reading.errors and not reading.warnings


@pytest.mark.parametrize("partnership", sorted(PARTNERSHIPS))
def test_each_blank_form_in_the_forms_folder_reads_as_empty(partnership):
    reading = read_form_attachment((ROOT / "forms" / f"{partnership}.docx").read_bytes())
    assert reading.values() == {} and not reading.errors


@pytest.mark.parametrize("partnership", sorted(PARTNERSHIPS))
def test_each_form_carries_every_field_once_as_a_tagged_content_control(partnership):
    controls = read_form_attachment(build_form(partnership)).controls
    tags = [c.name for c in controls if c.source == "content control"]
    # Bury's outcome table rows are table cells, as in its Appendix 1, not controls.
    table_rows = {"stage_3_outcome_date", "stage_3_evidence", "stage_4_outcome_date",
                  "stage_4_final_decision"}
    assert sorted(tags) == sorted(set(F.FIELD_BY_KEY) - table_rows)
    assert all(c.placeholder for c in controls)


def test_the_bury_form_keeps_the_appendix_wording_in_order():
    reading = read_form_attachment(build_form("bury"))
    del reading  # the form reads; now check its printed labels in order
    import io

    import docx
    document = docx.Document(io.BytesIO(build_form("bury")))
    labels = [r.cells[0].text for r in document.tables[0].rows]
    expected = ["Date of Notification", "Name of Child/Young Person", "D.O.B",
                "Outcome Resolution Notice Referrer details:", "Name", "Role", "Agency/Team",
                "Contact Details", "Designated safeguarding lead aware of this notice?",
                "Summary of disagreement"]
    assert labels[:10] == expected
    assert labels[11].startswith("Evidence of the challenge that has taken place at stages 1, 2")
    assert labels[13].startswith("Desired outcome for the child and / or family. Please include")


def test_filling_a_field_the_form_does_not_have_is_refused():
    with pytest.raises(KeyError):
        fill_form("bury", {"favourite_colour": "blue"})


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=8))
def test_a_form_damaged_anywhere_is_read_or_refused_never_crashed(flips):
    data = bytearray(DAMAGE_BASE)
    for position, value in flips:
        data[position % len(data)] = value
    try:
        read_form_attachment(bytes(data))
    except FormError as refusal:
        assert refusal.code


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=0), st.sampled_from(list(b'<>/"= w:abpt'))),
                min_size=1, max_size=20))
def test_document_xml_damaged_anywhere_is_read_or_refused_never_crashed(flips):
    xml = bytearray(WORD_SHAPED.encode())
    for position, value in flips:
        xml[position % len(xml)] = value
    try:
        read_form_attachment(S.package(bytes(xml)))
    except FormError as refusal:
        assert refusal.code
