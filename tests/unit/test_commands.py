"""Commands by reply (contract section 4): what ``parse_reply`` reads from a reply's own text."""

from __future__ import annotations

import pytest

from mailbot.domain.command_parser import parse_reply
from mailbot.domain.commands import (
    STATE_CHANGING,
    Accept,
    AddNote,
    AssignRole,
    Escalate,
    ExtendDeadline,
    MoveToStage,
    RecordDecision,
    RecordOutcome,
    ShortenDeadline,
    Withdraw,
    describe,
)
from mailbot.domain.referral import Person


def only(text: str):
    parsed = parse_reply(text)
    assert parsed.problems == ()
    assert len(parsed.commands) == 1, parsed.commands
    return parsed.commands[0]


@pytest.mark.parametrize(("text", "command"), [
    ("ESCALATE", Escalate()),
    ("ESCALATE: no reply from the school", Escalate("no reply from the school")),
    ("STAGE 3", MoveToStage(3)),
    ("STAGE 2: agreed to step back", MoveToStage(2, "agreed to step back")),
    ("RESOLVED: joint visit agreed", RecordOutcome("joint visit agreed")),
    ("DECISION: the assessment goes ahead", RecordDecision("the assessment goes ahead")),
    ("EXTEND 3", ExtendDeadline(3)),
    ("EXTEND 2: awaiting the strategy meeting", ExtendDeadline(2, "awaiting the strategy meeting")),
    ("ASSIGN line_manager: Jo Bloggs <jo@example.org>",
     AssignRole("line_manager", Person("Jo Bloggs", "jo@example.org"))),
    ("NOTE: spoke to the head teacher", AddNote("spoke to the head teacher")),
    ("WITHDRAW: raised in error", Withdraw("raised in error")),
])
def test_every_contract_command_is_read(text, command):
    assert only(text) == command


@pytest.mark.parametrize("text", ["escalate", "Escalate", "eScAlAtE", "  ESCALATE  "])
def test_commands_are_case_insensitive_and_trimmed(text):
    assert only(text) == Escalate()


def test_lower_case_commands_with_arguments_are_read():
    assert only("stage 4: exceptional") == MoveToStage(4, "exceptional")
    assert only("Resolved: agreed") == RecordOutcome("agreed")
    assert only("assign Head Teacher: Ann Head <Ann@School.Example>") == AssignRole(
        "head_teacher", Person("Ann Head", "ann@school.example"))


def test_a_one_word_command_ending_in_a_full_stop_is_still_the_command():
    assert only("Escalate.") == Escalate()


def test_an_outcome_runs_on_over_the_following_lines_until_the_sign_off():
    text = ("RESOLVED: The agencies agreed\na joint home visit on Friday\nand a review in May."
            "\n\nKind regards\nBea")
    assert only(text) == RecordOutcome(
        "The agencies agreed\na joint home visit on Friday\nand a review in May.")


def test_a_decision_may_start_on_the_line_after_the_command():
    assert only("DECISION:\nThe assessment goes ahead.\nThanks") == RecordDecision(
        "The assessment goes ahead.")


def test_run_on_text_stops_at_the_next_command():
    parsed = parse_reply("NOTE: first line\nsecond line\nEXTEND 2\nESCALATE: still stuck")
    assert parsed.commands == (AddNote("first line\nsecond line"), ExtendDeadline(2),
                               Escalate("still stuck"))


def test_several_commands_are_read_in_order():
    text = "ASSIGN iro: Ira Officer <iro@example.org>\nSTAGE 2\nNOTE: assigned the IRO"
    assert [type(c) for c in parse_reply(text).commands] == [AssignRole, MoveToStage, AddNote]


@pytest.mark.parametrize("text", [
    "Escalate this please",
    "Escalated to my manager yesterday.",
    "Resolved that we would meet again",
    "Noted, thank you",
    "Decisions will follow next week.",
    "We should withdraw if nothing changes",
    "Please see the note below.",
])
def test_prose_that_starts_with_a_command_word_is_not_a_command(text):
    assert parse_reply(text).commands == ()
    assert parse_reply(text).problems == ()


@pytest.mark.parametrize(("text", "says"), [
    ("STAGE two", "STAGE needs a number"),
    ("EXTEND a week", "EXTEND needs a number"),
    ("RESOLVED:", "RESOLVED needs text"),
    ("DECISION", "DECISION needs text"),
    ("WITHDRAW:", "WITHDRAW needs text"),
    ("NOTE:", "NOTE needs text"),
    ("ASSIGN line_manager", "ASSIGN needs a role and a person"),
    ("ASSIGN line_manager: Jo Bloggs", "has no email address"),
])
def test_a_malformed_command_is_reported_never_guessed(text, says):
    parsed = parse_reply(text)
    assert parsed.commands == ()
    assert len(parsed.problems) == 1 and says in parsed.problems[0]


def test_a_malformed_line_does_not_hide_the_good_ones():
    parsed = parse_reply("STAGE x\nESCALATE: go on")
    assert parsed.commands == (Escalate("go on"),)
    assert len(parsed.problems) == 1


def test_windows_line_endings_are_read_like_unix_ones():
    assert only("RESOLVED: agreed\r\nover two lines\r\n") == RecordOutcome("agreed\nover two lines")


def test_a_reply_with_no_command_yields_nothing():
    parsed = parse_reply("Thanks for the update, I will call the school tomorrow.\n\nBest wishes")
    assert parsed.commands == () and parsed.problems == ()


def test_every_command_reads_back_as_it_would_be_typed():
    assert describe(MoveToStage(3, "why")) == "STAGE 3: why"
    assert describe(ExtendDeadline(2)) == "EXTEND 2"
    assert describe(AssignRole("iro", Person("I", "i@x.org"))) == "ASSIGN iro: I <i@x.org>"
    for command in (Escalate(), RecordOutcome("o"), RecordDecision("d"), AddNote("n"),
                    Withdraw("w")):
        assert only(describe(command)) == command


def test_a_note_is_the_only_command_that_does_not_change_state():
    assert AddNote not in STATE_CHANGING
    assert {Escalate, MoveToStage, RecordOutcome, RecordDecision, ExtendDeadline,
            ShortenDeadline, AssignRole, Withdraw, Accept} == set(STATE_CHANGING)


def test_assign_takes_the_address_in_angle_brackets_and_refuses_an_address_as_a_name():
    parsed = parse_reply("ASSIGN line_manager: evil@x.example <jo@council.example>")
    assert parsed.commands == ()
    assert "is itself an email address" in parsed.problems[0]
    assert "jo@council.example" in parsed.problems[0]
    [command] = parse_reply('ASSIGN line_manager: "Jo Bloggs" <Jo@Council.example>').commands
    assert command == AssignRole("line_manager", Person("Jo Bloggs", "jo@council.example"))


@pytest.mark.parametrize("line, nearest", [("ESCALTE: no agreement", "ESCALATE"),
                                           ("STAG 3", "STAGE"), ("Notes: seen at A&E", "NOTE"),
                                           ("WITHDRAWN: duplicate", "WITHDRAW")])
def test_a_mistyped_verb_is_answered_with_the_nearest_command(line, nearest):
    parsed = parse_reply(line)
    assert parsed.commands == ()
    assert f"Did you mean {nearest}?" in parsed.problems[0]


@pytest.mark.parametrize("line", ["Noted.", "Escalated", "Thanks", "Kind regards", "Hello",
                                  "Accepted"])
def test_ordinary_words_are_not_taken_for_mistyped_commands(line):
    assert parse_reply(line) == parse_reply("")
