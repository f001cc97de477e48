"""The whole record of one case as a Word document (.docx), for the child's file.

Bury's policy asks that "a clear record should be kept by everyone at all stages" and that
challenge is "recorded on the child's file": this is that record. It carries the referral's
answers, the people by role, each stage with the dates it began and ended and the deadline
the policy set for it, every event of the history with its time and actor, and the outcome
or decision. ``mailbot cases export`` writes it, and the closing emails (outcome and
decision) attach it. Built with python-docx and returned as bytes.
"""

from __future__ import annotations

import re
from io import BytesIO
from zoneinfo import ZoneInfo

from docx import Document
from docx.document import Document as DocxDocument
from docx.shared import Pt

from mailbot.adapters.plain_dates import date_phrase
from mailbot.domain.case import Case, EventKind
from mailbot.domain.policy import Policy
from mailbot.domain.stage_visits import stage_visits, timescale_words
from mailbot.domain.working_days import LONDON, WorkingCalendar

MIME_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PLACE_ON_FILE = ("Place this record on the child's file: the policy asks that the challenge,"
                 " and how it was resolved, is recorded there.")
# XML 1.0 refuses these characters; a pasted form field can carry them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def case_record_filename(reference: str) -> str:
    return f"{reference}-case-record.docx"


def when(moment, tz: ZoneInfo = LONDON) -> str:
    """A moment as the record shows it: '2026-12-08 11:00' in local time; '' for none."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else ""


def event_label(kind: EventKind) -> str:
    """'DeadlineExtended' as 'Deadline extended'."""
    return kind.name.replace("_", " ").capitalize()


def build_case_record(case: Case, policy: Policy, calendar: WorkingCalendar,
                      partnership_name: str, tz: ZoneInfo = LONDON) -> bytes:
    document = Document()
    document.styles["Normal"].font.size = Pt(10)
    document.add_heading(_clean(partnership_name), level=1)
    document.add_heading(f"Case record {case.reference}", level=2)
    document.add_paragraph(PLACE_ON_FILE)
    if case.anonymised_at:
        document.add_paragraph(f"Personal data was removed from this case on"
                               f" {date_phrase(case.anonymised_at, tz=tz)}, when its retention"
                               " period ended; the dates, stages and events remain.")
    _table(document, "The case", _case_rows(case, policy, tz))
    _table(document, "The referral", _referral_rows(case))
    _table(document, "People by role", _people_rows(case, policy))
    _stages(document, case, policy, calendar, tz)
    _closing(document, case)
    _history(document, case, tz)
    buffer = BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _case_rows(case: Case, policy: Policy, tz: ZoneInfo) -> list[tuple[str, str]]:
    r = case.referral
    stage = policy.stage(case.stage).name if policy.has_stage(case.stage) else ""
    return [
        ("Partnership", policy.name), ("Reference", case.reference),
        ("Status", case.status.value), ("Opened", when(case.opened_at, tz)),
        ("Closed", when(case.closed_at, tz) or "still open"),
        ("Stage", f"Stage {case.stage}: {stage}" if stage else f"Stage {case.stage}"),
        ("Child's name", r.child_name), ("Child's date of birth", date_phrase(r.child_dob)),
        ("Category of disagreement", r.disagreement_category),
        ("Child Protection Plan", _yes_no(r.child_protection_plan)),
        ("Looked After", _yes_no(r.looked_after)), ("Immediate risk", _yes_no(r.immediate_risk)),
    ]


def _referral_rows(case: Case) -> list[tuple[str, str]]:
    r = case.referral
    referrer = ", ".join(v for v in (r.referrer_name, r.referrer_role, r.referrer_email,
                                     r.referrer_phone) if v)
    lead = ", ".join(v for v in (r.safeguarding_lead_name, r.safeguarding_lead_email) if v)
    other = ", ".join(v for v in (r.other_agency_contact_name, r.other_agency_contact_email) if v)
    rows = [
        ("Date of notification", date_phrase(r.date_of_notification)),
        ("Referrer", referrer), ("Referrer's agency", _agency(r.referrer_agency, r.referrer_agency_type)),
        ("Safeguarding lead aware", _yes_no(r.safeguarding_lead_aware)), ("Safeguarding lead", lead),
        ("Other agency", _agency(r.other_agency, r.other_agency_type)), ("Other agency's contact", other),
        ("Stage reached before the referral", str(r.stage_reached or "")),
        ("Summary of the disagreement", r.summary),
        ("Evidence of the challenge at earlier stages", r.earlier_stages_evidence),
        ("Desired outcome for the child and family", r.desired_outcome),
    ]
    return rows + [(label, value) for label, value in r.extra]


def _people_rows(case: Case, policy: Policy) -> list[tuple[str, str]]:
    order = list(policy.roles)
    roles = sorted(case.parties, key=lambda k: order.index(k) if k in order else len(order))
    return [(policy.role_name(role), "\n".join(p.formatted() for p in case.parties[role]))
            for role in roles if case.parties[role]] or [("Nobody named", "")]


def _stages(document: DocxDocument, case: Case, policy: Policy, calendar: WorkingCalendar,
            tz: ZoneInfo) -> None:
    document.add_heading("Stages", level=3)
    table = _grid(document, ("Stage", "Began", "Ended", "Deadline", "Policy timescale", "Extended"))
    visits = stage_visits(((e.at, e.kind, e.stage) for e in case.history), policy, calendar)
    for i, visit in enumerate(visits):
        current = case.is_open and i == len(visits) - 1
        # The current stage's deadline is the case's own (with any extension); an earlier
        # stage's is the one its policy timescale set when the case entered it.
        deadline = case.deadline if current else visit.due
        name = policy.stage(visit.stage).name if policy.has_stage(visit.stage) else ""
        _add_row(table, (f"Stage {visit.stage}: {name}", when(visit.entered, tz),
                         when(visit.left, tz) or "current", when(deadline, tz),
                         timescale_words(policy, visit.stage), str(visit.extensions)))
    document.add_paragraph()


def _closing(document: DocxDocument, case: Case) -> None:
    for title, text in (("Outcome", case.outcome), ("Decision", case.decision)):
        if text:
            document.add_heading(title, level=3)
            for line in _clean(text).split("\n"):
                document.add_paragraph(line)


def _history(document: DocxDocument, case: Case, tz: ZoneInfo) -> None:
    document.add_heading("History", level=3)
    table = _grid(document, ("Time", "Event", "By", "Stage", "Details"))
    for event in case.history:
        _add_row(table, (when(event.at, tz), event_label(event.kind), event.actor,
                         str(event.stage), event.text))


def _table(document: DocxDocument, title: str, rows: list[tuple[str, str]]) -> None:
    document.add_heading(title, level=3)
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in rows:
        _add_row(table, (label, value))
    document.add_paragraph()


def _grid(document: DocxDocument, header: tuple[str, ...]):
    table = document.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = text
        cell.paragraphs[0].runs[0].bold = True
    return table


def _add_row(table, values: tuple[str, ...]) -> None:
    for cell, value in zip(table.add_row().cells, values, strict=True):
        cell.text = _clean(value)


def _agency(name: str, kind) -> str:
    words = kind.value.replace("_", " ") if kind else ""
    return f"{name} ({words})" if name and words else name or words


def _yes_no(value: bool | None) -> str:
    return "" if value is None else "Yes" if value else "No"


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text or "")
