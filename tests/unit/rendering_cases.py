"""Realistic notices for the rendering tests, made by the real CaseEngine on the Bury policy.

Each step keeps a deep copy of the case as it stood when the notice was made, because the
service layer renders a notice in the same transaction as the change that produced it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from mailbot.adapters.policy_files import calendar_for, load_policy
from mailbot.domain.case import Case
from mailbot.domain.digest import CaseDates, DigestSchedule, build_digest, due_slot
from mailbot.domain.engine import CaseEngine
from mailbot.domain.notices import Attachment, Notice, Partnership, Template
from mailbot.domain.policy import Policy
from mailbot.domain.referral import AgencyType, Person, Referral
from mailbot.domain.service_notice_contexts import (
    CommandConfirmation,
    CommandRefusal,
    ForAttention,
    JobAlert,
    MailboxAlert,
    PleaseCorrect,
    QuarantineAlert,
    SecurityAlert,
)
from mailbot.domain.working_days import LONDON
from mailbot.services.context import MailboxContext
from mailbot.services.digest import digest_notice

CHILD_NAME = "Alfie Zebedee-Quinn"
CHILD_DOB = date(2015, 3, 4)
DOB_SPELLINGS = ("4 March 2015", "2015-03-04", "04/03/2015", "4/3/2015")
HOSTILE_SUMMARY = ("School says <script>alert('x')</script> & the plan is not working;\n"
                   "social care disagree.")
BUSINESS_MANAGER = Person("Bea Manager", "business.manager@bury.example")
REFERRER = Person("Riya Referrer", "riya.referrer@school.example")
LINE_MANAGER = Person("Lena Manager", "lena.manager@school.example")
OPENED = datetime(2026, 12, 14, 10, 0, tzinfo=LONDON)  # a Monday; Christmas lies ahead
FIRST_DEADLINE = "5pm on Wednesday 30 December 2026"
SINCE = datetime.fromisoformat("2026-12-14T10:00:00+00:00")  # when an alert's trouble began


@dataclass(frozen=True)
class Rendered:
    """A notice and the case as it stood when the notice was made."""

    notice: Notice
    case: Case | None


def bury() -> tuple[Policy, CaseEngine]:
    policy = load_policy("bury")
    partnership = Partnership("bsp@bury.example", (BUSINESS_MANAGER,))
    return policy, CaseEngine(policy, calendar_for(policy), partnership)


def referral(immediate_risk: bool = True, summary: str = HOSTILE_SUMMARY) -> Referral:
    return Referral(
        child_name=CHILD_NAME, child_dob=CHILD_DOB, referrer_name=REFERRER.name,
        referrer_email=REFERRER.email, referrer_role="Designated safeguarding lead",
        referrer_agency="Hilltop Primary School", referrer_phone="0161 000 0000",
        referrer_agency_type=AgencyType.SCHOOL, summary=summary,
        desired_outcome="A strategy discussion and a child protection conference.",
        earlier_stages_evidence="Stage 1: spoke to the social worker on 1 December; no change.",
        immediate_risk=immediate_risk, date_of_notification=date(2026, 12, 14),
        other_agency="Children's Social Care", other_agency_type=AgencyType.CHILDRENS_SOCIAL_CARE,
        stage_reached=1,
    )


def at(day: int, hour: int = 9, month: int = 12, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=LONDON)


def _keep(case: Case, notices: list[Notice]) -> list[Rendered]:
    snapshot = copy.deepcopy(case)
    return [Rendered(notice, snapshot) for notice in notices]


def decided_case() -> tuple[Case, list[Rendered]]:
    """One case from referral to final decision, with every chaser on the way."""
    _, engine = bury()
    case, notices = engine.open_case(referral(), "BSCP-2026-0007", OPENED, "<form@school>")
    steps = _keep(case, notices)
    for moment in (at(29), at(30), at(31)):  # reminder, due today, first overdue notice
        steps += _keep(case, engine.chase(case, moment))
    steps += _keep(case, engine.escalate(case, at(31, 11), BUSINESS_MANAGER.email, "no reply"))
    steps += _keep(case, engine.assign(case, "line_manager", LINE_MANAGER, at(31, 12),
                                       BUSINESS_MANAGER.email))
    steps += _keep(case, engine.extend(case, 3, at(31, 13), BUSINESS_MANAGER.email, "leave"))
    steps += _keep(case, engine.record_bounce(case, "Delivery to lena.manager@school.example"
                                              " failed: 550 no such user.", at(31, 14), "<b@x>"))
    steps += _keep(case, engine.escalate(case, at(4, 10, 1, 2027), BUSINESS_MANAGER.email))
    steps += _keep(case, engine.escalate(case, at(5, 10, 1, 2027), BUSINESS_MANAGER.email))
    # Escalating during Level 3's week with the heads of service goes to its directors first.
    steps += _keep(case, engine.escalate(case, at(5, 11, 1, 2027), BUSINESS_MANAGER.email))
    steps += _keep(case, engine.record_decision(
        case, "The school's concerns are upheld.\nA strategy discussion is held by 8 January.",
        at(6, 15, 1, 2027), BUSINESS_MANAGER.email))
    return case, steps


def resolved_case() -> list[Rendered]:
    """A case resolved at Bury's Level 3, which tells the business manager (an outcome rule)."""
    _, engine = bury()
    case, notices = engine.open_case(referral(immediate_risk=False), "BSCP-2026-0008", OPENED)
    steps = _keep(case, notices)
    steps += _keep(case, engine.move_to_stage(case, 3, at(15), BUSINESS_MANAGER.email))
    steps += _keep(case, engine.record_outcome(case, "Agreed: a joint visit on 18 December.",
                                               at(16), BUSINESS_MANAGER.email))
    return steps


