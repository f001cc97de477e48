"""Findings 1, 4 and 6 of issue 13 through the intake service: what a referral to the
partnership's final stage must carry is read as its own fields, asked for when missing,
shown in full to the decision makers, and every warning reaches the referrer and the
business managers."""

from __future__ import annotations

from datetime import datetime

import pytest
from policy_helpers import render_notice

from mailbot.adapters.jinja_renderer import JinjaRenderer
from mailbot.adapters.policy_files import calendar_for, load_policy
from mailbot.domain.engine import CaseEngine
from mailbot.domain.notices import Partnership, Template
from mailbot.domain.referral import Person
from mailbot.domain.working_days import LONDON
from mailbot.services.context import MailboxContext, Services
from mailbot.services.ports import RawMessage
from tests.unit.delivery import deliver_raw
from tests.unit.fakes import FakeDatabase, FakeUnitOfWork

BM = "manager@partnership.example"
ICSC = "icsc@hackney.example"
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=LONDON)
ACTIONS = ("Stage 1: the workers spoke on 2 November.\nStage 2: the managers met on 9 November.\n"
           "Stage 3: the heads of service and the agency CHSCP members met on 16 November.")
RATIONALE = "The agencies cannot agree whether the threshold for a strategy meeting is met."


class Recorder:
    """A composer that keeps every notice with its recipient, rendered by the real templates."""

    def __init__(self):
        self.sent: list[tuple[str, str, str]] = []  # template, recipient, text
        self.renderer = JinjaRenderer()

    def same_case(self):
        return self.renderer.same_case()

    def compose(self, notice, *, case, policy, sender, recipient, message_id, now) -> bytes:
        email = self.renderer.render(notice, case=case, policy=policy,
                                     partnership_name=sender.name, recipient=recipient)
        self.sent.append((notice.template, recipient.email, email.text))
        return f"Message-ID: <{message_id}>\r\nSubject: {email.subject}\r\n\r\n".encode()

    def texts(self, template: str, recipient: str | None = None) -> list[str]:
        return [t for name, to, t in self.sent if name == template and recipient in (None, to)]


def world(name: str, contacts: dict[str, str] | None = None):
    policy = load_policy(name)
    people = {role: (Person("", address),) for role, address in (contacts or {}).items()}
    partnership = Partnership(f"{name}@partnership.example", (Person("Manager", BM),), people)
    engine = CaseEngine(policy, calendar_for(policy), partnership)
    context = MailboxContext(name, partnership.address, policy, engine, sender_trust="none")
    db, recorder = FakeDatabase(), Recorder()
    return Services(lambda: FakeUnitOfWork(db), recorder, {name: context}), context, db, recorder


def email(lines: dict[str, str]) -> bytes:
    body = "".join(f"{label}: {value}\n" for label, value in lines.items())
    text = ("From: Amara Okafor <amara@school.example>\nTo: partnership@partnership.example\n"
            "Subject: Request for resolution\nMessage-ID: <ref-1@school.example>\n\n" + body)
    return text.replace("\n", "\r\n").encode()


BASE = {"Child's name": "Robin Example", "Date of birth": "02/06/2014",
        "Referrer's name": "Amara Okafor", "Referrer's email": "amara@school.example",
        "Agency/Team": "Kingsland Primary School", "Other agency": "Children's Social Care",
        "Summary of disagreement": "Core group actions are not being progressed.",
        "Desired outcome": "A core group meeting this week."}


def deliver(services, context, message: bytes):
    return deliver_raw(services, context, RawMessage(context.name, 1, "1", message), MONDAY)


def test_hackneys_email_without_actions_to_date_or_rationale_is_asked_for_both():
    services, context, db, recorder = world("hackney", {"icsc": ICSC})
    handled = deliver(services, context, email(BASE))
    assert handled.case_reference is None and not db.cases
    [reply] = recorder.texts(Template.PLEASE_CORRECT)
    assert "Actions taken to date is missing" in reply
    assert "Rationale for referring to the partnership is missing" in reply
    assert "setting out the actions taken to date and the rationale for the involvement of the" \
           " ICSC" in reply


