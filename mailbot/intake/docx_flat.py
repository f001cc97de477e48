"""The form walker's fast pass: a document part flattened in C, then read in one Python loop.

``docx_walk`` costs a Python object and a call for each of the ~720 elements of a form, about
0.56 ms of a read's 1.4 ms (issue 18). Here a compiled XSLT (``docx_flat.xsl``) follows the same
paths in C and writes one string of marks and text, and one loop turns it into the same
``docx_page.Document``. It covers what forms hold; anything else comes back as ``None`` and
``docx_walk`` reads the document as before: a part that is not plain UTF-8, or that could hold
the marks themselves, strict OOXML, legacy form fields, text boxes and equations (markup
``docx_walk`` handles and the stylesheet does not copy), struck, highlighted or shaded runs,
rows wrapped in controls, a budget passed, or any error.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from lxml import etree

from mailbot.intake import docx_xml as X
from mailbot.intake.docx_page import Cell, Document, Table
from mailbot.intake.docx_walk import too_slow
from mailbot.intake.field_values import MARK_CLOSE, MARK_OPEN
from mailbot.intake.reading import FormControl
from mailbot.intake.typegate import Budgets

_FLATTEN = etree.XSLT(etree.parse(str(Path(__file__).with_name("docx_flat.xsl"))))
_MARK, _END, _FIELD, _VALUE, _ENTRY = "\ufdd0", "\ufdd1", "\ufdd2", "\ufdd3", "\ufdd4"
_JOINED_MARKS = MARK_CLOSE + MARK_OPEN
# Bytes that send a part to docx_walk: the marks' own neighbourhood in UTF-8 (U+FDC0-U+FDFF),
# character references (which could spell a mark), strict OOXML and legacy form fields.
_NOT_COPIED = (b"\xef\xb7", b"&#", b"\x00", b"purl.oclc.org/ooxml/wordprocessingml",
               b"fldChar")


def flattenable(data: bytes) -> bool:
    """Whether the fast pass can read a main part of these bytes exactly as ``docx_walk``."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.startswith(b"<?xml"):
        declaration = data[:data.find(b"?>")].lower()
        if b"encoding" in declaration and b"utf-8" not in declaration:
            return False
    return not any(marker in data for marker in _NOT_COPIED)


def flat_walk(root: etree._Element, budgets: Budgets | None = None) -> Document | None:
    """The ``Document`` ``docx_walk`` would make of ``root``, or None where it must make it."""
    try:
        flat = str(_FLATTEN(root))
        if _MARK + "!" in flat:
            return None
        return _Reader(budgets).read(flat)
    except (_OverBudget, ValueError, IndexError, etree.LxmlError):
        return None


def _on(state: str) -> bool:
    """A check box's state from the stylesheet: "N" when it has no w14:checked, else "V" and
    that element's value, read as ``docx_xml.on`` reads a toggle."""
    return state != "N" and (state[1:] or "true").lower() not in ("0", "false", "off")


class _OverBudget(Exception):
    """Passed a budget: docx_walk reads the document again and refuses it in its own words."""


