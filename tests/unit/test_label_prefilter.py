"""Answers turned away before folding (issue 18): never a text the label look-up would match.

``field_labels`` tells from a text's letters and digits alone that it can neither start with
a label nor be a heading, and then neither folds nor remembers it. These tests hold that
shortcut to the full look-up: on made-up texts built from every printed label and the
punctuation people type, and on every line of the shared corpora's Word files and emails.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.intake import field_labels as L
from mailbot.intake import labelled_text as T
from mailbot.intake.docx_form import read_form_attachment
from mailbot.intake.docx_walk import walk_document
from mailbot.intake.email_form import read_email_form
from mailbot.intake.fields import FIELDS
from mailbot.intake.form_builder import fill_form
from mailbot.intake.labelled_text import label_at_start
from mailbot.intake.typegate import open_docx
from tests.unit.mail_corpora import corpus

SECTIONS = tuple(L.SECTION_LABELS)
PRINTED = sorted({text for spec in FIELDS for text in (spec.label, spec.key, *spec.aliases)}
                 | {label for labels in L.SECTION_LABELS.values() for label in labels})
HEADINGS = ("Referrer details", "The other agency", "Details of the safeguarding lead")
TYPED = "aAsSeE'\u2019\u2018\u201c\u201d\u2013\u2014\u00a0&_./:-? \t\n0\u00e9\ufb01"


def _agrees_with_the_full_look_up(text: str) -> None:
    """Whatever the shortcut turns away, the full look-up finds nothing in either."""
    if not L.may_start_with_label(text):
        for section in SECTIONS:
            for candidate in _label_candidates(text):
                assert L._match(candidate, section) is None, (candidate, section)
            assert T._label_at_start(text, section) is None, (text, section)
    if not L._may_be_heading(text):
        assert L._section_of_heading(text) is None, text
    if L.is_plain_answer(text):
        assert not L.may_start_with_label(text) and not L._may_be_heading(text), text


def _label_candidates(text: str) -> list[str]:
    """The text, and each start of it that ends where a label's separator could stand (what
    ``labelled_text`` looks up as the label of "Label: answer")."""
    stripped = text.strip()
    return [stripped, *(stripped[:i] for i, c in enumerate(stripped) if c in ":\t-\u2013?")]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.one_of(st.sampled_from([*PRINTED, *HEADINGS]), st.text(TYPED, max_size=5),
                          st.text(max_size=2)), max_size=4).map("".join))
def test_made_up_texts_turned_away_hold_no_label_or_heading(text: str) -> None:
    _agrees_with_the_full_look_up(text)


@pytest.mark.parametrize("label", PRINTED)
def test_every_printed_label_is_looked_up_however_it_is_typed(label: str) -> None:
    for typed in (label, label.upper(), f"  {label}:", label.replace("'", "\u2019"),
                  f"{label}: an answer", label.replace(" ", "\u00a0")):
        assert L.may_start_with_label(typed), typed
        assert not L.is_plain_answer(typed), typed


@pytest.mark.parametrize("heading", HEADINGS)
def test_every_heading_is_looked_up_however_it_is_typed(heading: str) -> None:
    for typed in (heading, heading.upper(), f"{heading}:", heading.replace(" ", "\u00a0")):
        assert L.section_of_heading(typed), typed
        assert not L.is_plain_answer(typed), typed


def test_lines_of_real_word_files_and_emails_agree_with_the_full_look_up() -> None:
    lines = 0
    for path in sorted(corpus("docx2python").rglob("*.docx")):
        try:
            package = open_docx(path.read_bytes())
            doc = walk_document(package.xml(package.main_part), package.budgets)
        except Exception:  # noqa: BLE001 (encrypted, damaged: read elsewhere, not here)
            continue
        texts = [*doc.paragraphs, *(c.text for t in doc.tables for r in t.rows for c in r)]
        for text in texts:
            for line in [text, *text.splitlines()]:
                _agrees_with_the_full_look_up(line)
                lines += 1
    for folder in ("talon", "set-of-emails"):
        for path in sorted(corpus(folder).rglob("*")):
            if path.is_file() and path.stat().st_size < 200_000:
                for line in path.read_bytes().decode("utf-8", "replace").splitlines():
                    _agrees_with_the_full_look_up(line)
                    lines += 1
    assert lines > 10_000


def test_a_forms_answers_are_not_remembered() -> None:
    """Only texts that may be labels are kept: a second form, with answers of its own, adds
    nothing to what the reader remembers, and none of its answers is there."""
    def values(child: str, month: str) -> dict[str, object]:
        return {"child_name": child, "child_dob": date(2015, 7, 14), "referrer_name": "Jo Bloggs",
                "summary": f"Attendance fell in {month}.\nWe asked twice.",
                "desired_outcome": f"Weekly attendance data from {month}."}

    read_form_attachment(fill_form("bury", values("Sam Sample", "March")))
    sizes = _sizes()
    reading = read_form_attachment(fill_form("bury", values("Zebedee Quartermaine", "Nevember")))
    assert reading.value("child_name") == "Zebedee Quartermaine"
    assert _sizes() == sizes
    kept = repr([L._MATCHES, L._HEADINGS, T._OPENED, _tables_memo()])
    assert "Zebedee" not in kept and "Nevember" not in kept


def _sizes() -> list[int]:
    return [len(L._MATCHES), len(L._HEADINGS), len(T._OPENED), len(_tables_memo()),
            L._normalise_short.cache_info().currsize]


def test_a_labelled_line_with_its_answer_is_not_remembered() -> None:
    text = "Child's name: Zebedee Quartermaine\nSummary of disagreement: Nevember\nmore"
    assert read_email_form(text, None).value("child_name") == "Zebedee Quartermaine"
    assert label_at_start("Child's name: Zebedee Quartermaine", "referrer")[0] == "child_name"
    kept = repr([L._MATCHES, L._HEADINGS, T._OPENED, _tables_memo()])
    assert "Zebedee" not in kept and "Nevember" not in kept
    assert "Child's name" in repr(L._MATCHES)  # the label alone is worked out once


def _tables_memo() -> dict:
    from mailbot.intake import docx_tables

    return docx_tables._LABELS
