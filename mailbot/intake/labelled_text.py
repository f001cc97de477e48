"""``Label: value`` lines into form answers, for structured emails and free paragraphs in Word.

A line that starts with a known label opens a field; the lines after it, up to the next label,
belong to the same answer, so multi-line summaries come out whole. A signature or a quoted
reply header ends the last answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mailbot.domain.sign_offs import SIGN_OFF
from mailbot.intake import field_labels as L
from mailbot.intake import fields as F
from mailbot.intake.reading import ReadingBuilder

# Separators between a label and its value: a colon (or dash) as people type it, or the tab
# the HTML reader puts between two table cells.
_SPLIT = re.compile(r"^(?P<label>[^:\t]{1,200}?)\s*(?:[:\t]|\s[-\u2013]\s|\?\s)\s*(?P<value>.*)$")
# Where a form written in an email ends: a signature separator, a sign-off, or quoted mail.
_END_OF_FORM = re.compile(
    r"^(--\s*|_{5,}|-{5,}.*|on .{4,80} wrote:|-+ ?original message ?-+.*|from: .*@.*)$",
    re.IGNORECASE)


def label_at_start(line: str, section: str) -> tuple[str, str, str] | None:
    """(field key, the label as written, the rest of the line) if the line opens a field."""
    if (found := _OPENED.get((line, section), L.LabelMemo.UNSEEN)) is not L.LabelMemo.UNSEEN:
        return found
    if not L.may_start_with_label(line):  # most lines of a form are answers
        return None
    return _worked_out(line, section)


def _worked_out(line: str, section: str) -> tuple[str, str, str] | None:
    """``_label_at_start``, kept for the next form: the same printed labels are on every
    form. A line that holds an answer after its label is new each time, and not kept."""
    opened = _label_at_start(line, section)
    if len(line) <= 400 and (opened is None or not opened[2]):
        _OPENED.keep((line, section), opened)
    return opened


_OPENED = L.LabelMemo()


def _label_at_start(line: str, section: str) -> tuple[str, str, str] | None:
    text = line.strip()
    if m := _SPLIT.match(text):
        key = L.match_label(m["label"], section)
        if key:
            return key, m["label"], m["value"]
    key = L.match_label(text, section) if len(text) < 200 else None
    if key:  # a label alone on its line, the answer below it
        return key, text, ""
    return None


def read_lines(lines: Iterable[str], builder: ReadingBuilder, where: str, *,
               section: str = "referrer", first_key: str | None = None,
               stop_at_signature: bool = True) -> None:
    """Feed every labelled answer in ``lines`` to ``builder``, noting the line it started on.

    ``first_key`` says which field the lines before any label answer (a table cell beside its
    label); ``stop_at_signature`` ends the reading at a sign-off, as emails need.
    """
    key, buffer, start = first_key, [], 1
    for number, paragraph in enumerate(lines, start=1):
        # A paragraph of one line without a colon (most answers) is its one line as it is; it
        # is not split, nor handed out by a generator, which cost more than reading it.
        for raw_line in _lines_of(paragraph) if "\n" in paragraph or ":" in paragraph \
                else (paragraph,):
            # Most lines hold neither a quote marker nor a CR: those are not copied or searched.
            line = _unquote(raw_line) if ">" in raw_line or "\r" in raw_line else raw_line
            if stop_at_signature and (_END_OF_FORM.match(line.strip()) or SIGN_OFF.match(line)):
                _flush(builder, key, buffer, where, start, first_key)
                return
            opened = _OPENED.get((line, section), L.LabelMemo.UNSEEN)
            if opened is L.LabelMemo.UNSEEN:  # not a printed label met before
                if L.is_plain_answer(line):
                    buffer.append(line)
                    continue
                opened = _worked_out(line, section)
            if opened is not None:
                _flush(builder, key, buffer, where, start, first_key)
                key, buffer, start = opened[0], [opened[2]], number
            elif heading := L.section_of_heading(line):
                _flush(builder, key, buffer, where, start, first_key)
                key, buffer, section = None, [], heading
            else:
                buffer.append(line)
    _flush(builder, key, buffer, where, start, first_key)


def _lines_of(paragraph: str) -> list[str]:
    """A paragraph's lines, its line breaks and a label that follows another answer on the
    same line ("Yes   Name of safeguarding lead: Jo") each starting one."""
    found: list[str] = []
    for line in paragraph.split("\n"):
        if ":" not in line:  # every inline label ends in a colon
            found.append(line)
            continue
        for part in L.INLINE_LABELS.split(line):
            if part or not line:
                found.append(part)
    return found


def _flush(builder: ReadingBuilder, key: str | None, buffer: list[str], where: str,
           line: int, first_key: str | None) -> None:
    """Hand the answer gathered for ``key`` on, saying where it started (``line``)."""
    if key is None:
        return
    if not (first_key and line == 1):
        where = f"{where} line {line}"
    text = "\n".join(buffer).strip()
    spec = F.FIELD_BY_KEY.get(key)
    if spec is not None and spec.kind in (F.LONG_TEXT, F.YES_NO):
        # A Yes/No answer is often typed on the line under the printed "Yes / No".
        builder.add_text(key, text if spec.kind is F.LONG_TEXT else " ".join(text.split()),
                         where)
        return
    # A short answer may wrap onto the next lines; a blank line ends it, so a closing
    # paragraph after the last field is not taken for part of the answer.
    if "\n" in text:
        text = _BLANK_LINE.split(text, maxsplit=1)[0]
    builder.add_text(key, " ".join(text.split()), where)


_BLANK_LINE = re.compile(r"\n\s*\n")
_QUOTE_MARKS = re.compile(r"^(\s*>)+ ?")


def _unquote(line: str) -> str:
    """Forwarded text often arrives quoted ("> Child's name: ..."); the markers are not data."""
    line = line.rstrip("\r")
    return _QUOTE_MARKS.sub("", line) if ">" in line else line
