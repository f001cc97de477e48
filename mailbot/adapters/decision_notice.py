"""The decision notice (.docx) attached to the final decision sent to the referrer.

It is the seed's Request for Resolution (Bury, Appendix 1) completed as the "Outcome
Resolution Notice": the referral's answers, then the stage table whose final row,
"Final decision of:", carries the decision maker, the decision and its date. The seed's
own wording is kept so the partnership recognises its form. Built with python-docx and
returned as bytes; nothing is written to disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from zoneinfo import ZoneInfo

from docx import Document
from docx.document import Document as DocxDocument
from docx.shared import Pt

from mailbot.adapters.plain_dates import date_phrase
from mailbot.domain.case import Case, EventKind
from mailbot.domain.working_days import LONDON

MIME_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FINAL_DECISION_LABEL = "Final decision of:"
_SUPPORTING = ("Supporting Evidence\n\nEmbed written confirmation between parties about the"
               " agreed outcome")
# XML 1.0 refuses these characters; a pasted form field can carry them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_LEFT_STAGE = (EventKind.ESCALATED, EventKind.MOVED_TO_STAGE)


@dataclass(frozen=True)
class Decision:
    text: str
    maker: str  # the role name, e.g. "BSCP Business Manager"
    decided_at: datetime
    decided_by: str = ""  # who sent the DECISION command


def decision_notice_filename(reference: str) -> str:
    return f"{reference}-decision-notice.docx"


def build_decision_notice(case: Case, decision: Decision, partnership_name: str,
                          partnership_address: str = "", tz: ZoneInfo = LONDON) -> bytes:
    document = Document()
    document.styles["Normal"].font.size = Pt(11)
    _heading(document, partnership_name, partnership_address)
    _referral_table(document, case, tz)
    _stage_table(document, case, decision, tz)
    document.add_paragraph(_clean(
        f"Once stage {case.stage} has concluded, the escalation notice will be completed, and a"
        " copy of the notice will be sent to the referrer informing them of the decision in"
        " writing."))
    buffer = BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _heading(document: DocxDocument, partnership_name: str, address: str) -> None:
    document.add_heading(_clean(partnership_name), level=1)
    document.add_heading("Request for Resolution Document", level=2)
    if address:
        document.add_paragraph(f"THIS DOCUMENT MUST BE SENT/STORED SECURELY TO {_clean(address)}")


def _referral_table(document: DocxDocument, case: Case, tz: ZoneInfo) -> None:
    r = case.referral
    aware = r.safeguarding_lead_aware
    lead = "Yes" if aware else "No" if aware is False else "Yes / No"
    contact = ", ".join(v for v in (r.referrer_email, r.referrer_phone) if v)
    rows = [
        ("Reference", case.reference),
        ("Date of Notification", date_phrase(r.date_of_notification or case.opened_at, tz=tz)),
        ("Name of Child/Young Person", r.child_name),
        ("D.O.B", date_phrase(r.child_dob)),
        ("Outcome Resolution Notice Referrer details:", None),
        ("Name", r.referrer_name),
        ("Role", r.referrer_role),
        ("Agency/Team", r.referrer_agency),
        ("Contact Details", contact),
        ("Designated safeguarding lead aware of this notice?",
         f"{lead}\nName of safeguarding lead: {r.safeguarding_lead_name}"),
        ("Summary of disagreement", r.summary),
        ("Evidence of the challenge that has taken place at stages 1, 2 & 3 and the outcome at"
         " each stage", r.earlier_stages_evidence),
        ("Desired outcome for the child and / or family. Please include details of what it is"
         " you are requesting happens as a result of this challenge", r.desired_outcome),
    ]
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in rows:
        cells = table.add_row().cells
        if value is None:  # a section heading spanning the row, as in the seed
            cells[0].merge(cells[1]).text = label
            continue
        cells[0].text, cells[1].text = label, _clean(value)
    document.add_paragraph()


def _stage_table(document: DocxDocument, case: Case, decision: Decision, tz: ZoneInfo) -> None:
    table = document.add_table(rows=1, cols=3)
    table.style = "Table Grid"
    header = table.rows[0].cells
    header[0].text, header[1].text, header[2].text = "Stage", "Date Outcome Resolved", _SUPPORTING
    for number, ended, evidence in earlier_stages(case, tz):
        cells = table.add_row().cells
        cells[0].text, cells[1].text, cells[2].text = f"Stage {number}", ended, _clean(evidence)
    cells = table.add_row().cells
    cells[0].text = (f"Stage {case.stage} (to be completed by Safeguarding Partnership"
                     " Business Unit)")
    cells[1].text = date_phrase(decision.decided_at, tz=tz)
    maker = decision.maker + (f" ({decision.decided_by})" if decision.decided_by else "")
    cells[2].text = f"{FINAL_DECISION_LABEL} {_clean(maker)}"
    for line in _clean(decision.text).split("\n"):
        cells[2].add_paragraph(line)
    document.add_paragraph()


def earlier_stages(case: Case, tz: ZoneInfo) -> list[tuple[int, str, str]]:
    """(stage, date it ended, what happened) for each stage the case left before this one."""
    rows: list[tuple[int, str, str]] = []
    previous = None
    for event in case.history:
        if event.kind in _LEFT_STAGE and previous is not None and previous != event.stage:
            rows.append((previous, date_phrase(event.at, tz=tz), event.text))
        previous = event.stage
    return [row for row in rows if row[0] != case.stage]


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text or "")
