"""Build each partnership's blank Request for Resolution form, and filled copies of it.

One source for every form in ``forms/`` (written by ``forms/build_forms.py``): a table of label
cells and answer cells, each answer a content control tagged with its field key, so the reader
finds answers by tag in Word and by label once another program has dropped the tags. Bury's
form keeps the wording and order of its policy's Appendix 1, with the other fields after it.
``fill_form`` gives a filled copy for tests and ``mailbot demo``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from itertools import count
from xml.sax.saxutils import escape, quoteattr

import docx
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from docx.shared import Pt
from docx.table import _Cell

from mailbot.domain.referral import AgencyType
from mailbot.intake import fields as F

WORD_PROMPT = "Click or tap here to enter text."
DATE_PROMPT = "Click or tap to enter a date."
CHOICE_PROMPT = "Choose an item."
STAGE_OPTIONS = ("Stage 1", "Stage 2", "Stage 3", "Stage 4")


@dataclass(frozen=True)
class Partnership:
    name: str  # as the policy names it ("Board" where the seed says Board)
    address: str  # the seed's own mailbox, where it names one
    rationale_label: str = "Rationale for referring to the partnership"


PARTNERSHIPS: dict[str, Partnership] = {
    "berkshire": Partnership("Berkshire Safeguarding Children Partnerships", ""),
    "hackney": Partnership("City & Hackney Safeguarding Children Partnership",
                           "chscp@hackney.gov.uk", "Rationale for the involvement of the ICSC"),
    "birmingham": Partnership("Birmingham Safeguarding Children Board", ""),
    "bury": Partnership("Bury Safeguarding Children Partnership", "bsp@bury.gov.uk"),
    "bromley": Partnership("Bromley Safeguarding Children Board", "bscb@bromley.gov.uk",
                           "Rationale for referring to the independent chair"),
}

# Layout rows: ("heading", text), ("field", key, label), ("below", key, label) for long answers
# written in the row under their label, ("contact", label) and ("lead", label) for Bury's two
# combined cells.
_GENERIC: tuple[tuple[str, ...], ...] = (
    ("heading", "About the child"),
    ("field", "date_of_notification", "Date of notification"),
    ("field", "child_name", "Child's name"),
    ("field", "child_dob", "Child's date of birth"),
    ("field", "child_protection_plan", "Is the child subject to a Child Protection Plan?"),
    ("field", "looked_after", "Is the child Looked After?"),
    ("field", "immediate_risk", "Is the child at immediate risk?"),
    ("heading", "Referrer details"),
    *(("field", key, F.FIELD_BY_KEY[key].label) for key in (
        "referrer_name", "referrer_role", "referrer_agency", "referrer_agency_type",
        "referrer_email", "referrer_phone", "safeguarding_lead_aware", "safeguarding_lead_name",
        "safeguarding_lead_email")),
    ("heading", "The other agency"),
    *(("field", key, F.FIELD_BY_KEY[key].label) for key in (
        "other_agency", "other_agency_type", "other_agency_contact_name",
        "other_agency_contact_email")),
    ("heading", "The disagreement"),
    ("field", "disagreement_category", "Category of disagreement"),
    ("field", "stage_reached", "Stage reached so far"),
    ("below", "summary", "Summary of disagreement"),
    ("below", "earlier_stages_evidence", F.FIELD_BY_KEY["earlier_stages_evidence"].label),
    ("below", "desired_outcome", "Desired outcome for the child and / or family. Please "
     "include details of what it is you are requesting happens as a result of this challenge"),
    ("below", "actions_to_date", "Actions taken to date"),
    ("below", "referral_rationale", "{rationale}"),
)
_BURY: tuple[tuple[str, ...], ...] = (
    ("field", "date_of_notification", "Date of Notification"),
    ("field", "child_name", "Name of Child/Young Person"),
    ("field", "child_dob", "D.O.B"),
    ("heading", "Outcome Resolution Notice Referrer details:"),
    ("field", "referrer_name", "Name"),
    ("field", "referrer_role", "Role"),
    ("field", "referrer_agency", "Agency/Team"),
    ("contact", "Contact Details"),
    ("lead", "Designated safeguarding lead aware of this notice?"),
    ("below", "summary", "Summary of disagreement"),
    ("below", "earlier_stages_evidence", "Evidence of the challenge that has taken place at "
     "stages 1, 2 & 3 and the outcome at each stage"),
    ("below", "desired_outcome", "Desired outcome for the child and / or family. Please "
     "include details of what it is you are requesting happens as a result of this challenge"),
    ("below", "actions_to_date", "Actions taken to date"),
    ("below", "referral_rationale", "{rationale}"),
)
_BURY_EXTRA: tuple[tuple[str, ...], ...] = (
    ("heading", "Further details (optional: not part of Appendix 1)"),
    *(("field", key, F.FIELD_BY_KEY[key].label) for key in (
        "referrer_agency_type", "safeguarding_lead_email", "other_agency", "other_agency_type",
        "other_agency_contact_name", "other_agency_contact_email", "disagreement_category",
        "child_protection_plan", "looked_after", "immediate_risk", "stage_reached")),
)
_CATEGORIES = ("The nature and level of the child's needs", "The nature and severity of risk",
               "The best way to reduce the risk", "Roles and responsibilities",
               "Sharing of information", "Other")


def _display(key: str, value: object) -> str:
    """How a filled form shows a typed value."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, AgencyType):
        return F.AGENCY_TYPE_LABELS[value]
    if key == "stage_reached" and value not in (None, ""):
        return f"Stage {value}"
    return "" if value is None else str(value)


