"""Bury, end to end: a Word form in, levels 1 to 4 by reply, chasers on working days only,
refused spoofed and non-manager commands, an ignored out-of-office, and the written decision."""

from __future__ import annotations

from datetime import date

from mailbot.domain.referral import AgencyType
from tests.e2e.harness import (
    at,
    attached,
    docx_text,
    history_rows,
    only,
    reference_of,
    shown_history,
)

BM = "business.manager@bury.test"
REFERRER = "Priya Shah <priya.shah@school.test>"
FORM = {
    "child_name": "Sam Sample",
    "child_dob": date(2015, 3, 14),
    "referrer_name": "Priya Shah",
    "referrer_email": "priya.shah@school.test",
    "referrer_agency": "Hollins Primary School",
    "referrer_agency_type": AgencyType.SCHOOL,
    "other_agency": "Children's Social Care",
    "other_agency_contact_name": "Alex Morgan",
    "other_agency_contact_email": "alex.morgan@csc.test",
    "other_agency_type": AgencyType.CHILDRENS_SOCIAL_CARE,
    "safeguarding_lead_aware": True,
    "safeguarding_lead_name": "Tom Reid",
    "safeguarding_lead_email": "tom.reid@school.test",
    "summary": "The threshold for assessment is met but the contact was closed.",
    "desired_outcome": "A child and family assessment.",
    # The story climbs the ladder from the bottom; a form stating no stage opens where the
    # policy sends referrals to the partnership (see test_seed_referrals.py).
    "stage_reached": 1,
}


