"""A reply's own text: what its writer typed, without the quoted thread below it.

Read after classification, before commands are parsed (CONTRACT section 4: commands come
from a reply's own text, "quoted text and signatures ignored"). quotequail finds the
"On ... wrote:" and "-----Original Message-----" lines in text and HTML; this module adds
Outlook's bare "From: / Sent: / To: / Subject:" blocks, ``>`` quoting and signatures.

Signatures are cut with care, because a command must never be lost: a "-- " line or a
sign-off such as "Kind regards" ends the text only when no command line follows it.
"""

from __future__ import annotations

import re

import quotequail

from mailbot.domain.command_parser import is_command_line
from mailbot.domain.sign_offs import SIGNED_OFF
from mailbot.intake.html_text import html_to_text
from mailbot.intake.message import InboundMessage

_HEADER_LINE = re.compile(
    r"^\s*\*?(from|sent|date|to|cc|subject|von|gesendet|an|betreff|de|envoy[ée]|objet|à)"
    r"\s*:\*?(\s|$)",
    re.IGNORECASE,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*[-_=]*\s*(original message|forwarded message|begin forwarded message"
    r"|urspr[üu]ngliche nachricht|message d'origine)\b", re.IGNORECASE)
_ATTRIBUTION_MAX_LINES = 3  # "On <date>, <person> wrote:" wraps onto at most three lines
_ATTRIBUTION_HINT = re.compile(r"@|\b(19|20)\d\d\b|wrote|schrieb|a écrit|escribió")
_HEADER_BLOCK_MIN = 3
_HEADER_BLOCK_SPAN = 8
_SIGNATURE_MAX_LINES = 10


def own_text(msg: InboundMessage) -> str:
    """The text the sender wrote in this message, quotes and signature removed."""
    if msg.text_body.strip():
        return own_text_of(msg.text_body)
    if msg.html_body.strip():
        return own_text_of(html_to_text(_unquoted_html(msg.html_body)))
    return ""


def is_bottom_posted(msg: InboundMessage) -> bool:
    """Whether the sender wrote below a quote rather than above it: the one case in which
    lines after the quote marker are read as theirs."""
    lines = _lines(msg.text_body)
    return bool(msg.text_body.strip()) and not _has_words(lines[:_quote_start(lines)])


def own_text_of(text: str) -> str:
    """The same for a plain-text body."""
    lines = _lines(text)
    cut = _quote_start(lines)
    kept = lines[:cut]
    if not _has_words(kept):
        kept = _bottom_posted(lines[cut:])
    kept = _drop_quoted(kept)
    kept = _drop_attribution(kept)
    kept = _drop_signature(kept)
    return "\n".join(line.rstrip() for line in kept).strip()


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _unquoted_html(html: str) -> str:
    """The HTML above the first quote; nothing at all when no words stand above it, because
    below a quote marker in HTML mail is the quoted message, never the reply."""
    parts = quotequail.quote_html(html, quote_intro_line=True)
    if not parts or not parts[0][0]:
        return html
    top = parts[0][1]
    if _has_words(html_to_text(top).split("\n")):
        return top
    return "" if len(parts) > 1 else html


def _quote_start(lines: list[str]) -> int:
    """Where the first reply or forward header starts, by quotequail and by Outlook blocks."""
    return min(_quotequail_start(lines), _header_block_start(lines))


def _quotequail_start(lines: list[str]) -> int:
    parts = quotequail.quote("\n".join(lines), quote_intro_line=True)
    if len(parts) < 2:
        return len(lines)
    return parts[0][1].count("\n") + 1 if parts[0][1] else 0


def _bottom_posted(quoted: list[str]) -> list[str]:
    """A reply written below a quote: only what follows ``>``-quoted lines counts.

    Nothing above the quote marker had a letter or a digit (an empty reply, a thumbs-up, a
    full stop). Only ``>`` marks which lines were quoted; below an Outlook block
    ("-----Original Message-----", "From: ... Sent: ...") everything is the earlier message,
    mailbot's own command list included, so none of it may ever be read as the reply.
    """
    if not quoted or _header_block_start(quoted) == 0 or _ORIGINAL_MESSAGE.match(quoted[0]):
        return []
    first = next((i for i, line in enumerate(quoted) if line.lstrip().startswith(">")), None)
    if first is None or first > _ATTRIBUTION_MAX_LINES:
        return []
    return quoted[first:]


def _header_block_start(lines: list[str]) -> int:
    """Where a run of quoted mail headers starts (Outlook's "From: ... Sent: ..." block)."""
    for index, line in enumerate(lines):
        if not _HEADER_LINE.match(line):
            continue
        window = lines[index : index + _HEADER_BLOCK_SPAN]
        names = {_HEADER_LINE.match(item).group(1).lower() for item in window
                 if _HEADER_LINE.match(item)}
        if len(names) >= _HEADER_BLOCK_MIN and names & {"from", "von", "de"}:
            return _with_separator(lines, index)
    return len(lines)


def _with_separator(lines: list[str], index: int) -> int:
    """Include a separator line (underscores or dashes) just above the header block."""
    above = index - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    if above >= 0 and re.fullmatch(r"\s*[_\-=]{5,}\s*", lines[above]):
        return above
    return index


def _drop_quoted(lines: list[str]) -> list[str]:
    return [line for line in lines if not line.lstrip().startswith(">")]


def _drop_attribution(lines: list[str]) -> list[str]:
    """Remove a trailing "<date> <person> wrote:" line in a form quotequail does not know.

    It may wrap onto a second line, so lines above it that also name an address or a year
    go with it (at most three in all).
    """
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    last = lines[end - 1].strip() if end else ""
    if not (last.endswith(":") and _ATTRIBUTION_HINT.search(last)) or is_command_line(last):
        return lines[:end]
    start = end - 1
    while start > max(0, end - 3) and _is_attribution_part(lines[start - 1]):
        start -= 1
    return lines[:start]


def _is_attribution_part(line: str) -> bool:
    return bool(line.strip() and _ATTRIBUTION_HINT.search(line) and not is_command_line(line))


def _drop_signature(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if index == 0 or not (line.rstrip() == "--" or SIGNED_OFF.match(line)):
            continue
        rest = lines[index + 1 :]
        if len([r for r in rest if r.strip()]) > _SIGNATURE_MAX_LINES:
            continue
        if not any(is_command_line(item) for item in rest):
            return lines[:index]
    return lines


def _has_words(lines: list[str]) -> bool:
    return any(re.search(r"\w", line) for line in _drop_quoted(lines))
