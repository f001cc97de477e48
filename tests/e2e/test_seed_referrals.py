"""The referral each seed sends to its partnership mailbox, end to end through Dovecot and SMTP
(issue 13): no stage field, so the case opens at the final stage; the people the policy names
are told; the decision maker reads the earlier evidence; and the business manager's
DECISION reaches the referrer with that partnership's own decision notice.

- Bury: "they should refer it to BSCP Business Manager. The template regarding this can be
  seen in Appendix 1" (the Appendix as a person fills it, written by LibreOffice).
- City & Hackney 2.13: "e-mail the details through to chscp@hackney.gov.uk setting out the
  actions taken to date and the rationale for the involvement of the ICSC".
- Bromley: "We will e-mail details through to bscb@bromley.gov.uk for the attention of the
  independent chair" (Bromley's blank form, filled).
"""

from __future__ import annotations

from datetime import date
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from mailbot.domain.referral import AgencyType
from tests.e2e.harness import at, decision_notice_text, only, recipients, reference_of
from tests.seed_forms import DSL_NAME, EVIDENCE, STAGE_3_EVIDENCE, STYLES, written_by_libreoffice

DOCX = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")


def _email(sender: str, to: str, now, body: str = "", attachment: bytes | None = None) -> bytes:
    message = EmailMessage()
    message["From"], message["To"] = sender, to
    message["Subject"] = "Request for Resolution"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain="agency.example")
    message.set_content(body or "Our Request for Resolution is attached.\n")
    if attachment is not None:
        message.add_attachment(attachment, maintype=DOCX[0], subtype=DOCX[1],
                               filename="Appendix 1 Request for Resolution.docx")
    return bytes(message)


def test_burys_appendix_1_opens_at_level_4_and_the_bscp_decides(story, tmp_path):
    bm = "business.manager@bury.example"
    bury = story("bury", address="bsp@bury.gov.uk", business_manager=bm)
    [style] = [s for s in STYLES if s.name == "struck the other word"]
    form = written_by_libreoffice(tmp_path, [style])[style.name]
    referrer = "jane.smith@agency.example"

    # Monday 2 March 2026: the Appendix arrives with no level on it.
    mails = bury.deliver(_email(f"Jane Smith <{referrer}>", bury.address, at("2026-03-02"),
                                attachment=form), at("2026-03-02"))
    reference = reference_of(mails)
    state = bury.state(reference)
    assert "Level 4: Exceptional Circumstances - BSCP" in state
    assert "Deadline: 2026-03-09 17:00" in state, "Level 4 is within one week"
    assert "they should refer it to BSCP Business Manager" in bury.case_text(reference)

    # The referrer: the acknowledgement, then the meeting the BSCP will facilitate.
    [ack] = only(mails, "acknowledgement", referrer)
    assert "Level 4: Exceptional Circumstances - BSCP" in ack.text()
    assert "Who acts next: BSCP Business Manager" in ack.text()
    assert "Each stage should not exceed 10 working days." in ack.text()
    meeting = [m for m in only(mails, "stage_notice", referrer) if "further meeting" in m.text()]
    assert meeting, "the referrer is told of the Level 4 meeting"

    # The business manager decides, with the evidence of levels 1 to 3 in front of them; the
    # form names the safeguarding lead without an address, so they are asked to name them.
    decider = [m for m in only(mails, "stage_notice", bm) if "Why you are told" not in m.text()]
    assert decider and EVIDENCE.splitlines()[2] in decider[0].text()
    assert STAGE_3_EVIDENCE in decider[0].text()
    lead = [m for m in only(mails, "stage_notice", bm)
            if "NOBODY IS NAMED YET FOR: Safeguarding lead" in m.text()]
    assert lead and "ASSIGN safeguarding_lead" in lead[0].text()
    assert "Ensure your safeguarding lead is consulted with throughout" in lead[0].text()

    decision = "A child and family assessment will start within 5 working days."
    final = bury.command(only(mails, "new_case", bm)[0], f"DECISION: {decision}",
                         at("2026-03-04"))
    [to_referrer] = only(final, "decision", referrer)
    notice = decision_notice_text(to_referrer)
    assert "Request for Resolution Document" in notice
    assert "Stage 4 (to be completed by Safeguarding Partnership Business Unit)" in notice
    assert "Final decision of: the BSCP Business Manager" in notice and decision in notice
    assert f"Yes\nName of safeguarding lead: {DSL_NAME}" in notice
    assert EVIDENCE.splitlines()[0] in notice
    assert "Status: decided" in bury.state(reference)


