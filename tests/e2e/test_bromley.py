"""Bromley, end to end: a Request for Resolution sent as `Label: value` lines in an email
about a Looked After child, chasers that skip the August bank holiday, the DSL made aware at
Stage 2 (and not for a child who is neither on a plan nor Looked After), refused forged and
non-manager commands, an ignored out-of-office, and the BSCB Chair's written decision at
Stage 4."""

from __future__ import annotations

from datetime import date

from mailbot.domain.referral import AgencyType
from tests.e2e.harness import at, decision_notice_text, only, recipients, reference_of

BM = "business.manager@bromley.test"
CHAIR = "independent.chair@bromley.test"
REFERRER = "key.worker@nursery.test"
DSL = "dsl@nursery.test"
MANAGER = "manager@nursery.test"
EXTERNAL = "team.manager@health.test"
FIELDS = {
    "child_name": "Riley Example",
    "child_dob": date(2023, 2, 17),
    "child_protection_plan": False,
    "looked_after": True,
    "immediate_risk": False,
    "referrer_name": "Sasha Green",
    "referrer_role": "Key worker",
    "referrer_email": REFERRER,
    "referrer_agency": "Ready Steady Grow Pre-School",
    "referrer_agency_type": AgencyType.VOLUNTARY,
    "safeguarding_lead_aware": True,
    "safeguarding_lead_name": "Karen Lock",
    "safeguarding_lead_email": DSL,
    "other_agency": "Community Health Visiting",
    "other_agency_contact_name": "Dev Singh",
    "other_agency_contact_email": "health.visitor@health.test",
    "other_agency_type": AgencyType.HEALTH,
    "summary": "Injuries reported by the pre-school were not shared with the child's social worker.",
    "desired_outcome": "Information shared with the social worker and the IRO.",
    # The story climbs the ladder from the bottom; a form stating no stage opens where the
    # policy sends referrals to the partnership (see test_seed_referrals.py).
    "stage_reached": 1,
}


def test_a_bromley_case_by_email_reaches_the_bscb_chair(story):
    bromley = story("bromley", address="bscb@bromley.test", business_manager=BM,
                    contacts={"board_chair": f"Independent Chair <{CHAIR}>"})

    # Monday 24 August 2026: the request arrives as an email. Stage One belongs to the
    # manager and the DSL; the DSL is on the form, the manager is not, so the business
    # manager is asked to name them.
    mails = bromley.open(f"Sasha Green <{REFERRER}>", FIELDS, at("2026-08-24"), as_form=False)
    reference = reference_of(mails)
    assert reference.startswith("BROM-2026-")
    [ack] = only(mails, "acknowledgement", REFERRER)
    assert "MASH" in ack.text() and "Riley" not in ack.subject
    assert "5pm on Tuesday 1 September 2026" in ack.text(), "Monday 31 August is a bank holiday"
    assert only(mails, "new_case", BM)
    assert recipients(mails, "stage_notice") == {DSL, BM}
    named = bromley.command(only(mails, "stage_notice", BM)[0],
                            f"ASSIGN line_manager: Sally Fine <{MANAGER}>", at("2026-08-24", 11))
    assert recipients(named, "stage_notice") == {MANAGER}

    # Reminder on Friday 28th, nothing at the weekend or on the bank holiday, the notice on
    # the day on Tuesday 1 September and the first overdue notice on Wednesday 2nd.
    days = bromley.chase_days("2026-08-28", "2026-09-02")
    assert [(d.day, [m.template for m in sent][0]) for d, sent in days.items() if sent] == [
        (28, "reminder"), (1, "due_today"), (2, "overdue")]
    overdue = days[date(2026, 9, 2)]
    assert recipients(overdue, "overdue") == {MANAGER, DSL, BM}
    bromley.assert_chasers_on_working_days()

    # An out-of-office answer, a forged command From the business manager (DMARC failed) and
    # the DSL's own command change nothing.
    with bromley.unchanged(reference) as state:
        bromley.out_of_office(only(overdue, "overdue", MANAGER)[0], at("2026-09-02", 10))
        bromley.forged_command_refused(only(overdue, "overdue", BM)[0], "ESCALATE", at("2026-09-02", 10),
                                       "dmarc-fail")
        bromley.outsider_command_refused(only(overdue, "overdue", DSL)[0], "ESCALATE", at("2026-09-02", 10))
    assert "Stage 1: Discuss with the other worker" in state and "Deadline: 2026-09-01 17:00" in state

    # Stage Two: the manager and the DSL take advice, and because the child is Looked After
    # the DSL is also told why they must be made aware.
    step = bromley.command(only(overdue, "overdue", BM)[0], "ESCALATE", at("2026-09-02", 11))
    assert recipients(step, "stage_notice") == {MANAGER, DSL}
    to_dsl = only(step, "stage_notice", DSL)
    assert len(to_dsl) == 2
    [aware] = [m for m in to_dsl if "Why you are told" in m.text()]
    assert "Looked After" in aware.text() and "the DSL must be made aware" in aware.text()
    assert "Stage 2: Advice from the Bromley safeguarding team" in aware.subject
    confirmation = only(step, "command_confirmation", BM)[0]

    # Stage Three brings in the other agency's management; Stage Four goes to the BSCB Chair.
    step = bromley.command(confirmation, f"ASSIGN senior_manager: Lee Ward <{EXTERNAL}>\nESCALATE",
                           at("2026-09-03"))
    assert recipients(step, "stage_notice") == {MANAGER, DSL, EXTERNAL}
    step = bromley.command(only(step, "command_confirmation", BM)[0],
                           "ESCALATE: the agency BSCB members have been involved", at("2026-09-04"))
    [to_chair] = only(step, "stage_notice", CHAIR)
    assert recipients(step, "stage_notice") == {CHAIR}
    assert "Stage 4: Resolution by BSCB Chair" in to_chair.subject

    decision_text = "Health Visiting shares the injury records with the social worker and IRO today."
    final = bromley.command(only(step, "command_confirmation", BM)[0], f"DECISION: {decision_text}",
                            at("2026-09-07"))
    [decision] = only(final, "decision", REFERRER)
    notice = decision_notice_text(decision)
    # In Bromley's own terms (was Bury's Appendix 1 wording for every partnership).
    assert "Final decision of: the Chair of the BSCB" in notice
    assert "Resolution by BSCB Chair (Stage Four)" in notice
    assert decision_text in notice
    assert recipients(final, "decision") >= {REFERRER, DSL, MANAGER, EXTERNAL, BM}
    shown = bromley.case_text(reference)
    assert "Status: decided" in shown and decision_text in shown
    bromley.assert_subjects_name_no_child(reference, FIELDS["child_name"])

    # A child who is neither on a plan nor Looked After: at Stage Two the DSL gets the stage
    # notice only, not the extra one.
    ordinary = {**FIELDS, "child_name": "Drew Example", "looked_after": False}
    mails = bromley.deliver(bromley.referral(f"Sasha Green <{REFERRER}>", ordinary, at("2026-09-07", 11),
                                             as_form=False), at("2026-09-07", 11))
    step = bromley.command(only(mails, "new_case", BM)[0], "ESCALATE", at("2026-09-07", 12))
    [plain] = only(step, "stage_notice", DSL)
    assert "Why you are told" not in plain.text()