def withdrawn_case() -> list[Rendered]:
    _, engine = bury()
    case, _ = engine.open_case(referral(), "BSCP-2026-0009", OPENED)
    return _keep(case, engine.withdraw(case, "Raised by mistake.", at(15), BUSINESS_MANAGER.email))


def service_notices(case: Case) -> list[Rendered]:
    """The notices the service layer makes itself, with and without a case."""
    bm = (BUSINESS_MANAGER,)
    return [
        Rendered(Notice(Template.COMMAND_CONFIRMATION, bm, case.stage,
                        context=CommandConfirmation(
                            commands=["ESCALATE: no reply from social care"])), case),
        Rendered(Notice(Template.COMMAND_REFUSAL, (REFERRER,), case.stage,
                        context=CommandRefusal(
                            commands=["ESCALATE"],
                            reason="riya.referrer@school.example is not a business"
                                   " manager of this mailbox.")), case),
        Rendered(Notice(Template.COMMAND_REFUSAL, (REFERRER,),
                        context=CommandRefusal(reasons=["No case matches this reply."])),
                 None),
        Rendered(Notice(Template.PLEASE_CORRECT, (REFERRER,),
                        context=PleaseCorrect(problems=["The child's name is missing."],
                                              warnings=["The child's date of birth is missing."]),
                        attachments=(Attachment.BLANK_FORM,)), None),
        Rendered(Notice(Template.QUARANTINE_ALERT, bm,
                        context=QuarantineAlert(reason="The attachment is not a Word form.",
                                                message_id="<q1@school.example>",
                                                sender=REFERRER.email, mailbox="bury",
                                                received_at=SINCE)), None),
        Rendered(Notice(Template.MAILBOX_FAILURE, bm,
                        context=MailboxAlert(mailbox="bury", error="LOGIN failed: bad password",
                                             since=SINCE)), None),
        Rendered(Notice(Template.MAILBOX_RECOVERED, bm,
                        context=MailboxAlert(mailbox="bury", since=SINCE)), None),
        Rendered(Notice(Template.JOB_FAILURE, bm,
                        context=JobAlert(job="deadline-pass", error="database unavailable")), None),
        Rendered(Notice(Template.JOB_RECOVERED, bm,
                        context=JobAlert(job="deadline-pass", error="database unavailable")), None),
        Rendered(Notice(Template.COMMAND_REFUSAL, (REFERRER,),
                        context=CommandRefusal(
                            commands=["STAGE 4"], reference=case.reference,
                            reasons=["Only the business managers can change a case."],
                            told="the business managers of Bury")), None),
        Rendered(Notice(Template.FOR_ATTENTION, bm, case.stage,
                        context=ForAttention(heading="For your attention",
                                             sender=REFERRER.formatted(), verified=True,
                                             text="NOTE: The child was seen at A&E.",
                                             happened=["Recorded: NOTE: The child was seen at"
                                                       " A&E."])),
                 case),
        Rendered(Notice(Template.SECURITY_ALERT, bm, case.stage,
                        context=SecurityAlert(
                            heading="A reply about this case reached another partnership",
                            items=["jo@hackney.example wrote to chscp@hackney.example."])),
                 case),
    ]


def weekly_digest() -> Rendered:
    """The digest of two open cases on Monday 4 January 2027, one of them overdue."""
    policy, engine = bury()
    first, _ = engine.open_case(referral(), "BSCP-2026-0010", OPENED)
    second, _ = engine.open_case(referral(), "BSCP-2026-0011", at(29))
    now = at(4, 9, 1, 2027)
    slot = due_slot(now, DigestSchedule(), engine.calendar)
    assert slot is not None
    changes = [CaseDates(c.reference, c.status, c.stage, c.opened_at, None) for c in (first, second)]
    digest = build_digest(slot, slot.at - timedelta(days=7), [first, second], changes, engine, now)
    assert digest is not None
    mailbox = MailboxContext("bury", "bsp@bury.example", policy, engine)
    return Rendered(digest_notice(digest, mailbox), None)


def every_notice() -> list[Rendered]:
    case, steps = decided_case()
    return (steps + resolved_case() + withdrawn_case() + service_notices(steps[0].case)
            + [weekly_digest()])