def test_hackneys_email_to_the_icsc_opens_at_stage_4_and_the_commissioner_decides(story):
    bm, icsc = "business.manager@hackney.example", "icsc@hackney.example"
    hackney = story("hackney", address="chscp@hackney.gov.uk", business_manager=bm,
                    contacts={"icsc": f"Independent Commissioner <{icsc}>"})
    referrer = "amara.okafor@school.example"
    actions = ("Stage 1: the workers spoke on 2 March.\nStage 2: the managers met on 9 March.\n"
               "Stage 3: the heads of service and the agency CHSCP members met on 16 March.")
    rationale = "The agencies cannot agree whether the threshold for a strategy meeting is met."
    body = (f"Child's name: Robin Example\nDate of birth: 02/06/2014\n"
            f"Referrer's name: Amara Okafor\nReferrer's email: {referrer}\n"
            "Agency/Team: Kingsland Primary School\nOther agency: Hackney Children and Families\n"
            "Is the child subject to a Child Protection Plan?: Yes\n"
            "Summary of disagreement: Core group actions from the plan are not progressed.\n"
            "Desired outcome: A core group meeting this week.\n"
            f"Actions taken to date:\n{actions}\n"
            f"Rationale for the involvement of the ICSC: {rationale}\n")
    mails = hackney.deliver(_email(f"Amara Okafor <{referrer}>", hackney.address,
                                   at("2026-03-23"), body), at("2026-03-23"))
    reference = reference_of(mails)
    assert "Stage 4: Resolution by the Independent Child Safeguarding Commissioner" in \
        hackney.state(reference)
    assert only(mails, "acknowledgement", referrer)

    # The Commissioner reads the actions to date and the rationale in full.
    [to_icsc] = only(mails, "stage_notice", icsc)
    assert actions.splitlines()[2] in to_icsc.text() and rationale in to_icsc.text()
    # The child is on a plan: the Stage 2 rule for the CP Chair fires though the case entered
    # at Stage 4; nobody is named yet, so the business manager is asked to name them.
    chair = [m for m in only(mails, "stage_notice", bm) if "Child Protection Chair" in m.text()
             and "passed over Stage 2" in m.text()]
    assert chair and "ASSIGN cp_chair" in chair[0].text()

    decision = "The core group will meet by 27 March and the plan will be reviewed."
    final = hackney.command(only(mails, "new_case", bm)[0], f"DECISION: {decision}",
                            at("2026-03-25"))
    [to_referrer] = only(final, "decision", referrer)
    notice = decision_notice_text(to_referrer)
    assert "Resolution of a professional difference" in notice
    assert "Final decision of: the Independent Child Safeguarding Commissioner" in notice
    assert rationale in notice and decision in notice
    assert "Safeguarding Partnership Business Unit" not in notice


def test_bromleys_details_for_the_independent_chair_open_at_stage_4_and_the_chair_decides(story):
    bm, chair = "business.manager@bromley.example", "independent.chair@bromley.example"
    bromley = story("bromley", address="bscb@bromley.gov.uk", business_manager=bm,
                    contacts={"board_chair": f"Independent Chair <{chair}>"})
    referrer, dsl = "key.worker@nursery.example", "dsl@nursery.example"
    actions = ("Stage One: discussed with the health visitor on 3 August.\nStage Two: advice from"
               " the Bromley safeguarding team on 10 August.\nStage Three: the agency BSCB"
               " members met on 17 August.")
    fields = {
        "child_name": "Riley Example", "child_dob": date(2023, 2, 17), "looked_after": True,
        "child_protection_plan": False, "referrer_name": "Sasha Green", "referrer_email": referrer,
        "referrer_agency": "Ready Steady Grow Pre-School",
        "referrer_agency_type": AgencyType.VOLUNTARY, "safeguarding_lead_aware": True,
        "safeguarding_lead_name": "Karen Lock", "safeguarding_lead_email": dsl,
        "other_agency": "Community Health Visiting",
        "summary": "Injuries reported by the pre-school were not shared with the social worker.",
        "desired_outcome": "Information shared with the social worker and the IRO.",
        "actions_to_date": actions,
    }
    # The safeguarding lead's address is new to the partnership: the business manager accepts.
    mails = bromley.open(f"Sasha Green <{referrer}>", fields, at("2026-08-24"))
    reference = reference_of(mails)
    assert "Stage 4: Resolution by BSCB Chair" in bromley.state(reference)
    assert only(mails, "acknowledgement", referrer)
    [to_chair] = only(mails, "stage_notice", chair)
    assert "agency BSCB members met on 17 August" in to_chair.text()
    # A Looked After child: the DSL must be made aware (Stage Two's rule), though the case
    # passed Stage Two by.
    assert dsl in recipients(mails, "stage_notice")
    assert "must be made aware" in only(mails, "stage_notice", dsl)[0].text()

    decision = "Health Visiting shares the injury records with the social worker today."
    final = bromley.command(only(mails, "new_case", bm)[0], f"DECISION: {decision}",
                            at("2026-08-26"))
    [to_referrer] = only(final, "decision", referrer)
    notice = decision_notice_text(to_referrer)
    assert "Resolution by BSCB Chair (Stage Four)" in notice
    assert "Final decision of: the Chair of the BSCB" in notice and decision in notice
    assert "agency BSCB members met on 17 August" in notice
