"""The reply commands (contract section 4), each one object: its word, how it is written, what
it does, who may use it and the case change it runs (the command's ``run``), as Mailman 3
keeps its email commands.

Everything else is derived from ``COMMANDS``: the parser (``command_parser``), the
reply-text cutter's test for a command line, the help in every email, and the reply use
case's dispatch. Adding a command is adding one ``CommandWord`` here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

from mailbot.domain.referral import Person

if TYPE_CHECKING:
    from mailbot.domain.case import Case
    from mailbot.domain.engine import CaseEngine
    from mailbot.domain.notices import Notice


@dataclass(frozen=True)
class Escalate:
    reason: str = ""

    def run(self, engine: CaseEngine, case: Case, now: datetime, actor: str,
            source: str | None) -> list[Notice]:
        return engine.escalate(case, now, actor, self.reason, source)


@dataclass(frozen=True)
class MoveToStage:
    stage: int
    reason: str = ""

    def run(self, engine: CaseEngine, case: Case, now: datetime, actor: str,
            source: str | None) -> list[Notice]:
        return engine.move_to_stage(case, self.stage, now, actor, self.reason, source)


@dataclass(frozen=True)
class RecordOutcome:
    outcome: str

    def run(self, engine: CaseEngine, case: Case, now: datetime, actor: str,
            source: str | None) -> list[Notice]:
        return engine.record_outcome(case, self.outcome, now, actor, source)


@dataclass(frozen=True)
class RecordDecision:
    decision: str

    def run(self, engine: CaseEngine, case: Case, now: datetime, actor: str,
            source: str | None) -> list[Notice]:
        return engine.record_decision(case, self.decision, now, actor, source)


@dataclass(frozen=True)
class ExtendDeadline:
    days: int
    reason: str = ""

    def run(self, engine: CaseEngine, case: Case, now: datetime, actor: str,
            source: str | None) -> list[Notice]:
        return engine.extend(case, self.days, now, actor, self.reason, source)


@dataclass(frozen=True)
class ShortenDeadline:
    """SHORTEN n: the deadline n working days sooner ("a timescale that protects the child")."""

    days: int
    reason: str = ""

    def run(self, engine: CaseEngine, case: Case, now: datetime, actor: str,
            source: str | None) -> list[Notice]:
        return engine.shorten(case, self.days, now, actor, self.reason, source)


@dataclass(frozen=True)
class AssignRole:
    role: str
    person: Person

    def run(self, engine: CaseEngine, case: Case, now: datetime, actor: str,
            source: str | None) -> list[Notice]:
        return engine.assign(case, self.role, self.person, now, actor, source)


@dataclass(frozen=True)
class AddNote:
    text: str

    def run(self, engine: CaseEngine, case: Case, now: datetime, actor: str,
            source: str | None) -> list[Notice]:
        return engine.add_note(case, self.text, now, actor, source)


@dataclass(frozen=True)
class Withdraw:
    reason: str

    def run(self, engine: CaseEngine, case: Case, now: datetime, actor: str,
            source: str | None) -> list[Notice]:
        return engine.withdraw(case, self.reason, now, actor, source)


@dataclass(frozen=True)
class Accept:
    """The business managers vouch for the people a referral names: mail held for addresses
    the partnership had not seen before goes out."""

    def run(self, engine: CaseEngine, case: Case, now: datetime, actor: str,
            source: str | None) -> list[Notice]:
        return engine.accept(case, now, actor, source)


Command = (Escalate | MoveToStage | RecordOutcome | RecordDecision | ExtendDeadline
           | ShortenDeadline | AssignRole | AddNote | Withdraw | Accept)


class Grammar(Enum):
    """What follows a command's word on its line."""

    OPTIONAL_TEXT = "optional text"  # ESCALATE, or ESCALATE: reason
    TEXT = "text"  # RESOLVED: outcome; the text is required
    NUMBER = "number"  # STAGE 2, or STAGE 2: reason
    ASSIGNMENT = "assignment"  # ASSIGN role: Name <email>
    NOTHING = "nothing"  # ACCEPT


