"""Reading a reply's own text into commands, by the grammar ``commands.COMMANDS`` gives each.

One command per line, case-insensitive. Texts that may run on (an outcome, a decision, a
note, a reason) continue over the following lines until the next command line or a
sign-off, so a business manager can write a paragraph the way they would in Outlook.
Lines that look like commands but are malformed come back as problems, never as guesses;
a mistyped word ("ESCALTE: reason") comes back naming the nearest command.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mailbot.domain import commands as registry
from mailbot.domain.commands import Command, Grammar
from mailbot.domain.referral import Person
from mailbot.domain.sign_offs import SIGN_OFF

_VERB = re.compile(rf"^\s*({'|'.join(registry.VERBS)})\b(.*)$", re.IGNORECASE)
# A line shaped like a command (one word, then a colon, a number or nothing) whose word is not
# a command but close to one is a mistyped command, answered with the nearest, never guessed.
_COMMAND_SHAPE = re.compile(r"^\s*([A-Za-z]{4,12})\s*(:.*|\d+\b.*|[.!]?\s*)$")
_WITH_ARGUMENT = (Grammar.NUMBER, Grammar.ASSIGNMENT)


@dataclass(frozen=True)
class ParsedReply:
    commands: tuple[Command, ...] = ()
    problems: tuple[str, ...] = field(default=())


def parse_reply(text: str) -> ParsedReply:
    commands: list[Command] = []
    problems: list[str] = []
    for verb, rest, more in _command_blocks(text):
        try:
            commands.append(_parse_one(registry.BY_VERB[verb], rest, more))
        except ValueError as problem:
            problems.append(str(problem))
    problems += _mistyped(text)
    return ParsedReply(tuple(commands), tuple(problems))


def is_command_line(line: str) -> bool:
    """Whether ``line`` opens a command, as the parser reads it."""
    match = _VERB.match(line)
    return bool(match and _looks_like_command(match))


def _mistyped(text: str) -> list[str]:
    problems = []
    for line in text.replace("\r\n", "\n").split("\n"):
        match = _COMMAND_SHAPE.match(line)
        if not match or _VERB.match(line):
            continue
        word = match.group(1).upper()
        if not match.group(2).strip(" .!") and any(word.startswith(v[:-1]) for v in registry.VERBS):
            continue  # "Noted." or "Escalated": a word of English, not a misspelt command
        nearest = difflib.get_close_matches(word, registry.VERBS, n=1, cutoff=0.75)
        if nearest:
            problems.append(f"'{line.strip()}' is not a command: {word} is not one of"
                            f" {', '.join(registry.VERBS)}. Did you mean {nearest[0]}?")
    return problems


def _command_blocks(text: str) -> Iterator[tuple[str, str, str]]:
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
        while i < len(lines) and not is_command_line(lines[i]) and not SIGN_OFF.match(lines[i]):
            continuation.append(lines[i])
            i += 1
        more = "\n".join(continuation).strip() if registry.BY_VERB[verb].runs_on else ""
        yield verb, rest, more


def _bare(rest: str) -> str:
    """People end a one-word command with a full stop ("Escalate."); that is still the command."""
    return "" if not rest.strip(" \t.!") else rest


def _looks_like_command(match: re.Match[str]) -> bool:
    """A word opens a command only when followed by nothing, a colon, or (for the commands that
    take one) its argument: "Escalate this please" is prose, not a command."""
    rest = _bare(match.group(2))
    if not rest.strip() or rest.lstrip().startswith(":"):
        return True
    grammar = registry.BY_VERB[match.group(1).upper()].grammar
    return grammar in _WITH_ARGUMENT and bool(re.match(r"^\s+\S", rest))


def _joined(first: str, more: str) -> str:
    return "\n".join(part for part in (first.strip(), more) if part).strip()


def _after_colon(rest: str) -> str:
    rest = rest.strip()
    return rest[1:].strip() if rest.startswith(":") else rest


def _parse_one(word: registry.CommandWord, rest: str, more: str) -> Command:
    if word.grammar is Grammar.NUMBER:
        return _numbered(word, rest, more)
    if word.grammar is Grammar.ASSIGNMENT:
        return _assign(word, rest)
    if word.grammar is Grammar.NOTHING:
        return _made(word)
    text = _joined(_after_colon(rest), more)
    if word.grammar is Grammar.TEXT and not text:
        raise ValueError(f"{word.verb} needs text after it, like '{word.verb}: ...'.")
    return _made(word, text)


def _made(word: registry.CommandWord, *arguments: Any) -> Command:
    """The command of ``word`` from what its grammar read; the grammar decides the arguments."""
    make: Callable[..., Command] = word.kind
    return make(*arguments)


def _numbered(word: registry.CommandWord, rest: str, more: str) -> Command:
    match = re.match(r"^\s*(\d{1,3})\s*(?::\s*(.*))?$", rest)
    if not match:
        raise ValueError(f"{word.verb} needs a number, like '{word.verb} 2' or '{word.verb} 2:"
                         f" reason' (got '{word.verb}{rest}').")
    return _made(word, int(match.group(1)), _joined(match.group(2) or "", more))


def _assign(word: registry.CommandWord, rest: str) -> Command:
    match = re.match(r"^\s*([A-Za-z][A-Za-z0-9_ \-]*?)\s*:\s*(.+)$", rest)
    usage = (f"{word.verb} needs a role and a person, like '{word.verb} line_manager: Jo Bloggs"
             " <jo@council.example>'")
    if not match:
        raise ValueError(f"{usage}.")
    role = re.sub(r"[\s\-]+", "_", match.group(1).strip().lower())
    return _made(word, role, person_from(match.group(2).strip(), usage))


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