def test_a_bury_referral_climbs_the_levels_and_ends_with_a_written_decision(story):
    bury = story("bury", address="bsp@bury.test", business_manager=BM)

    # Monday 23 November 2026: the form arrives.
    mails = bury.open(REFERRER, FORM, at("2026-11-23"))
    reference = reference_of(mails)
    assert reference.startswith("BSCP-2026-")
    [ack] = only(mails, "acknowledgement", "priya.shah@school.test")
    assert f"[{reference}]" in ack.subject and "Sam" not in ack.subject
    assert "MASH" in ack.text()
    assert only(mails, "new_case", BM)
    notices = [m for m in only(mails, "stage_notice") if m.recipient != "tom.reid@school.test"]
    assert {m.recipient for m in notices} >= {"priya.shah@school.test", "alex.morgan@csc.test"}
    assert all(any(n.endswith(".ics") for n in m.attachment_names()) for m in notices)
    # The safeguarding lead is consulted at every level, from Level 1 on.
    [lead] = only(mails, "stage_notice", "tom.reid@school.test")
    assert "consulted with throughout the escalation process" in lead.text()

    # Polling again with nothing new does nothing.
    assert bury.deliver_nothing(at("2026-11-23", 11)) == []

    # Level 1 lasts 10 working days: due Monday 7 December. Nothing goes out on the Saturday.
    assert bury.chase(at("2026-12-05", 12)) == []
    due = bury.chase(at("2026-12-07", 9, 30))
    assert only(due, "due_today") and not only(due, "reminder")
    assert bury.chase(at("2026-12-07", 9, 45)) == [], "never twice for the same deadline"
    overdue = bury.chase(at("2026-12-08", 9, 30))
    assert {m.recipient for m in only(overdue, "overdue")} >= {"priya.shah@school.test", BM}
    assert all(m.sent_on.weekday() < 5 for m in bury.sent() if m.template in
               ("reminder", "due_today", "overdue"))

    # An out-of-office answer to the chaser is never answered.
    ooo = only(overdue, "overdue", "alex.morgan@csc.test")[0]
    auto = bury.reply(ooo, "I am out of the office.", at("2026-12-08", 10),
                      sender="alex.morgan@csc.test", headers={"Auto-Submitted": "auto-replied"})
    assert bury.deliver(auto, at("2026-12-08", 10)) == []

    # The business manager escalates by replying to the overdue notice.
    to_bm = only(overdue, "overdue", BM)[0]
    answers = bury.deliver(bury.reply(to_bm, "ESCALATE: no agreement at level 1",
                                      at("2026-12-08", 11)), at("2026-12-08", 11))
    assert only(answers, "command_confirmation", BM)
    assert "Level 2: Line Manager to Line Manager" in bury.case_text(reference)

    # A command from the referrer, and one with a forged From line, change nothing.
    refused = bury.deliver(bury.reply(ack, "STAGE 4", at("2026-12-08", 12),
                                      sender="priya.shah@school.test"), at("2026-12-08", 12))
    assert only(refused, "command_refusal", "priya.shah@school.test")
    forged = bury.reply(to_bm, "STAGE 4", at("2026-12-08", 13), authenticated=False)
    assert only(bury.deliver(forged, at("2026-12-08", 13)), "command_refusal", BM)
    assert "Level 2: Line Manager to Line Manager" in bury.case_text(reference)

    # Level 3, then level 4, then the decision of the BSCP Business Manager.
    confirmation = only(answers, "command_confirmation", BM)[0]
    step = bury.deliver(bury.reply(confirmation, "STAGE 4: exceptional circumstances",
                                   at("2026-12-09")), at("2026-12-09"))
    assert only(step, "command_confirmation", BM)
    assert "Level 4: Exceptional Circumstances - BSCP" in bury.case_text(reference)
    last = only(step, "command_confirmation", BM)[0]
    final = bury.deliver(bury.reply(last, "DECISION: A child and family assessment will start\n"
                                    "within 5 working days.", at("2026-12-10")), at("2026-12-10"))
    [decision] = only(final, "decision", "priya.shah@school.test")
    assert any(name.endswith(".docx") for name in decision.attachment_names())
    shown = bury.case_text(reference)
    assert "Status: decided" in shown and "within 5 working days." in shown

    # The whole record goes with the decision to the referrer and the agencies on the case,
    # to be placed on the child's file; it holds every event of the history.
    for person in ("priya.shah@school.test", "alex.morgan@csc.test", "tom.reid@school.test"):
        [mail] = only(final, "decision", person)
        assert f"{reference}-case-record.docx" in mail.attachment_names()
        assert "Please place it on the child's file" in mail.text()
    record = attached(decision, "-case-record.docx")
    events = shown_history(shown)
    assert len(events) >= 8  # opened, chased twice, escalated, refused twice, moved, decided
    assert [(row[0], row[2]) for row in history_rows(record)] == events
    assert "Sam Sample" in docx_text(record) and "14 March 2015" in docx_text(record)

    # The same record on demand, and the cases about the child (a subject access request).
    bury.mailbot("cases", "export", reference.lower(), "--out", "record.docx")
    exported = (bury.workdir / "record.docx").read_bytes()
    assert [(row[0], row[2]) for row in history_rows(exported)] == events
    found = bury.mailbot("cases", "find", "--child", "sam SAMPLE", "--dob", "14/03/2015")
    assert reference in found and "1 case(s)" in found

    # Six years after it closed, retention removes the child and everyone's details.
    later = at("2033-01-10", 2)
    assert f"{reference}" in bury.mailbot("retention", "run", "--dry-run", now=later)
    assert "priya.shah@school.test" in bury.case_text(reference)  # the dry run changed nothing
    run = bury.mailbot("retention", "run", now=later)
    assert "1 case(s) anonymised" in run
    assert "outgoing message(s) linked to no case and over 90 days old emptied" in run
    shown = bury.case_text(reference)
    assert "Anonymised: 2033-01-10 02:00" in shown and "Status: decided" in shown
    assert "priya.shah" not in shown and "alex.morgan" not in shown
    assert "0 case(s)" in bury.mailbot("cases", "find", "--child", "Sam Sample")
    assert "Sam Sample" not in docx_text(bury_export(bury, reference))


def bury_export(bury, reference: str) -> bytes:
    bury.mailbot("cases", "export", reference, "--out", "after.docx")
    return (bury.workdir / "after.docx").read_bytes()