class _Reader:
    def __init__(self, budgets: Budgets | None) -> None:
        self.doc = Document()
        self._max_cells = budgets.max_cells if budgets else math.inf
        self._max_paragraphs = budgets.max_paragraphs if budgets else math.inf
        self._deadline = time.monotonic() + budgets.max_seconds if budgets else math.inf

    def read(self, flat: str) -> Document:
        doc = self.doc
        outs: list[list[str]] = [doc.paragraphs]  # where block text goes: the body, a cell
        placeholders = [False]  # inside a control still showing its prompt
        chunks = flat.split(_MARK)
        pieces = [chunks[0]]  # the paragraph being read: text comes before the mark ending it
        tables: list[Table] = []
        rows: list[tuple[list[Cell], list[int]]] = []  # open rows and their next column
        cells: list[dict[str, str]] = []  # the open cells' properties
        controls: list[tuple[list[str], int, _Control]] = []
        paragraphs = cell_count = 0
        for chunk in chunks[1:]:
            head, _, text = chunk.partition(_END)
            code = head[0]
            if code == "P":
                paragraphs += 1
                if paragraphs > self._max_paragraphs or paragraphs % 64 == 0:
                    self._check(paragraphs, self._max_paragraphs)
                line = "".join(pieces)
                if _JOINED_MARKS in line:
                    line = line.replace(_JOINED_MARKS, "")
                outs[-1].append("" if placeholders[-1] else line.strip(" \u00a0"))
                pieces = []
            elif code == "C":
                cell_count += 1
                if cell_count > self._max_cells or cell_count % 64 == 0:
                    self._check(cell_count, self._max_cells)
                cells.append(_fields(head[1:]))
                outs.append([])
                placeholders.append(False)
            elif code == "c":
                props = cells.pop()
                placeholders.pop()
                row, column = rows[-1]
                merge, span = props.get("vMerge"), props.get("gridSpan")
                continues = merge is not None and (merge or "continue") == "continue"
                row.append(Cell(tuple(outs.pop()), continues, column[0]))
                column[0] += max(int(span or 1), 1) if span is not None else 1
            elif code == "I" or code == "B":
                out = pieces if code == "I" else outs[-1]
                control = _Control(head)
                if control.checkbox is not None:  # its mark, and no content walked
                    out.append(X.CHECKED if control.checkbox else X.UNCHECKED)
                    self._record(control, control.checkbox)
                elif code == "B":
                    placeholders.append(control.placeholder)
                controls.append((out, len(out), control))
            elif code == "i" or code == "b":
                out, start, control = controls.pop()
                if control.checkbox is None:
                    if code == "b":
                        placeholders.pop()
                    value = ("" if code == "i" else "\n").join(out[start:])
                    if not control.placeholder and value.strip().lower() in X.PLACEHOLDER_TEXTS:
                        del out[start:]
                        control.placeholder = True
                    self._record(control, "" if control.placeholder else value.strip())
            elif code == "R":
                row_cells: list[Cell] = []
                tables[-1].rows.append(row_cells)
                rows.append((row_cells, [int(head[1:] or 0)]))
            elif code == "r":
                rows.pop()
            elif code == "T":
                tables.append(Table())
                doc.tables.append(tables[-1])
            elif code == "t":
                tables.pop()
            else:
                raise ValueError(f"unknown mark {code!r}")
            if text:
                pieces.append(text)
        return doc

    def _check(self, count: int, most: float) -> None:
        if count > most:
            raise _OverBudget
        if time.monotonic() > self._deadline:
            raise too_slow()

    def _record(self, control: _Control, value: str | bool) -> None:
        """Keep a content control as a ``FormControl``, as ``docx_walk`` does."""
        if not control.has_props or control.kind == "docpart":
            return
        if control.kind == "date" and value and not control.placeholder:
            value = control.settings.get("date") or value
        self.doc.controls.append(FormControl(
            "content control", control.kind, control.settings.get("tag", ""), value,
            control.settings.get("alias", ""), control.placeholder, control.options))


def _fields(text: str) -> dict[str, str]:
    """A mark's fields by name, the first of each (as ``docx_xml.kids`` keeps the first)."""
    found: dict[str, str] = {}
    for one in text.split(_FIELD)[1:]:
        name, _, value = one.partition(_VALUE)
        found.setdefault(name, value)
    return found


# What a content control is, by the first of these settings it has (docx_xml.sdt_kind).
_KINDS = (("checkbox", "checkbox"), ("dropDownList", "dropdown"), ("comboBox", "combobox"),
          ("date", "date"), ("text", "text"), ("picture", "picture"), ("docPartObj", "docpart"),
          ("group", "group"))


class _Control:
    """A content control's mark: ``B`` or ``I``, "1" when it has properties, its settings."""

    def __init__(self, head: str) -> None:
        self.has_props = head[1:2] == "1"
        self.settings = settings = _fields(head[2:])
        self.kind = next((kind for name, kind in _KINDS if name in settings), "richtext")
        self.placeholder = "showingPlcHdr" in settings
        self.checkbox = _on(settings["checkbox"]) if "checkbox" in settings else None
        entries = settings.get("dropDownList" if self.kind == "dropdown" else "comboBox")
        self.options = tuple(entries.split(_ENTRY)[1:]) if entries is not None and \
            self.kind in ("dropdown", "combobox") else ()
