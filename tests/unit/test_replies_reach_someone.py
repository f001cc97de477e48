"""Issue 14's reply findings, over the fakes: no answer to a business manager is dropped,
what anyone else writes reaches the business managers, a mistyped command is answered,
and one reply's notices are decided after all its commands."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailbot.services.context import Services
from tests.unit.bury_mailbox import BM, MONDAY, REFERRAL, mailbox_context
from tests.unit.fakes import FakeDatabase, FakeUnitOfWork, RecordingComposer
from tests.unit.test_services import deliver, queued, reply

REFERRER = "priya@school.example"
CASE = "BSCP-2026-0001"


@pytest.fixture
def world():
    context = mailbox_context()
    db = FakeDatabase()
    services = Services(lambda: FakeUnitOfWork(db), RecordingComposer(), {"bury": context},
                        replies_per_recipient_per_hour=3)
    deliver(services, context, REFERRAL, "referral")
    return services, context, db


def _reply(db, text, n, **options):
    return reply(db, text, message_id=f"<r{n}@x>", uid=str(n), **options)


def test_a_busy_business_manager_always_gets_an_answer(world):
    # More new cases, confirmations and refusals in an hour than the loop guard allows any
    # other address: every one of the manager's commands is still answered.
    services, context, db = world
    for n in range(6):
        deliver(services, context, REFERRAL.replace("ref-1@", f"ref-{n + 2}@"), f"case{n}")
    for n in range(5):
        deliver(services, context, _reply(db, f"NOTE: note {n}", n), f"reply{n}",
                now=MONDAY + timedelta(minutes=n))
    deliver(services, context, _reply(db, "STAGE 7", 9), "reply9")
    answers = [i for i in queued(db) if i.recipient == BM and i.template.startswith("command_")]
    assert len(answers) == 6
    assert db.cases[CASE].history[-1].text.startswith("STAGE 7\nRefused")


def test_an_auto_responder_is_answered_a_few_times_then_the_managers_are_told_once(world):
    services, context, db = world
    for n in range(6):
        text = reply(db, f"ESCALATE: please {n}", sender=REFERRER, to_template="acknowledgement",
                     message_id=f"<loop{n}@x>")
        deliver(services, context, text, f"loop{n}")
    refusals = [i for i in queued(db, "command_refusal") if i.recipient == REFERRER]
    assert len(refusals) == 3  # replies_per_recipient_per_hour
    held_back = [i for i in queued(db, "for_attention") if i.key.startswith("loop-guard:")]
    assert len(held_back) == 1 and held_back[0].recipient == BM


def test_a_mistyped_command_is_answered_with_the_nearest_one(world):
    services, context, db = world
    deliver(services, context, _reply(db, "ESCALTE: no agreement", 1), "r1")
    assert db.cases[CASE].stage == 1
    [refusal] = queued(db, "command_refusal")
    notice = [n for n, _ in services.composer.composed if n.template == "command_refusal"][0]
    assert "Did you mean ESCALATE?" in " ".join(notice.context["reasons"] + notice.context["commands"])
    assert refusal.recipient == BM


def test_a_referrers_note_reaches_the_business_managers(world):
    services, context, db = world
    text = reply(db, "NOTE: The child was seen at A&E last night. I think this is now urgent.",
                 sender=REFERRER, to_template="acknowledgement")
    deliver(services, context, text, "r1")
    [forwarded] = [n for n, p in services.composer.composed
                   if n.template == "for_attention" and p.email == BM]
    assert "A&E last night" in forwarded.context["text"]
    assert [i.recipient for i in queued(db, "command_confirmation")] == [REFERRER]


def test_a_practitioners_escalate_is_refused_and_the_managers_are_told_who_asked(world):
    services, context, db = world
    text = reply(db, "ESCALATE: nobody has replied", sender=REFERRER,
                 to_template="acknowledgement")
    deliver(services, context, text, "r1")
    assert db.cases[CASE].stage == 1
    [forwarded] = [n for n, p in services.composer.composed if n.template == "for_attention"]
    assert any("ESCALATE" in line for line in forwarded.context["happened"])
    refusal = [n for n, _ in services.composer.composed if n.template == "command_refusal"][0]
    assert "business managers" in refusal.context["told"]


def test_an_assignment_and_an_escalation_in_one_reply_ask_nobody_to_act_at_the_stage_left(
        world):
    services, context, db = world
    deliver(services, context, _reply(db, "ESCALATE", 1), "r1")  # stage 2: line managers
    before = {i.recipient for i in queued(db, "stage_notice")}
    deliver(services, context, _reply(db, "ASSIGN line_manager: Jo Bloggs <jo@council.example>\n"
                                          "ESCALATE", 2, to_template="command_confirmation"), "r2")
    case = db.cases[CASE]
    assert case.stage == 3
    stage_notices = [i for i in queued(db, "stage_notice") if i.recipient not in before]
    assert all(i.stage == 3 for i in stage_notices), [(i.recipient, i.stage) for i in stage_notices]
    assert "jo@council.example" not in {i.recipient for i in stage_notices if i.stage == 2}


def _refusal_text(services) -> str:
    notice = [n for n, _ in services.composer.composed if n.template == "command_refusal"][-1]
    return " ".join(notice.context["reasons"] + notice.context["commands"])


def test_an_unknown_role_is_answered_with_the_nearest_role_the_policy_has(world):
    services, context, db = world
    deliver(services, context, _reply(db, "ASSIGN line_manger: Jo Bloggs <jo@council.example>", 1),
            "r1")
    assert not any(p.email == "jo@council.example" for p in db.cases[CASE].everyone())
    said = _refusal_text(services)
    assert "line_manger" in said and "ASSIGN line_manager:" in said, said


def test_a_stage_the_policy_lacks_is_answered_with_the_stages_it_has(world):
    services, context, db = world
    deliver(services, context, _reply(db, "STAGE 9: no agreement", 1), "r1")
    assert db.cases[CASE].stage == 1
    said = _refusal_text(services)
    assert "9" in said and "STAGE 4" in said, said