@dataclass(frozen=True)
class CommandWord:
    verb: str
    kind: type[Command]
    grammar: Grammar
    syntax: str  # as the help in every email writes it
    effect: str  # the help's explanation; may name {policy} {stages} {deciders} {roles} {limit}
    changes_case: bool = True  # False: anyone on the case may use it (NOTE)

    @property
    def runs_on(self) -> bool:
        """Whether its text may continue over the following lines."""
        return self.grammar in (Grammar.OPTIONAL_TEXT, Grammar.TEXT, Grammar.NUMBER)

    def describe(self, command: Command) -> str:
        """How the command reads back in a confirmation or refusal."""
        if isinstance(command, AssignRole):
            return f"{self.verb} {command.role}: {command.person.formatted()}"
        number = next((getattr(command, name) for name in ("stage", "days")
                       if hasattr(command, name)), None)
        text = next((getattr(command, name) for name in ("reason", "outcome", "decision", "text")
                     if hasattr(command, name)), "")
        head = f"{self.verb} {number}" if number is not None else self.verb
        return head + (f": {text}" if text else "")


# In the order contract section 4 lists them.
COMMANDS: tuple[CommandWord, ...] = (
    CommandWord("ESCALATE", Escalate, Grammar.OPTIONAL_TEXT, "ESCALATE or ESCALATE: reason",
                "moves the case to the next stage the {policy} policy allows for it"),
    CommandWord("STAGE", MoveToStage, Grammar.NUMBER, "STAGE n or STAGE n: reason",
                "moves the case to stage n (the stages are {stages})"),
    CommandWord("RESOLVED", RecordOutcome, Grammar.TEXT, "RESOLVED: outcome",
                "records that the agencies agreed at the current stage and closes the case; the"
                " outcome, which may run on over the next lines, is the written statement"),
    CommandWord("DECISION", RecordDecision, Grammar.TEXT, "DECISION: text",
                "records the final written decision ({deciders}); closes the case and emails the"
                " decision notice to the referrer"),
    CommandWord("EXTEND", ExtendDeadline, Grammar.NUMBER, "EXTEND n or EXTEND n: reason",
                "moves the current deadline n working days later (1 to 60){limit}"),
    CommandWord("SHORTEN", ShortenDeadline, Grammar.NUMBER, "SHORTEN n or SHORTEN n: reason",
                "brings the current deadline n working days forward, for a timescale that"
                " protects the child"),
    CommandWord("ASSIGN", AssignRole, Grammar.ASSIGNMENT, "ASSIGN role: Name <email>",
                "names the person for a role on this case; the roles are {roles}"),
    CommandWord("NOTE", AddNote, Grammar.TEXT, "NOTE: text", "adds a note to the case record",
                changes_case=False),
    CommandWord("WITHDRAW", Withdraw, Grammar.TEXT, "WITHDRAW: reason", "withdraws the case"),
    # Never a bare "ACCEPT" line in the help: a line of mailbot's own email never runs.
    CommandWord("ACCEPT", Accept, Grammar.NOTHING, "ACCEPT (on a line of its own)",
                "vouches for everyone the referral names, so mail held for addresses the"
                " partnership had not seen before goes out"),
)

BY_VERB = {word.verb: word for word in COMMANDS}
_BY_KIND = {word.kind: word for word in COMMANDS}
VERBS = tuple(BY_VERB)
STATE_CHANGING = tuple(word.kind for word in COMMANDS if word.changes_case)


def word_for(command: Command) -> CommandWord:
    return _BY_KIND[type(command)]


def describe(command: Command) -> str:
    """How a command reads back in a confirmation or refusal."""
    return word_for(command).describe(command)


def apply(engine: CaseEngine, case: Case, command: Command, now: datetime, actor: str,
          source: str | None) -> list[Notice]:
    """Runs the case change the command stands for (each command's own ``run``)."""
    return command.run(engine, case, now, actor, source)
