"""City & Hackney, end to end over Christmas: a Word form about a child on a Child Protection
Plan, chasers that skip Christmas Day, the Boxing Day substitute holiday, New Year's Day and
the weekends, the Child Protection Chair told at Stage 2, refused forged and non-manager
commands, an ignored out-of-office, and the Independent Child Safeguarding Commissioner's
written decision at Stage 4."""

from __future__ import annotations

from datetime import date

from mailbot.domain.referral import AgencyType
from tests.e2e.harness import at, decision_notice_text, only, recipients, reference_of

BM = "business.manager@hackney.test"
ICSC = "icsc@hackney.test"
REFERRER = "referrer@school.test"
WORKER = "worker@csc.test"
LINE_MANAGERS = {"deputy.head@school.test", "team.manager@csc.test"}
CP_CHAIR = "cp.chair@hackney.test"
SENIOR_MANAGERS = {"head@school.test", "service.manager@csc.test"}
FORM = {
    "child_name": "Robin Example",
    "child_dob": date(2014, 6, 2),
    "child_protection_plan": True,
    "looked_after": False,
    "immediate_risk": False,
    "referrer_name": "Amara Okafor",
    "referrer_email": REFERRER,
    "referrer_agency": "Kingsland Primary School",
    "referrer_agency_type": AgencyType.SCHOOL,
    "other_agency": "Hackney Children and Families Service",
    "other_agency_contact_name": "Lee Chan",
    "other_agency_contact_email": WORKER,
    "other_agency_type": AgencyType.CHILDRENS_SOCIAL_CARE,
    "disagreement_category": "Progressing plans",
    "summary": "Core group actions from the Child Protection Plan are not being progressed.",
    "desired_outcome": "A core group meeting before the school term starts.",
    # The story climbs the ladder from the bottom; a form stating no stage opens where the
    # policy sends referrals to the partnership (see test_seed_referrals.py).
    "stage_reached": 1,
}