def test_hackneys_email_with_them_opens_at_stage_4_and_the_commissioner_reads_them_in_full():
    services, context, db, recorder = world("hackney", {"icsc": ICSC})
    message = email({**BASE, "Actions taken to date": ACTIONS,
                     "Rationale for the involvement of the ICSC": RATIONALE})
    reference = deliver(services, context, message).case_reference
    case = db.cases[reference]
    assert case.stage == 4
    assert case.referral.actions_to_date.splitlines()[2].startswith("Stage 3: the heads")
    assert case.referral.referral_rationale == RATIONALE
    [to_icsc] = recorder.texts(Template.STAGE_NOTICE, ICSC)
    assert "Actions taken to date" in to_icsc and "agency CHSCP members met" in to_icsc
    assert RATIONALE in to_icsc
    assert RATIONALE in recorder.texts(Template.NEW_CASE, BM)[0]


def test_a_hackney_referral_stating_stage_1_need_not_carry_the_stage_4_details():
    services, context, db, _ = world("hackney", {"icsc": ICSC})
    reference = deliver(services, context,
                        email({**BASE, "Stage reached so far": "1"})).case_reference
    assert db.cases[reference].stage == 1


def test_burys_level_4_referral_without_evidence_is_asked_for_it_in_appendix_1s_words():
    services, context, _, recorder = world("bury")
    fields = {k: v for k, v in BASE.items() if k != "Desired outcome"}
    deliver(services, context, email(fields))
    [reply] = recorder.texts(Template.PLEASE_CORRECT)
    assert "Evidence of the challenge that has taken place at stages 1, 2 & 3" in reply
    assert "is missing" in reply and "Desired outcome for the child" in reply


def test_bromleys_referral_for_the_independent_chair_must_say_what_was_done_before():
    services, context, _, recorder = world("bromley", {"board_chair": "chair@bromley.example"})
    deliver(services, context, email(BASE))
    [reply] = recorder.texts(Template.PLEASE_CORRECT)
    assert "Actions taken to date is missing" in reply
    assert "for the attention of the independent chair" in reply


def test_the_bscp_business_manager_decides_with_the_evidence_of_levels_1_to_3_in_front_of_them():
    services, context, db, recorder = world("bury")
    evidence = "Level 1: spoke on 2 November.\nLevel 3: heads of service met on 16 November."
    reference = deliver(services, context, email(
        {**BASE, "Evidence of the challenge": evidence})).case_reference
    assert db.cases[reference].stage == 4
    [notice] = [t for t in recorder.texts(Template.STAGE_NOTICE, BM) if "Why you are told" not in t]
    assert "Level 3: heads of service met on 16 November." in notice
    assert "Evidence of the challenge that has taken place at earlier stages" in notice


@pytest.mark.parametrize("template", [Template.ACKNOWLEDGEMENT, Template.NEW_CASE])
def test_warnings_about_a_referral_go_to_the_referrer_and_the_business_managers(template):
    services, context, db, recorder = world("bury")
    fields = {k: v for k, v in BASE.items() if k != "Date of birth"}
    reference = deliver(services, context, email(
        {**fields, "Evidence of the challenge": "Level 2 meeting, no agreement."})).case_reference
    [text] = recorder.texts(template)
    assert "Child's date of birth was not given" in text
    assert "Child's date of birth was not given" in db.cases[reference].history[0].text


def test_a_stage_notice_renders_the_evidence_for_the_decision_maker_of_a_climbed_case():
    from policy_helpers import engine_for, london, open_case

    engine = engine_for("hackney", contacts=["icsc"])
    case, _ = open_case(engine, london(2026, 3, 2), earlier_stages_evidence="Stage 1 call.",
                        actions_to_date=ACTIONS, referral_rationale=RATIONALE)
    notices = engine.move_to_stage(case, 4, london(2026, 3, 3), BM)
    [to_icsc] = [n for n in notices if n.template == Template.STAGE_NOTICE
                 and n.to[0].email == "icsc@agency.example"]
    text = render_notice(engine, to_icsc, case).text
    assert ACTIONS in text and RATIONALE in text and "Stage 1 call." in text


def test_the_level_4_decision_maker_reads_the_evidence_of_the_earlier_levels():
    from policy_helpers import BUSINESS_MANAGER, engine_for, london, open_case

    engine = engine_for("bury")
    evidence = "Level 1: spoke on 2 March.\nLevel 3: heads of service met on 16 March."
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=3,
                        earlier_stages_evidence=evidence)
    notices = engine.move_to_stage(case, 4, london(2026, 3, 17), BM)
    [to_bm] = [n for n in notices if n.template == Template.STAGE_NOTICE
               and n.to == (BUSINESS_MANAGER,) and "rule_roles" not in n.context]
    assert evidence in render_notice(engine, to_bm, case, BUSINESS_MANAGER).text
