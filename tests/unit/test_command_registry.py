"""One vocabulary: the help every email prints, the words the parser accepts, the lines the
reply-text cutter keeps and the case changes the reply use case runs all come from
``commands.COMMANDS``, so they cannot drift apart."""

from __future__ import annotations

import re

import pytest
from rendering_cases import BUSINESS_MANAGER, OPENED, bury, referral

from mailbot.adapters.jinja_renderer import JinjaRenderer
from mailbot.domain.command_parser import is_command_line, parse_reply
from mailbot.domain.commands import COMMANDS, STATE_CHANGING, VERBS, AddNote, describe
from mailbot.domain.notices import Template
from mailbot.domain.referral import Person

EXAMPLES = {"n": "2", "reason": "no agreement", "outcome": "agreed", "text": "a note",
            "role: Name <email>": "line_manager: Jo Bloggs <jo@council.example>"}


def _example(syntax: str) -> str:
    """The fullest form of a command as its help writes it, with example values."""
    line = syntax.split(" or ")[-1].split(" (")[0]
    for placeholder, value in EXAMPLES.items():
        line = re.sub(rf"\b{re.escape(placeholder)}(?=$|:)", value, line)
    return line


def _help_lines() -> list[str]:
    policy, engine = bury()
    case, notices = engine.open_case(referral(), "BSCP-2026-0007", OPENED)
    [notice] = [n for n in notices if n.template == Template.NEW_CASE]
    email = JinjaRenderer().render(notice, case=case, policy=policy, partnership_name="Bury",
                                   recipient=BUSINESS_MANAGER)
    section = email.text.split("Reply commands\n", 1)[1]
    return [line.strip() for line in section.splitlines() if line.startswith("  ")
            and not line.startswith("      ")]


def test_the_help_in_an_email_lists_exactly_the_words_the_parser_accepts():
    written = [re.split(r"[\s:]", line)[0] for line in _help_lines()]
    assert written == list(VERBS)
    accepted = [type(parse_reply(_example(word.syntax)).commands[0]) for word in COMMANDS]
    assert accepted == [word.kind for word in COMMANDS]


@pytest.mark.parametrize("word", COMMANDS, ids=lambda w: w.verb)
def test_each_command_reads_back_as_it_was_written(word):
    [command] = parse_reply(_example(word.syntax)).commands
    assert parse_reply(describe(command)).commands == (command,)
    assert is_command_line(_example(word.syntax))
    assert is_command_line(word.verb.lower() + (" 3" if "n" in word.syntax.split() else ""))


def test_only_a_note_may_come_from_anyone_on_the_case():
    assert set(STATE_CHANGING) == {word.kind for word in COMMANDS} - {AddNote}


def test_a_person_is_read_from_angle_brackets_in_every_command_that_names_one():
    [command] = parse_reply("assign iro: Ivy Ro <IVY@IRO.example>").commands
    assert command.person == Person("Ivy Ro", "ivy@iro.example")
