"""The decision notice (.docx) attached to the final decision sent to the referrer.

Each partnership's notice is in its own terms (the policy's ``[decision_notice]``): Bury's is
its Request for Resolution (Appendix 1) completed as the "Outcome Resolution Notice", with the
seed's own wording; the others give the referral, the stages the case went through and the
decision, attributed as the policy attributes it (City & Hackney's Commissioner, Birmingham's
meeting chaired by an uninvolved Board member). Built with python-docx and returned as bytes.
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
from mailbot.domain.policy import Policy
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
    maker: str  # whose decision, as the policy attributes it ("the BSCP Business Manager")
    decided_at: datetime
    decided_by: str = ""  # who sent the DECISION command


def decision_notice_filename(reference: str) -> str:
    return f"{reference}-decision-notice.docx"


def build_decision_notice(case: Case, decision: Decision, policy: Policy,
                          partnership_address: str = "", tz: ZoneInfo = LONDON) -> bytes:
    document = Document()
    document.styles["Normal"].font.size = Pt(11)
    terms = policy.decision_notice
    document.add_heading(_clean(policy.name), level=1)
    document.add_heading(_clean(terms.title), level=2)
    if terms.layout == "appendix_1":
        if partnership_address:
            document.add_paragraph("THIS DOCUMENT MUST BE SENT/STORED SECURELY TO"
                                   f" {_clean(partnership_address)}")
        _table(document, appendix_rows(case, tz))
    else:
        _table(document, summary_rows(case, policy, tz))
    _stage_table(document, case, decision, policy, tz)
    if terms.closing:
        document.add_paragraph(_clean(terms.closing))
    buffer = BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def appendix_rows(case: Case, tz: ZoneInfo) -> list[tuple[str, str | None]]:
    """Bury's Appendix 1, box by box, in the seed's words."""
    r = case.referral
    aware = r.safeguarding_lead_aware
    lead = "Yes" if aware else "No" if aware is False else "Yes / No"
    contact = ", ".join(v for v in (r.referrer_email, r.referrer_phone) if v)
    return [
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


def summary_rows(case: Case, policy: Policy, tz: ZoneInfo) -> list[tuple[str, str | None]]:
    """The referral as any partnership's notice gives it, with what came before in full."""
    r = case.referral
    referrer = ", ".join(v for v in (r.referrer_name, r.referrer_role, r.referrer_agency,
                                     r.referrer_email, r.referrer_phone) if v)
    rows: list[tuple[str, str | None]] = [
        ("Reference", case.reference),
        ("Date of notification", date_phrase(r.date_of_notification or case.opened_at, tz=tz)),
        ("Child's name", r.child_name),
        ("Child's date of birth", date_phrase(r.child_dob)),
        ("Referrer (the worker who raised the concern)", referrer),
        ("Other agency", r.other_agency),
        ("Summary of disagreement", r.summary),
        ("Evidence of the challenge at earlier stages", r.earlier_stages_evidence),
        ("Actions taken to date", r.actions_to_date),
        ("Rationale for referring to the partnership", r.referral_rationale),
        ("Desired outcome for the child and / or family", r.desired_outcome),
    ]
    return [(label, value) for label, value in rows if value or label in _ALWAYS]


_ALWAYS = {"Reference", "Child's name", "Summary of disagreement"}


def _table(document: DocxDocument, rows: list[tuple[str, str | None]]) -> None:
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in rows:
        cells = table.add_row().cells
        if value is None:  # a section heading spanning the row, as in the seed
            cells[0].merge(cells[1]).text = label
            continue
        cells[0].text, cells[1].text = label, _clean(value)
    document.add_paragraph()


def _stage_table(document: DocxDocument, case: Case, decision: Decision, policy: Policy,
                 tz: ZoneInfo) -> None:
    table = document.add_table(rows=1, cols=3)
    table.style = "Table Grid"
    header = table.rows[0].cells
    header[0].text, header[1].text, header[2].text = (_step(policy), "Date Outcome Resolved",
                                                      _SUPPORTING)
    for label, ended, evidence in earlier_stages(case, policy, tz):
        cells = table.add_row().cells
        cells[0].text, cells[1].text, cells[2].text = label, ended, _clean(evidence)
    cells = table.add_row().cells
    cells[0].text = _clean(policy.decision_notice.decision_row)
    cells[1].text = date_phrase(decision.decided_at, tz=tz)
    maker = decision.maker + (f" (recorded by {decision.decided_by})" if decision.decided_by else "")
    cells[2].text = f"{FINAL_DECISION_LABEL} {_clean(maker)}"
    for line in _clean(decision.text).split("\n"):
        cells[2].add_paragraph(line)
    document.add_paragraph()


def earlier_stages(case: Case, policy: Policy, tz: ZoneInfo) -> list[tuple[str, str, str]]:
    """(stage, date it ended, what happened) for each stage the case left, after the rows the
    referral brought with it (Bury's stage 3 row)."""
    r = case.referral
    rows: list[tuple[str, str, str]] = []
    if r.stage_3_outcome_date or r.stage_3_evidence:
        rows.append(("Stage 3 (from the Request for Resolution)",
                     date_phrase(r.stage_3_outcome_date), r.stage_3_evidence))
    previous = None
    for event in case.history:
        left = event.kind in _LEFT_STAGE and previous not in (None, event.stage, case.stage)
        if left:
            rows.append((f"{_step(policy)} {previous}", date_phrase(event.at, tz=tz),
                         event.text))
        previous = event.stage
    return rows


def _step(policy: Policy) -> str:
    """Appendix 1 itself says "Stage 3", "Stage 4", though Bury's procedure says "Level"."""
    return "Stage" if policy.decision_notice.layout == "appendix_1" else policy.step_word


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text or "")