class _Builder:
    def __init__(self, values: Mapping[str, object] | None, yes_no_prompt: str,
                 rationale_label: str = "") -> None:
        self.values = dict(values or {})
        self.rationale_label = rationale_label
        self.ids = count(1001)
        self.yes_no_prompt = yes_no_prompt

    def sdt_props(self, key: str) -> tuple[str, str]:
        """(the type element of the control, its prompt) for a field."""
        kind = F.FIELD_BY_KEY[key].kind
        if kind is F.Kind.DATE:
            value = self.values.get(key)
            full = f' w:fullDate="{value.isoformat()}T00:00:00Z"' if isinstance(value, date) else ""
            return (f'<w:date{full}><w:dateFormat w:val="dd/MM/yyyy"/><w:lid w:val="en-GB"/>'
                    '<w:storeMappedDataAs w:val="dateTime"/><w:calendar w:val="gregorian"/>'
                    '</w:date>', DATE_PROMPT)
        if kind is F.Kind.YES_NO:
            return _choices("dropDownList", ("Yes", "No")), self.yes_no_prompt
        if kind is F.Kind.AGENCY_TYPE:
            return _choices("dropDownList", tuple(F.AGENCY_TYPE_LABELS.values())), CHOICE_PROMPT
        if kind is F.Kind.STAGE:
            return _choices("comboBox", STAGE_OPTIONS), CHOICE_PROMPT
        if key == "disagreement_category":
            return _choices("comboBox", _CATEGORIES), CHOICE_PROMPT
        return '<w:text w:multiLine="1"/>' if kind is F.Kind.LONG_TEXT else "<w:text/>", WORD_PROMPT

    def inline_control(self, key: str) -> str:
        type_xml, prompt = self.sdt_props(key)
        shown = _display(key, self.values.get(key))
        return (f"<w:sdt {nsdecls('w')}><w:sdtPr>{self._head(key, not shown)}{type_xml}"
                f"</w:sdtPr><w:sdtContent>{_run(shown or prompt, prompt=not shown)}"
                "</w:sdtContent></w:sdt>")

    def block_control(self, key: str) -> str:
        shown = _display(key, self.values.get(key))
        lines = shown.splitlines() or [""]
        paragraphs = "".join(f"<w:p>{_run(line)}</w:p>" for line in lines) if shown else \
            f"<w:p>{_run(WORD_PROMPT, prompt=True)}</w:p>"
        return (f"<w:sdt {nsdecls('w')}><w:sdtPr>{self._head(key, not shown)}</w:sdtPr>"
                f"<w:sdtContent>{paragraphs}</w:sdtContent></w:sdt>")

    def _head(self, key: str, empty: bool) -> str:
        alias = quoteattr(F.FIELD_BY_KEY[key].label[:60])
        return (f'<w:alias w:val={alias}/><w:tag w:val="{key}"/><w:id w:val="{next(self.ids)}"/>'
                + ("<w:showingPlcHdr/>" if empty else ""))

    # ------------------------------------------------------------ cells

    def put_control(self, cell: _Cell, key: str, before: str = "") -> None:
        paragraph = cell.paragraphs[-1]
        if before:
            paragraph.add_run(before)
        paragraph._p.append(parse_xml(self.inline_control(key)))

    def put_block(self, cell: _Cell, key: str) -> None:
        cell._tc.remove(cell.paragraphs[0]._p)
        cell._tc.append(parse_xml(self.block_control(key)))


def _choices(kind: str, items: tuple[str, ...]) -> str:
    entries = "".join(f"<w:listItem w:displayText={quoteattr(i)} w:value={quoteattr(i)}/>"
                      for i in items)
    return f"<w:{kind}>{entries}</w:{kind}>"


