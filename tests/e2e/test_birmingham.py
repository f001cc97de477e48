"""Birmingham, end to end: who acts at Stages 2 to 4 depends on the agencies involved (a
school against Birmingham Children's Trust brings in the Trust's Head of Service, Assistant
Director and Executive Director alongside the Head Teacher), chasers that skip the Spring
bank holiday, refused unthreaded and non-manager commands, an ignored out-of-office, and a
disagreement between two schools that goes from Stage 1 straight to Stage 5 and ends with
the written decision of the meeting chaired by a Board member from an uninvolved agency."""

from __future__ import annotations

from datetime import date

from mailbot.domain.referral import AgencyType
from tests.e2e.harness import at, decision_notice_text, only, recipients, reference_of

BM = "business.manager@birmingham.test"
BOARD_CHAIR = "chair@birmingham.test"
REFERRER = "dsl@academy.test"
LEAD = "head.of.safeguarding@academy.test"
LINE_MANAGERS = {"deputy.head@academy.test", "team.manager@trust.test"}
HEAD_OF_SERVICE = "head.of.service@trust.test"
HEAD_TEACHER = "principal@academy.test"
DIRECTOR = "assistant.director@trust.test"
CHIEF_OFFICER = "executive.director@trust.test"
SCHOOL_AND_TRUST = {
    "child_name": "Jordan Example",
    "child_dob": date(2012, 9, 30),
    "immediate_risk": False,
    "referrer_name": "Morgan Ellis",
    "referrer_email": REFERRER,
    "referrer_agency": "Oakfield Academy",
    "referrer_agency_type": AgencyType.SCHOOL,
    "safeguarding_lead_aware": True,
    "safeguarding_lead_name": "Hana Begum",
    "safeguarding_lead_email": LEAD,
    "other_agency": "Birmingham Children's Trust",
    "other_agency_contact_name": "Ollie Stone",
    "other_agency_contact_email": "social.worker@trust.test",
    "other_agency_type": AgencyType.CHILDRENS_SOCIAL_CARE,
    "disagreement_category": "Threshold",
    "summary": "The Trust closed the referral although the Right Help Right Time threshold is met.",
    "desired_outcome": "A child and family assessment.",
    # The story climbs the ladder from the bottom; a form stating no stage opens where the
    # policy sends referrals to the partnership (see test_seed_referrals.py).
    "stage_reached": 1,
}
TWO_SCHOOLS = {
    **SCHOOL_AND_TRUST,
    "child_name": "Casey Example",
    "other_agency": "Hillside Primary School",
    "other_agency_contact_name": "Rae Patel",
    "other_agency_contact_email": "dsl@hillside.test",
    "other_agency_type": AgencyType.SCHOOL,
    "summary": "The two schools disagree about which should hold the transfer safeguarding file.",
    "desired_outcome": "The file transferred and a named DSL responsible.",
}


