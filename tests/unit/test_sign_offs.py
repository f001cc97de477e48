"""One list of sign-offs, read alike by the reply cutter, the command parser and the form
reader (issue 17: the patterns had been written three times with different words)."""

import pytest

from mailbot.domain.command_parser import parse_reply
from mailbot.domain.sign_offs import SIGN_OFF, SIGNED_OFF
from mailbot.intake.email_form import read_email_form
from mailbot.intake.reply_text import own_text_of

SIGN_OFFS = ["Kind regards,", "Kindest regards", "Best wishes", "Many thanks!", "Thank you.",
             "Yours sincerely", "Cheers", "Regards", "Sent from my iPhone", "Get Outlook for iOS"]


@pytest.mark.parametrize("line", SIGN_OFFS)
def test_each_sign_off_is_one_for_every_reader(line):
    assert SIGN_OFF.match(line) and SIGNED_OFF.match(line)


@pytest.mark.parametrize("line", ["Thanks, Priya", "Best wishes Jo Smith", "Yours sincerely, J. Doe"])
def test_a_sign_off_may_carry_a_name_where_a_reply_is_cut(line):
    assert SIGNED_OFF.match(line) and not SIGN_OFF.match(line)


@pytest.mark.parametrize("line", ["Thanks for the update on the plan so far",
                                  "Best interests of the child come first",
                                  "Regardless of the plan"])
def test_a_sentence_that_opens_like_a_sign_off_is_not_one(line):
    assert not SIGN_OFF.match(line) and not SIGNED_OFF.match(line)


@pytest.mark.parametrize("line", SIGN_OFFS)
def test_the_three_readers_stop_at_the_same_sign_off(line):
    reply = f"EXTEND 3\nThe family moved.\n{line}\nJo Bloggs\nHead of Service"
    [command] = parse_reply(reply).commands
    assert "Jo Bloggs" not in str(command)
    assert "Jo Bloggs" not in own_text_of(f"Please see below.\n\n{reply}".replace("EXTEND 3\n", ""))
    form = read_email_form(f"Summary: The school is worried.\n{line}\nJo Bloggs", None)
    assert "Jo Bloggs" not in form.values().get("summary", "")