def _run(text: str, prompt: bool = False) -> str:
    colour = '<w:rPr><w:color w:val="808080"/></w:rPr>' if prompt else ""
    return f'<w:r {nsdecls("w")}>{colour}<w:t xml:space="preserve">{escape(text)}</w:t></w:r>'


def _table_rows(document, builder: _Builder, layout) -> None:
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for row in layout:
        if row[0] == "heading":
            cell = table.add_row().cells[0].merge(table.rows[-1].cells[1])
            cell.paragraphs[0].add_run(row[1]).bold = True
        elif row[0] == "field":
            left, right = table.add_row().cells
            left.text = row[2]
            builder.put_control(right, row[1])
        elif row[0] == "below":
            label = table.add_row().cells[0].merge(table.rows[-1].cells[1])
            label.text = row[2].format(rationale=builder.rationale_label)
            answer = table.add_row().cells[0].merge(table.rows[-1].cells[1])
            builder.put_block(answer, row[1])
        else:
            _combined_row(table, builder, row)


def _combined_row(table, builder: _Builder, row: tuple[str, ...]) -> None:
    left, right = table.add_row().cells
    left.text = row[1]
    if row[0] == "contact":
        builder.put_control(right, "referrer_email", "Email: ")
        right.add_paragraph()
        builder.put_control(right, "referrer_phone", "Phone: ")
        return
    builder.put_control(right, "safeguarding_lead_aware", "  ")
    right.add_paragraph("   ")
    right.add_paragraph()
    builder.put_control(right, "safeguarding_lead_name", "  Name of safeguarding lead: ")


def build_form(partnership: str, values: Mapping[str, object] | None = None) -> bytes:
    """The partnership's form as .docx bytes; with ``values`` (field key -> value), filled."""
    if partnership not in PARTNERSHIPS:
        raise KeyError(f"no form for partnership {partnership!r}")
    info = PARTNERSHIPS[partnership]
    document = docx.Document()
    document.styles["Normal"].font.size = Pt(11)
    document.core_properties.title = f"{info.name}: Request for Resolution"
    document.core_properties.author = "mailbot"
    if partnership == "bury":
        _bury(document, _Builder(values, "Yes / No"), info)
    else:
        _generic(document, _Builder(values, CHOICE_PROMPT, info.rationale_label), info)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def fill_form(partnership: str, values: Mapping[str, object]) -> bytes:
    """A filled copy of the partnership's form, as a referrer would send it."""
    unknown = set(values) - set(F.FIELD_BY_KEY)
    if unknown:
        raise KeyError(f"not form fields: {', '.join(sorted(unknown))}")
    return build_form(partnership, values)


def _bury(document, builder: _Builder, info: Partnership) -> None:
    document.add_paragraph("APPENDIX 1").runs[0].bold = True
    document.add_paragraph("Request for Resolution Document").runs[0].bold = True
    document.add_paragraph(f"THIS DOCUMENT MUST BE SENT/STORED SECURELY TO {info.address} ")
    _table_rows(document, builder, _BURY)
    document.add_paragraph()
    stages = document.add_table(rows=3, cols=3)
    stages.style = "Table Grid"
    for cell, text in zip(stages.rows[0].cells, ("Stage", "Date Outcome Resolved",
                          "Supporting Evidence\n\nEmbed written confirmation between parties "
                          "about the agreed outcome"), strict=True):
        cell.text = text
    stages.cell(1, 0).text = "Stage 3"
    stages.cell(1, 1).text = _display("stage_3_outcome_date", builder.values.get("stage_3_outcome_date"))
    stages.cell(1, 2).text = _display("stage_3_evidence", builder.values.get("stage_3_evidence"))
    stages.cell(2, 0).text = "Stage 4 (to be completed by Safeguarding Partnership Business Unit)"
    stages.cell(2, 2).text = " Final decision of:"
    document.add_paragraph("Once stage 4 has concluded, the escalation notice will be completed, "
                           "and a copy of the notice will be sent to the  referrer informing "
                           "them of the decision in writing. ")
    document.add_paragraph()
    _table_rows(document, builder, _BURY_EXTRA)


def _generic(document, builder: _Builder, info: Partnership) -> None:
    document.add_heading(info.name, level=1)
    document.add_heading("Request for Resolution", level=2)
    where = f" to {info.address}" if info.address else " to the partnership's business manager"
    document.add_paragraph(
        "Use this form to escalate a professional disagreement about a child's safety. Fill in "
        "the grey boxes, save the form as a Word document (.docx) and email it" + where + ".")
    _table_rows(document, builder, _GENERIC)
