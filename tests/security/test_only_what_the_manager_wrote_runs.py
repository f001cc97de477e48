"""Findings 2 and 3: quoted text never runs, and a command message acts only once."""

from __future__ import annotations

import pytest

from tests.e2e.harness import only
from tests.security.world import World, form

ATTACK = "WITHDRAW: the referrer asked for this to be closed"


@pytest.mark.parametrize("body", ["\N{THUMBS UP SIGN}", ".", "?", ""])
def test_a_reply_with_nothing_of_its_own_runs_none_of_the_quoted_commands(world: World, body):
    # The form's summary carries a command line; mailbot's own notice lists every command.
    reference, mails = world.open_case(fields=form(summary=f"Please see below.\n{ATTACK}"))
    notice = world.new_case_notice(mails)
    quoted = notice.text() + f"\nSummary of the disagreement\n{ATTACK}\nRESOLVED: outcome\n"
    before = world.state(reference)

    answers = world.deliver("bury", world.reply(notice, body, quoted=quoted))

    assert world.state(reference) == before
    shown = world.case_text(reference)
    assert "Withdrawn" not in shown and "CorrespondenceFiled" in shown
    [told] = only(answers, "command_refusal", "manager@bury.test")
    assert "nothing was run" in told.text()


def test_a_replayed_command_message_acts_once_and_the_manager_is_told(world: World):
    reference, mails = world.open_case()
    notice = world.new_case_notice(mails)
    original = world.reply(notice, "ESCALATE: no agreement at level 1")
    assert only(world.deliver("bury", original), "command_confirmation")
    moved = world.state(reference)
    assert "Level 2" in moved

    # The same signed message again, one more Received line on top.
    replayed = b"Received: from relay.attacker.test by mx.partnership.test; Tue, 24 Nov 2026\r\n"
    answers = world.deliver("bury", replayed + original)

    assert world.state(reference) == moved
    [refusal] = only(answers, "command_refusal", "manager@bury.test")
    assert "acted on before" in refusal.text()
    assert only(answers, "for_attention")  # the business managers hear of the replay


def test_a_replay_under_a_new_message_id_is_still_a_replay(world: World):
    reference, mails = world.open_case()
    notice = world.new_case_notice(mails)
    first = world.reply(notice, "ESCALATE", message_id="<one@bury.test>")
    world.deliver("bury", first)
    moved = world.state(reference)
    again = first.replace(b"<one@bury.test>", b"<two@bury.test>")
    answers = world.deliver("bury", again)
    assert world.state(reference) == moved
    assert "acted on before" in only(answers, "command_refusal")[0].text()
