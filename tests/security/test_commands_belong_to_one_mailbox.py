"""Findings 1 and 4: a reply acts only on a case of the mailbox it arrived at, and only on the
case its own thread names."""

from __future__ import annotations

from tests.e2e.harness import only
from tests.security.world import CHILD, World, form

HACKNEY_MANAGER = "manager@hackney.test"


def test_a_manager_of_another_partnership_cannot_move_a_case_through_their_own_mailbox(
        world: World):
    # Hackney's business manager referred a Bury case, so mailbot mailed them about it.
    reference, mails = world.open_case(referrer=f"Jo Hill <{HACKNEY_MANAGER}>",
                                       fields=form(referrer_name="Jo Hill",
                                                   referrer_email=HACKNEY_MANAGER))
    [ack] = only(mails, "acknowledgement", HACKNEY_MANAGER)
    before = world.state(reference)

    # They answer it, signed and authenticated, but to Hackney's mailbox.
    answers = world.deliver("hackney", world.reply(ack, "STAGE 4: move it on",
                                                   sender=HACKNEY_MANAGER, mailbox="hackney"))

    assert world.state(reference) == before
    assert "STAGE 4" not in world.case_text(reference)
    # Bury's business manager is told; the sender hears nothing about the case; nobody at
    # Hackney gets the Bury child's details.
    [alert] = only(answers, "security_alert", "manager@bury.test")
    assert reference in alert.subject and "chscp@hackney.test" in alert.text()
    [refusal] = only(answers, "command_refusal", HACKNEY_MANAGER)
    assert "The case is" not in refusal.text() and "Stage 1:" not in refusal.text()
    assert reference not in refusal.subject
    assert {m.recipient for m in answers} == {"manager@bury.test", HACKNEY_MANAGER}
    assert not any(CHILD in m.text() for m in answers)


def test_a_reply_goes_to_the_case_its_in_reply_to_names_whatever_else_references_holds(
        world: World):
    # References also names every email sent about two other cases: In-Reply-To decides. The
    # order a database returns Message-IDs in is arbitrary, so three cases are tried.
    others = [world.open_case() for _ in range(2)]
    noise = [m.message_id for _, sent in others for m in sent]
    for attempt in range(3):
        target, mails = world.open_case()
        to_target = world.new_case_notice(mails)
        order = [*noise, to_target.message_id] if attempt % 2 else [to_target.message_id, *noise]
        reply = world.reply(to_target, "NOTE: about this case")
        refs = " ".join(f"<{m}>" for m in order).encode()
        world.deliver("bury", reply.replace(f"References: <{to_target.message_id}>".encode(),
                                            b"References: " + refs))
        assert "about this case" in world.case_text(target)
    assert not any("about this case" in world.case_text(ref) for ref, _ in others)


def test_a_thread_and_a_subject_tag_that_disagree_change_nothing_and_say_why(world: World):
    first, mails_a = world.open_case()
    second, _ = world.open_case()
    to_a = world.new_case_notice(mails_a)
    before = world.state(first), world.state(second)
    answers = world.deliver("bury", world.reply(to_a, "ESCALATE",
                                                subject=f"RE: [{second}] please escalate"))
    assert (world.state(first), world.state(second)) == before
    [refusal] = only(answers, "command_refusal", "manager@bury.test")
    assert first in refusal.text() and second in refusal.text()


def test_references_naming_two_cases_without_in_reply_to_are_refused(world: World):
    first, mails_a = world.open_case()
    second, mails_b = world.open_case()
    to_a, to_b = world.new_case_notice(mails_a), world.new_case_notice(mails_b)
    reply = world.reply(to_a, "ESCALATE", subject="RE: escalate please")
    reply = reply.replace(f"In-Reply-To: <{to_a.message_id}>\n".encode(), b"").replace(
        f"References: <{to_a.message_id}>".encode(),
        f"References: <{to_a.message_id}> <{to_b.message_id}>".encode())
    before = world.state(first), world.state(second)
    answers = world.deliver("bury", reply)
    assert (world.state(first), world.state(second)) == before
    assert "more than one case" in only(answers, "command_refusal")[0].text()