def test_a_hackney_case_over_christmas_reaches_the_commissioner(story):
    hackney = story("hackney", address="chscp@hackney.test", business_manager=BM,
                    contacts={"icsc": f"Independent Commissioner <{ICSC}>"})

    # Monday 21 December 2026: the form arrives. Stage 1 is one working week: with Christmas
    # Day and the Boxing Day substitute (Monday 28th) off, it is due on Wednesday 30th.
    mails = hackney.open(f"Amara Okafor <{REFERRER}>", FORM, at("2026-12-21"))
    reference = reference_of(mails)
    assert reference.startswith("CHSCP-2026-")
    [ack] = only(mails, "acknowledgement", REFERRER)
    assert f"[{reference}]" in ack.subject and "Robin" not in ack.subject
    assert "Designated Safeguarding Lead" in ack.text() and "999" in ack.text()
    assert only(mails, "new_case", BM)
    assert recipients(mails, "stage_notice") == {REFERRER, WORKER}
    assert all(any(n.endswith(".ics") for n in m.attachment_names())
               for m in only(mails, "stage_notice"))
    assert "5pm on Wednesday 30 December 2026" in ack.text()
    state = hackney.state(reference)
    assert "Stage 1: Discuss with the other worker" in state and "Deadline: 2026-12-30 17:00" in state

    # The deadline pass runs every day from Christmas Day to 2 January: the reminder comes on
    # Tuesday 29th, the notice on the day on Wednesday 30th, the first overdue notice on
    # Thursday 31st, and nothing at all on a bank holiday or at a weekend.
    days = hackney.chase_days("2026-12-25", "2026-12-31")
    assert [d.day for d, sent in days.items() if sent] == [29, 30, 31]
    assert recipients(days[date(2026, 12, 29)], "reminder") == {REFERRER, WORKER}
    assert recipients(days[date(2026, 12, 30)], "due_today") == {REFERRER, WORKER}
    overdue = days[date(2026, 12, 31)]
    assert recipients(overdue, "overdue") == {REFERRER, WORKER, BM}

    # The other agency's worker is away: their out-of-office answer is not answered. A forged
    # command From the business manager (DMARC failed) and the referrer's own command are
    # refused. None of them changes the case.
    with hackney.unchanged(reference, before=state):
        hackney.out_of_office(only(overdue, "overdue", WORKER)[0], at("2026-12-31", 10))
        hackney.forged_command_refused(only(overdue, "overdue", BM)[0], "STAGE 4", at("2026-12-31", 11),
                                       "dmarc-fail")
        hackney.outsider_command_refused(only(overdue, "overdue", REFERRER)[0], "ESCALATE",
                                         at("2026-12-31", 12))
    assert not any(hackney.chase_days("2027-01-01", "2027-01-02").values())
    hackney.assert_chasers_on_working_days()

    # Monday 4 January: the business manager names the line managers and the child's CP Chair,
    # and escalates. Because the child is on a Child Protection Plan, the CP Chair is told.
    to_bm = only(overdue, "overdue", BM)[0]
    step = hackney.command(to_bm, "ASSIGN line_manager: Dana Lee <deputy.head@school.test>\n"
                           "ASSIGN line_manager: Chris Obi <team.manager@csc.test>\n"
                           f"ASSIGN cp_chair: Jo Grant <{CP_CHAIR}>\n"
                           "ESCALATE: the workers could not agree", at("2027-01-04"))
    assert only(step, "command_confirmation", BM) and only(step, "stage_change", BM)
    # The child is on a plan but not Looked After: the CP Chair is told, and nobody is asked
    # to name an Independent Reviewing Officer.
    assert recipients(step, "stage_notice") == LINE_MANAGERS | {CP_CHAIR}
    assert not only(step, "stage_notice", BM), "every role is filled: nothing to assign"
    [to_chair] = only(step, "stage_notice", CP_CHAIR)
    assert "Why you are told" in to_chair.text() and "Child Protection Plan" in to_chair.text()
    assert "Stage 2: Escalate to line manager" in to_chair.text()
    assert "5pm on Monday 11 January 2027" in to_chair.text(), "a working week after 4 January"
    confirmation = only(step, "command_confirmation", BM)[0]

    # Stage 3 (the senior managers), then Stage 4 (the Commissioner), then the decision.
    step = hackney.command(confirmation, "ASSIGN senior_manager: Pat Head <head@school.test>\n"
                           "ASSIGN senior_manager: Sam Rowe <service.manager@csc.test>\n"
                           "ESCALATE", at("2027-01-05"))
    assert recipients(step, "stage_notice") == SENIOR_MANAGERS
    assert CP_CHAIR not in {m.recipient for m in step}, "the CP Chair is told at Stage 2 only"
    step = hackney.command(only(step, "command_confirmation", BM)[0],
                           "ESCALATE: the agency CHSCP members could not resolve it", at("2027-01-06"))
    [to_icsc] = only(step, "stage_notice", ICSC)
    assert recipients(step, "stage_notice") == {ICSC}
    assert "Stage 4: Resolution by the Independent Child Safeguarding Commissioner" in to_icsc.subject

    decision_text = "The core group will meet by 15 January 2027 and the plan will be reviewed."
    final = hackney.command(only(step, "command_confirmation", BM)[0], f"DECISION: {decision_text}",
                            at("2027-01-08"))
    [decision] = only(final, "decision", REFERRER)
    assert f"[{reference}]" in decision.subject
    notice = decision_notice_text(decision)
    # In Hackney's own terms (was Bury's Appendix 1 wording for every partnership).
    assert "Final decision of: the Independent Child Safeguarding Commissioner" in notice
    assert "Resolution by the Independent Child Safeguarding Commissioner" in notice
    assert "Safeguarding Partnership Business Unit" not in notice
    assert decision_text in notice and reference in notice
    assert recipients(final, "decision") >= {REFERRER, WORKER, CP_CHAIR, BM} | LINE_MANAGERS
    shown = hackney.case_text(reference)
    assert "Status: decided" in shown and decision_text in shown
    hackney.assert_subjects_name_no_child(reference, FORM["child_name"])
