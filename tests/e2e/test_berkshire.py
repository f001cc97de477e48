"""Berkshire, end to end over Easter: a Word form, one working day of discussion and then the
line managers' 24 clock hours (which end on Good Friday), chasers that wait until the
Tuesday after Easter Monday, refused forged and non-manager commands, an ignored
out-of-office, Stage 4 reported to the Local Statutory Safeguarding Children Partners, and the
written decision of the Stage 4 meeting, which the Partners receive (the seed's "Stage Five -
Conclusion" is guidance, not a stage)."""

from __future__ import annotations

from datetime import date

from mailbot.domain.referral import AgencyType
from tests.e2e.harness import at, decision_notice_text, only, recipients, reference_of

BM = "business.manager@berkshire.test"
PARTNERS = "partners@berkshire.test"
REFERRER = "health.visitor@nhs.test"
WORKER = "social.worker@csc.test"
LEAD = "named.nurse@nhs.test"
LINE_MANAGERS = {"team.lead@nhs.test", "team.manager@csc.test"}
SENIOR_MANAGERS = {"head.of.nursing@nhs.test", "service.manager@csc.test"}
HEAD_OF_SERVICE = "head.of.service@csc.test"
FORM = {
    "child_name": "Alex Sample",
    "child_dob": date(2024, 1, 9),
    "immediate_risk": False,
    "referrer_name": "Jamie Wells",
    "referrer_role": "Health Visitor",
    "referrer_email": REFERRER,
    "referrer_agency": "Berkshire Healthcare 0-19 Service",
    "referrer_agency_type": AgencyType.HEALTH,
    "safeguarding_lead_aware": True,
    "safeguarding_lead_name": "Noor Ahmed",
    "safeguarding_lead_email": LEAD,
    "other_agency": "Children's Social Care",
    "other_agency_contact_name": "Casey Brown",
    "other_agency_contact_email": WORKER,
    "other_agency_type": AgencyType.CHILDRENS_SOCIAL_CARE,
    "summary": "Repeated missed health appointments were not treated as neglect.",
    "desired_outcome": "A strategy discussion about neglect.",
    # The story climbs the ladder from the bottom; a form stating no stage opens where the
    # policy sends referrals to the partnership (see test_seed_referrals.py).
    "stage_reached": 1,
}


