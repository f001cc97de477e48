"""Commands by reply (contract section 4): parsing a reply's own text into commands.

One command per line, case-insensitive. Texts that may run on (an outcome, a decision, a
note, a reason) continue over the following lines until the next command line or a
sign-off, so a business manager can write a paragraph the way they would in Outlook.
Lines that look like commands but are malformed come back as problems, never as guesses.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from mailbot.domain.referral import Person


@dataclass(frozen=True)
class Escalate:
    reason: str = ""


@dataclass(frozen=True)
class MoveToStage:
    stage: int
    reason: str = ""


@dataclass(frozen=True)
class RecordOutcome:
    outcome: str


@dataclass(frozen=True)
class RecordDecision:
    decision: str


@dataclass(frozen=True)
class ExtendDeadline:
    days: int
    reason: str = ""


@dataclass(frozen=True)
class ShortenDeadline:
    """SHORTEN n: the deadline n working days sooner ("a timescale that protects the child")."""

    days: int
    reason: str = ""


@dataclass(frozen=True)
class AssignRole:
    role: str
    person: Person


@dataclass(frozen=True)
class AddNote:
    text: str


@dataclass(frozen=True)
class Withdraw:
    reason: str


@dataclass(frozen=True)
class Accept:
    """The business managers vouch for the people a referral names: mail held for addresses
    the partnership had not seen before goes out."""


Command = (Escalate | MoveToStage | RecordOutcome | RecordDecision | ExtendDeadline
           | ShortenDeadline | AssignRole | AddNote | Withdraw | Accept)

# A note changes nothing but the record, so anyone on the case may add one.
STATE_CHANGING = (Escalate, MoveToStage, RecordOutcome, RecordDecision, ExtendDeadline,
                  ShortenDeadline, AssignRole, Withdraw, Accept)


def describe(command: Command) -> str:
    """How a command reads back in a confirmation or refusal."""
    match command:
        case Escalate(reason):
            return "ESCALATE" + (f": {reason}" if reason else "")
        case MoveToStage(stage, reason):
            return f"STAGE {stage}" + (f": {reason}" if reason else "")
        case RecordOutcome(outcome):
            return f"RESOLVED: {outcome}"
        case RecordDecision(decision):
            return f"DECISION: {decision}"
        case ExtendDeadline(days, reason):
            return f"EXTEND {days}" + (f": {reason}" if reason else "")
        case ShortenDeadline(days, reason):
            return f"SHORTEN {days}" + (f": {reason}" if reason else "")
        case AssignRole(role, person):
            return f"ASSIGN {role}: {person.formatted()}"
        case AddNote(text):
            return f"NOTE: {text}"
        case Withdraw(reason):
            return f"WITHDRAW: {reason}"
        case Accept():
            return "ACCEPT"
    raise TypeError(command)


@dataclass(frozen=True)
class ParsedReply:
    commands: tuple[Command, ...] = ()
    problems: tuple[str, ...] = field(default=())


VERBS = ("ESCALATE", "STAGE", "RESOLVED", "DECISION", "EXTEND", "SHORTEN", "ASSIGN", "NOTE",
         "WITHDRAW", "ACCEPT")
_VERB = re.compile(rf"^\s*({'|'.join(VERBS)})\b(.*)$", re.IGNORECASE)
# A line shaped like a command (one word, then a colon, a number or nothing) whose word is not
# a command but close to one is a mistyped command, answered with the nearest, never guessed.
_COMMAND_SHAPE = re.compile(r"^\s*([A-Za-z]{4,12})\s*(:.*|\d+\b.*|[.!]?\s*)$")
_SIGN_OFF = re.compile(
    r"^\s*(kind(est)? regards|best regards|regards|many thanks|thanks|thank you|best wishes"
    r"|warm regards|yours sincerely|sent from my)\b[\s,.!]*$", re.IGNORECASE)
_RUNS_ON = {"RESOLVED", "DECISION", "NOTE", "WITHDRAW", "ESCALATE", "STAGE", "EXTEND", "SHORTEN"}


def parse_reply(text: str) -> ParsedReply:
    commands: list[Command] = []
    problems: list[str] = []
    for verb, rest, more in _command_blocks(text):
        try:
            commands.append(_parse_one(verb, rest, more))
        except ValueError as problem:
            problems.append(str(problem))
    problems += _mistyped(text)
    return ParsedReply(tuple(commands), tuple(problems))


def _mistyped(text: str) -> list[str]:
    """Lines that look like a command with a misspelt verb ("ESCALTE: reason")."""
    problems = []
    for line in text.replace("\r\n", "\n").split("\n"):
        match = _COMMAND_SHAPE.match(line)
        if not match or _VERB.match(line):
            continue
        word = match.group(1).upper()
        if not match.group(2).strip(" .!") and any(word.startswith(v[:-1]) for v in VERBS):
            continue  # "Noted." or "Escalated": a word of English, not a misspelt command
        nearest = difflib.get_close_matches(word, VERBS, n=1, cutoff=0.75)
        if nearest:
            problems.append(f"'{line.strip()}' is not a command: {word} is not one of"
                            f" {', '.join(VERBS)}. Did you mean {nearest[0]}?")
    return problems


def _command_blocks(text: str):
    """(verb, rest of its line, continuation text) for each command line."""
    lines = text.replace("\r\n", "\n").split("\n")
    i = 0
    while i < len(lines):
        match = _VERB.match(lines[i])
        i += 1
        if not match or not _looks_like_command(match):
            continue
        verb, rest = match.group(1).upper(), _bare(match.group(2))
        continuation = []
        while i < len(lines) and not _is_command(lines[i]) and not _SIGN_OFF.match(lines[i]):
            continuation.append(lines[i])
            i += 1
        more = "\n".join(continuation).strip() if verb in _RUNS_ON else ""
        yield verb, rest, more


def _bare(rest: str) -> str:
    """People end a one-word command with a full stop ("Escalate."); that is still the command."""
    return "" if not rest.strip(" \t.!") else rest


def _looks_like_command(match: re.Match) -> bool:
    """A verb opens a command only when followed by nothing, a colon, or (for STAGE, EXTEND
    and ASSIGN) its argument: "Escalate this please" is prose, not a command."""
    rest = _bare(match.group(2))
    verb = match.group(1).upper()
    if not rest.strip() or rest.lstrip().startswith(":"):
        return True
    return verb in ("STAGE", "EXTEND", "SHORTEN", "ASSIGN") and bool(re.match(r"^\s+\S", rest))


def _is_command(line: str) -> bool:
    match = _VERB.match(line)
    return bool(match and _looks_like_command(match))


def _joined(first: str, more: str) -> str:
    return "\n".join(part for part in (first.strip(), more) if part).strip()


def _after_colon(rest: str) -> str:
    rest = rest.strip()
    return rest[1:].strip() if rest.startswith(":") else rest


def _parse_one(verb: str, rest: str, more: str) -> Command:
    if verb in ("STAGE", "EXTEND", "SHORTEN"):
        return _numbered(verb, rest, more)
    if verb == "ASSIGN":
        return _assign(rest)
    if verb == "ACCEPT":
        return Accept()
    text = _joined(_after_colon(rest), more)
    if verb == "ESCALATE":
        return Escalate(text)
    if not text:
        raise ValueError(f"{verb} needs text after it, like '{verb}: ...'.")
    return {"RESOLVED": RecordOutcome, "DECISION": RecordDecision, "NOTE": AddNote,
            "WITHDRAW": Withdraw}[verb](text)


def _numbered(verb: str, rest: str, more: str) -> Command:
    match = re.match(r"^\s*(\d{1,3})\s*(?::\s*(.*))?$", rest)
    if not match:
        raise ValueError(f"{verb} needs a number, like '{verb} 2' or '{verb} 2: reason'"
                         f" (got '{verb}{rest}').")
    number, reason = int(match.group(1)), _joined(match.group(2) or "", more)
    kinds = {"STAGE": MoveToStage, "EXTEND": ExtendDeadline, "SHORTEN": ShortenDeadline}
    return kinds[verb](number, reason)


def _assign(rest: str) -> AssignRole:
    match = re.match(r"^\s*([A-Za-z][A-Za-z0-9_ \-]*?)\s*:\s*(.+)$", rest)
    usage = "ASSIGN needs a role and a person, like 'ASSIGN line_manager: Jo Bloggs <jo@example.org>'"
    if not match:
        raise ValueError(f"{usage}.")
    role = re.sub(r"[\s\-]+", "_", match.group(1).strip().lower())
    return AssignRole(role, person_from(match.group(2).strip(), usage))


_BRACKETED = re.compile(r"^(?P<name>[^<>]*)<(?P<address>[^<>\s]+)>\s*$")
_BARE = re.compile(r"^[^\s<>@\"]+@[^\s<>@\"]+\.[^\s<>@\"]+$")


def person_from(text: str, usage: str) -> Person:
    """``Name <address>`` or a bare address, read as a mail client reads it: the address is the
    one in angle brackets. A display name that is itself an address is refused, because a
    reader sees that name, not the address the mail would really go to."""
    bracketed = _BRACKETED.match(text)
    name, address = (bracketed.group("name"), bracketed.group("address")) if bracketed else ("", text)
    name = name.strip().strip('"').strip()
    if not _BARE.match(address):
        raise ValueError(f"{usage}; '{text}' has no email address.")
    if "@" in name:
        raise ValueError(f"{usage}; the name '{name}' is itself an email address, but the mail"
                         f" would go to {address}. Write the person's name, then their address"
                         " in angle brackets.")
    return Person(name, address.lower())