def test_birmingham_actors_depend_on_the_agencies_and_two_schools_go_to_stage_5(story):
    birmingham = story("birmingham", address="bscb@birmingham.test", business_manager=BM,
                       contacts={"board_chair": f"Board Chair <{BOARD_CHAIR}>"})

    # Monday 18 May 2026: a school's form about the Children's Trust. Stage One belongs to
    # the two line managers, whom the form does not name, so the business manager is asked.
    mails = birmingham.open(f"Morgan Ellis <{REFERRER}>", SCHOOL_AND_TRUST, at("2026-05-18"))
    reference = reference_of(mails)
    assert reference.startswith("BSCB-2026-")
    [ack] = only(mails, "acknowledgement", REFERRER)
    assert "Children Advice and Support Service" in ack.text() and "Emergency Duty Team" in ack.text()
    assert "Jordan" not in ack.subject
    assert only(mails, "new_case", BM)
    [ask] = only(mails, "stage_notice", BM)
    assert recipients(mails, "stage_notice") == {BM} and "ASSIGN line_manager" in ask.text()
    named = birmingham.command(ask, "ASSIGN line_manager: Sue Park <deputy.head@academy.test>\n"
                               "ASSIGN line_manager: Tom Hale <team.manager@trust.test>",
                               at("2026-05-18", 11))
    assert recipients(named, "stage_notice") == LINE_MANAGERS
    state = birmingham.state(reference)
    assert "Deadline: 2026-05-26 17:00" in state, "a working week, with Monday 25 May a bank holiday"

    # Reminder on Friday 22nd, nothing at the weekend or on the bank holiday, the notice on
    # the day on Tuesday 26th and the first overdue notice on Wednesday 27th.
    days = birmingham.chase_days("2026-05-22", "2026-05-27")
    assert [(d.day, [m.template for m in sent][0]) for d, sent in days.items() if sent] == [
        (22, "reminder"), (26, "due_today"), (27, "overdue")]
    overdue = days[date(2026, 5, 27)]
    assert recipients(overdue, "overdue") == LINE_MANAGERS | {BM}
    birmingham.assert_chasers_on_working_days()

    # An out-of-office answer, a command From the business manager that replies to nothing
    # mailbot sent (only the [REF] in its subject), and a line manager's command change nothing.
    with birmingham.unchanged(reference, before=state):
        birmingham.out_of_office(only(overdue, "overdue", "team.manager@trust.test")[0],
                                 at("2026-05-27", 10))
        birmingham.forged_command_refused(only(overdue, "overdue", BM)[0], "STAGE 5", at("2026-05-27", 10),
                                          "unthreaded")
        birmingham.outsider_command_refused(only(overdue, "overdue", "deputy.head@academy.test")[0],
                                            "ESCALATE", at("2026-05-27", 10, 30))

    # Stage Two: the Trust's Head of Service and the school's Head Teacher act with the
    # safeguarding lead; nobody is named as service manager yet, so the business manager is asked.
    step = birmingham.command(only(overdue, "overdue", BM)[0],
                              f"ASSIGN head_of_service: Val Reid <{HEAD_OF_SERVICE}>\n"
                              f"ASSIGN head_teacher: Dr Ian Moss <{HEAD_TEACHER}>\nESCALATE",
                              at("2026-05-27", 11))
    assert recipients(step, "stage_notice") == {HEAD_OF_SERVICE, HEAD_TEACHER, LEAD, BM}
    to_head = only(step, "stage_notice", HEAD_OF_SERVICE)[0]
    assert "Stage 2: Escalation to safeguarding lead or senior manager" in to_head.subject
    assert "Head of Service, Birmingham Children's Trust" in to_head.text()
    assert "Head Teacher / Principal" in to_head.text()
    confirmation = only(step, "command_confirmation", BM)[0]

    # Stage Three: the Trust's Assistant Director and the Head Teacher; Stage Four: the
    # Trust's Executive Director and the Head Teacher.
    step = birmingham.command(confirmation, f"ASSIGN director: Kit Lane <{DIRECTOR}>\nESCALATE",
                              at("2026-05-28"))
    assert recipients(step, "stage_notice") == {DIRECTOR, HEAD_TEACHER}
    step = birmingham.command(only(step, "command_confirmation", BM)[0],
                              f"ASSIGN chief_officer: Ros Hart <{CHIEF_OFFICER}>\nESCALATE",
                              at("2026-05-29"))
    assert recipients(step, "stage_notice") == {CHIEF_OFFICER, HEAD_TEACHER}
    assert "Stage 4: Escalation to Chief Officer" in only(step, "stage_notice", CHIEF_OFFICER)[0].subject

    # A disagreement between two schools: ESCALATE from Stage One goes straight to Stage Five,
    # the Board's Business Manager, and the chair of the Board is told.
    mails = birmingham.deliver(birmingham.referral(f"Morgan Ellis <{REFERRER}>", TWO_SCHOOLS,
                                                   at("2026-06-01")), at("2026-06-01"))
    schools = reference_of(mails)
    assert schools != reference
    step = birmingham.command(only(mails, "new_case", BM)[0], "ESCALATE: the schools cannot agree",
                              at("2026-06-01", 11))
    [change] = only(step, "stage_change", BM)
    assert "Escalated from Stage 1 to Stage 5: Mediation by a Third-Party Agency" in change.text()
    assert "between two schools" in change.text()
    assert recipients(step, "stage_notice") == {BM, BOARD_CHAIR}
    assert "Stage 5: Mediation by a Third-Party Agency" in only(step, "stage_notice", BOARD_CHAIR)[0].subject

    decision_text = "Oakfield Academy transfers the file by 5 June and its DSL stays responsible."
    final = birmingham.command(only(step, "command_confirmation", BM)[0], f"DECISION: {decision_text}",
                               at("2026-06-03"))
    [decision] = only(final, "decision", REFERRER)
    notice = decision_notice_text(decision)
    # The meeting decides and its chair reports to the chair of the Board (was: the decision
    # attributed to the chair of the Board).
    assert ("Final decision of: the meeting of senior managers with operational responsibility"
            " for the case, chaired by a Board member from an uninvolved agency") in notice
    assert decision_text in notice and schools in notice
    assert decision_text in only(final, "stage_notice", BOARD_CHAIR)[0].text()
    shown = birmingham.case_text(schools)
    assert "Status: decided" in shown and "Stage 5: Mediation by a Third-Party Agency" in shown
    assert decision_text in shown
    birmingham.assert_subjects_name_no_child(reference, SCHOOL_AND_TRUST["child_name"])
    birmingham.assert_subjects_name_no_child(schools, TWO_SCHOOLS["child_name"])
