"""Findings 5, 6 and 7: a sender check the sender wrote, a note from a stranger, a reference
typed into a subject, and an address hidden behind a display name."""

from __future__ import annotations

import pytest

from tests.e2e.harness import only
from tests.security.world import AUTHSERV, CHILD, World

MANAGER = "manager@bury.test"
PASSING = (f"Authentication-Results: {AUTHSERV}; dkim=pass header.d=bury.test;"
           " dmarc=pass header.from=bury.test\r\n")
RECEIVED = "Received: from mail.attacker.test by mx.partnership.test; Mon, 23 Nov 2026 10:00 +0000\r\n"


def _forged(world: World, to, placement: str) -> bytes:
    """A reply From the manager whose only passing sender check the sender wrote."""
    reply = world.reply(to, "ESCALATE: forged", authenticated=False)
    # The receiving server wrote no check of its own: it only added its Received line.
    reply = b"".join(line for line in reply.splitlines(keepends=True)
                     if not line.startswith(b"Authentication-Results:"))
    if placement == "below the server's Received line":
        return (RECEIVED + PASSING).encode() + reply
    genuine = f"Authentication-Results: {AUTHSERV}; dmarc=fail header.from=bury.test\r\n"
    if placement == "above the server's own check":
        return (PASSING + genuine).encode() + reply
    return (genuine + PASSING).encode() + reply  # below the server's own check


@pytest.mark.parametrize("placement", ["below the server's Received line",
                                       "above the server's own check",
                                       "below the server's own check"])
def test_a_sender_check_written_by_the_sender_is_not_believed(world: World, placement):
    reference, mails = world.open_case()
    notice = world.new_case_notice(mails)
    before = world.state(reference)
    answers = world.deliver("bury", _forged(world, notice, placement))
    assert world.state(reference) == before
    [refusal] = only(answers, "command_refusal", MANAGER)
    assert "could not be verified" in refusal.text()
    [alert] = only(answers, "for_attention", MANAGER)  # the business managers are told
    assert "forged" in alert.subject.lower() or "forged" in alert.text().lower()


def test_a_note_from_a_stranger_is_marked_unverified_and_the_answer_reveals_nothing(
        world: World):
    reference, _ = world.open_case()
    stranger = world.reply_as_stranger(reference, "NOTE: the family has moved to Leeds")
    answers = world.deliver("bury", stranger)
    shown = world.case_text(reference)
    assert "Unverified sender" in shown and "moved to Leeds" in shown
    [answer] = only(answers, "command_confirmation", "stranger@evil.test")
    for secret in ("Stage", "Status", "Deadline", "open", CHILD, "Sam"):
        assert secret not in answer.text(), secret
    assert only(answers, "for_attention", MANAGER)  # someone on the case reads it


def test_a_forged_manager_note_with_only_the_reference_is_unverified(world: World):
    reference, _ = world.open_case()
    forged = world.reply_as_stranger(reference, "NOTE: close this case", sender=MANAGER)
    world.deliver("bury", forged)
    history = world.case_text(reference)
    assert "Unverified sender" in history and "close this case" in history


def test_a_guessed_reference_learns_nothing(world: World):
    reference, _ = world.open_case()
    answers = world.deliver("bury", world.reply_as_stranger(reference, "What is the status?"))
    assert not [m for m in answers if m.recipient == "stranger@evil.test"]
    answers = world.deliver("bury", world.reply_as_stranger(reference, "ESCALATE"))
    [refusal] = only(answers, "command_refusal", "stranger@evil.test")
    for secret in ("The case is", "Stage 1:", "Deadline", CHILD):
        assert secret not in refusal.text(), secret


def test_assign_names_the_address_in_angle_brackets_never_the_display_name(world: World):
    reference, mails = world.open_case()
    notice = world.new_case_notice(mails)
    answers = world.deliver("bury", world.reply(
        notice, "ASSIGN line_manager: evil@attacker.test <jo@council.test>"))
    [refusal] = only(answers, "command_refusal", MANAGER)
    assert "is itself an email address" in refusal.text()
    assert "attacker" not in world.state(reference)
    answers = world.deliver("bury", world.reply(
        notice, 'ASSIGN line_manager: "Jo Bloggs" <jo@council.test>', message_id="<a2@bury.test>"))
    assert "jo@council.test" in only(answers, "command_confirmation", MANAGER)[0].text()
    assert "Jo Bloggs <jo@council.test>" in world.state(reference)