def test_a_berkshire_case_over_easter_reaches_the_statutory_partners(story):
    berkshire = story("berkshire", address="bscp@berkshire.test", business_manager=BM,
                      contacts={"lsscp": f"Statutory Partners <{PARTNERS}>"})

    # Wednesday 1 April 2026: the form arrives. Stage One gives the professionals one working
    # day to resolve it by discussion: 5pm on Thursday.
    mails = berkshire.open(f"Jamie Wells <{REFERRER}>", FORM, at("2026-04-01"))
    reference = reference_of(mails)
    assert reference.startswith("BERKS-2026-")
    [ack] = only(mails, "acknowledgement", REFERRER)
    assert f"[{reference}]" in ack.subject and "Alex" not in ack.subject
    assert "dial 999" in ack.text() and "5pm on Thursday 2 April 2026" in ack.text()
    assert only(mails, "new_case", BM)
    assert recipients(mails, "stage_notice") == {REFERRER, WORKER}

    # Thursday morning: the notice on the day. At 5pm the discussion phase ends unresolved and
    # the line managers' phase begins: 24 clock hours, so it ends at 5pm on Good Friday.
    assert recipients(berkshire.chase(at("2026-04-02", 9, 30)), "due_today") == {REFERRER, WORKER}
    follow_on = berkshire.chase(at("2026-04-02", 17, 30))
    [ask] = only(follow_on, "stage_notice", BM)
    assert recipients(follow_on, "stage_notice") == {BM}, "nobody is named as line manager yet"
    assert "ASSIGN line_manager" in ask.text() and "5pm on Friday 3 April 2026" in ask.text()
    named = berkshire.command(ask, "ASSIGN line_manager: Kim Lowe <team.lead@nhs.test>\n"
                              "ASSIGN line_manager: Ravi Shah <team.manager@csc.test>",
                              at("2026-04-02", 17, 45))
    assert recipients(named, "stage_notice") == LINE_MANAGERS
    assert "twenty-four hours" in only(named, "stage_notice", "team.lead@nhs.test")[0].text()
    state = berkshire.state(reference)
    assert "Stage 1: Preventing Disputes" in state and "Deadline: 2026-04-03 17:00" in state

    # Good Friday, the weekend and Easter Monday pass without a chaser; the first overdue
    # notice goes on Tuesday 7 April, to the line managers and the business manager.
    days = berkshire.chase_days("2026-04-03", "2026-04-07")
    assert [d.day for d, sent in days.items() if sent] == [7]
    overdue = days[date(2026, 4, 7)]
    assert recipients(overdue, "overdue") == LINE_MANAGERS | {BM}
    berkshire.assert_chasers_on_working_days()

    # An out-of-office answer to the chaser, a command From the business manager with an
    # Authentication-Results header the forger wrote themselves, and a line manager's own
    # command: no answer to the first, refusals to the others, and the case as it was.
    with berkshire.unchanged(reference, before=state):
        berkshire.out_of_office(only(overdue, "overdue", "team.lead@nhs.test")[0], at("2026-04-07", 9, 45))
        berkshire.forged_command_refused(only(overdue, "overdue", BM)[0], "STAGE 4", at("2026-04-07", 10),
                                         "foreign-authserv")
        berkshire.outsider_command_refused(only(overdue, "overdue", "team.manager@csc.test")[0],
                                           "ESCALATE", at("2026-04-07", 10, 15))

    # The business manager escalates to Stage Two: the named nurse from the form acts.
    step = berkshire.command(only(overdue, "overdue", BM)[0],
                             "ESCALATE: the line managers could not agree", at("2026-04-07", 11))
    assert only(step, "command_confirmation", BM) and only(step, "stage_change", BM)
    assert recipients(step, "stage_notice") == {LEAD}
    assert "Stage 2: Dispute Procedure" in only(step, "stage_notice", LEAD)[0].subject
    confirmation = only(step, "command_confirmation", BM)[0]

    # Stage Three, then Stage Four, which goes to the Local Statutory Safeguarding Children
    # Partners as well as the departmental head; the business manager is asked to name the
    # meeting's chair.
    step = berkshire.command(confirmation, "ASSIGN senior_manager: Lou Grey <head.of.nursing@nhs.test>\n"
                             "ASSIGN senior_manager: Mo Dean <service.manager@csc.test>\n"
                             "ESCALATE", at("2026-04-08"))
    assert recipients(step, "stage_notice") == SENIOR_MANAGERS
    step = berkshire.command(only(step, "command_confirmation", BM)[0],
                             f"ASSIGN head_of_service: Ali Khan <{HEAD_OF_SERVICE}>\nESCALATE",
                             at("2026-04-09"))
    assert recipients(step, "stage_notice") == SENIOR_MANAGERS | {HEAD_OF_SERVICE, PARTNERS, BM}
    assert "ASSIGN meeting_chair" in only(step, "stage_notice", BM)[0].text()
    [to_partners] = only(step, "stage_notice", PARTNERS)
    assert "Stage 4: Where disagreements remain" in to_partners.subject
    assert "report the matter to the relevant local Statutory Safeguarding Children Partners" \
        in to_partners.text()
    step = berkshire.command(only(step, "command_confirmation", BM)[0],
                             "ASSIGN meeting_chair: Val Marsh <chair@uninvolved.test>", at("2026-04-10"))
    assert recipients(step, "stage_notice") == {"chair@uninvolved.test"}

    # The meeting's decision reaches the referrer with the notice, and the Partners get it too.
    decision_text = "A strategy discussion will be held within 2 working days."
    final = berkshire.command(only(step, "command_confirmation", BM)[0], f"DECISION: {decision_text}",
                              at("2026-04-13"))
    [decision] = only(final, "decision", REFERRER)
    notice = decision_notice_text(decision)
    assert ("Final decision of: the meeting of senior managers with operational responsibility"
            " for the case, chaired by a senior member from an uninvolved organisation") in notice
    assert decision_text in notice
    assert recipients(final, "decision") >= {REFERRER, WORKER, LEAD, BM} | LINE_MANAGERS
    assert decision_text in only(final, "stage_notice", PARTNERS)[0].text()
    shown = berkshire.case_text(reference)
    assert "Status: decided" in shown and decision_text in shown
    berkshire.assert_subjects_name_no_child(reference, FORM["child_name"])
