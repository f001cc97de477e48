"""Walk WordprocessingML into plain paragraphs and tables, the way a reader sees the page.

python-docx does not see inside content controls and has no model of legacy form fields, so
this walks the XML itself, once, with lxml: text split across runs is joined, line breaks kept,
struck-through and deleted text dropped, untouched content-control prompts read as empty, check
boxes shown as ☒/☐, drop-downs as their chosen entry, and every control recorded as a
``FormControl``. The names it reads are in ``docx_xml``, legacy fields are followed by
``docx_fields``, and what it hands on is a ``docx_page.Document``.

Every element costs a Python object here, so the pass looks at each child once, a row's cells
and a run's properties in one loop, and weighs a run's properties only when one of them can
change what it says (issue 18: the walk is about a third of a form's reading time).
"""

from __future__ import annotations

import math
import time

from lxml import etree

from mailbot.intake import docx_xml as X
from mailbot.intake.docx_fields import LegacyFields
from mailbot.intake.docx_page import Cell, Document, Table
from mailbot.intake.field_values import MARK_CLOSE, MARK_OPEN
from mailbot.intake.reading import FormControl
from mailbot.intake.typegate import OVER_BUDGET, Budgets, refuse

_NAMES = X.NAMES
# The commonest children, by their transitional tags: a fresh tag string compared with one of
# these is not hashed, as looking it up in ``_NAMES`` hashes it (a strict one is looked up).
_PARAGRAPH, _CELL, _CELL_PROPERTIES, _RUN, _RUN_PROPERTIES, _TEXT, _SDT_PROPERTIES, \
    _SDT_CONTENT = (f"{{{X.W_NAMESPACES[0]}}}{name}" for name in (
        "p", "tc", "tcPr", "r", "rPr", "t", "sdtPr", "sdtContent"))
_TRANSPARENT = X.TRANSPARENT
_MATH = frozenset(X.MATH_NAMESPACES)
_JOINED_MARKS = MARK_CLOSE + MARK_OPEN
_SPAN_TAGS = X.tags("gridSpan", "vMerge")
_NO_SPAN: tuple[None, None] = (None, None)
# A cell's properties (None for a cell without) -> its first w:gridSpan and w:vMerge.
_Spans = dict[etree._Element | None, tuple[etree._Element | None, etree._Element | None]]
# The run properties that change what a run says: struck through, highlighted or shaded.
_MARKING = frozenset({"strike", "dstrike", "highlight", "shd"})


class Walker:
    """One pass over a document part; ``walk`` returns what it found. With ``budgets`` the
    walk stops, refusing the document, as soon as it passes the cells, paragraphs or seconds
    a form may cost."""

    def __init__(self, budgets: Budgets | None = None) -> None:
        self.doc = Document()
        self._fields = LegacyFields()
        self._budgets = budgets
        self._cells = self._paragraphs = 0
        self._max_cells = budgets.max_cells if budgets else math.inf
        self._max_paragraphs = budgets.max_paragraphs if budgets else math.inf
        self._deadline = time.monotonic() + budgets.max_seconds if budgets else math.inf
        self._spans: _Spans = {}

    def walk(self, root: etree._Element) -> Document:
        self._spans = _spans(root)
        body = X.child(root, "body")
        self._blocks(X.first_child(root if body is None else body), self.doc.paragraphs,
                     placeholder=False)
        return self.doc

    # ------------------------------------------------------------ budgets

    def _check_cells(self) -> None:
        if self._cells > self._max_cells:
            raise refuse("too_many_cells", f"a Word document with more than"
                         f" {self._max_cells:,} table cells, far more than a Request for"
                         " Resolution", OVER_BUDGET)
        if self._cells % 64 == 0:
            self._check_clock()

    def _check_paragraphs(self) -> None:
        if self._paragraphs > self._max_paragraphs:
            raise refuse("too_many_paragraphs", f"a Word document with more than"
                         f" {self._max_paragraphs:,} paragraphs, far more than a Request for"
                         " Resolution", OVER_BUDGET)
        if self._paragraphs % 64 == 0:
            self._check_clock()

    def _check_clock(self) -> None:
        if time.monotonic() > self._deadline:
            raise refuse("too_slow", "a Word document that takes far longer to read than a"
                         " Request for Resolution", OVER_BUDGET)

    # ------------------------------------------------------------ blocks and tables

    def _blocks(self, first: etree._Element | None, out: list[str], placeholder: bool) -> None:
        """Paragraphs, tables and controls from ``first`` through its following siblings into
        ``out``, a paragraph's text read here in the loop."""
        after = first
        while after is not None:
            child, after = after, after.getnext()
            tag = child.tag
            name = "p" if tag == _PARAGRAPH else _NAMES[tag]
            if name == "p":
                self._paragraphs += 1
                if self._paragraphs > self._max_paragraphs or self._paragraphs % 64 == 0:
                    self._check_paragraphs()
                if self._fields.open:  # only a field left open before needs a look
                    self._fields.new_paragraph()
                parts: list[str] = []
                self._inline(child, parts)
                text = "".join(parts)
                if _JOINED_MARKS in text:
                    text = text.replace(_JOINED_MARKS, "")
                out.append("" if placeholder else text.strip(" \u00a0"))
            elif name == "tbl":
                self._table(child)
            elif name == "sdt":
                self._sdt(child, out, inline=False)
            elif name in _TRANSPARENT:
                self._blocks(X.first_child(child), out, placeholder)

    def _table(self, tbl: etree._Element) -> None:
        rows: list[list[Cell]] = []
        self.doc.tables.append(Table(rows))
        for row in self._children(tbl, "tr"):
            rows.append(self._row(row))

    def _children(self, parent: etree._Element, wanted: str) -> list[etree._Element]:
        """``wanted`` children, looking through content controls and custom XML wrappers."""
        found: list[etree._Element] = []
        after = X.first_child(parent)
        while after is not None:
            child, after = after, after.getnext()
            name = _NAMES[child.tag]
            if name == wanted:
                found.append(child)
            elif name == "sdt":
                content = X.child(child, "sdtContent")
                props = X.child(child, "sdtPr")
                self._record(props, X.kids(props), "")
                if content is not None:
                    found.extend(self._children(content, wanted))
            elif name == "customXml":
                found.extend(self._children(child, wanted))
        return found

    def _row(self, tr: etree._Element) -> list[Cell]:
        cells: list[Cell] = []
        props, tcs = self._cells_of(tr)
        before = X.child(props, "gridBefore") if props is not None else None
        column = int(X.attr(before, "val") or 0) if before is not None else 0
        for tc in tcs:
            self._cells += 1
            if self._cells > self._max_cells or self._cells % 64 == 0:
                self._check_cells()
            first = tc[0] if len(tc) else None  # the cell's properties come first
            if first is not None and (first.tag == _CELL_PROPERTIES or _NAMES[first.tag] == "tcPr"):
                span, vmerge = self._spans.get(first, _NO_SPAN)
                content = first.getnext()  # tcPr not met again
            else:
                span, vmerge = self._spans.get(X.child(tc, "tcPr"), _NO_SPAN)
                content = first
            paragraphs: list[str] = []
            self._blocks(content, paragraphs, placeholder=False)
            continues = vmerge is not None and (X.attr(vmerge, "val") or "continue") == "continue"
            cells.append(Cell(tuple(paragraphs), continues, column))
            column += max(int(X.attr(span, "val") or 1), 1) if span is not None else 1
        return cells

    def _cells_of(self, tr: etree._Element) -> tuple[etree._Element | None,
                                                      list[etree._Element]]:
        """A row's properties and cells, in one look at its children unless it wraps cells
        in content controls or custom XML."""
        props, cells = None, []
        after = X.first_child(tr)
        while after is not None:
            child, after = after, after.getnext()
            tag = child.tag
            name = "tc" if tag == _CELL else _NAMES[tag]
            if name == "tc":
                cells.append(child)
            elif name == "trPr":
                props = child if props is None else props
            elif name == "sdt" or name == "customXml":
                return X.child(tr, "trPr"), self._children(tr, "tc")
        return props, cells

    # ------------------------------------------------------------ content controls

    def _sdt(self, sdt: etree._Element, out: list[str], *, inline: bool) -> None:
        """A content control in a paragraph (``inline``) or around paragraphs and tables: its
        content walked, its value recorded."""
        props = sdt[0] if len(sdt) else None
        content = props.getnext() if props is not None else None
        # A control is its properties and then its content, as Word and LibreOffice write it;
        # anything else (w:sdtEndPr between them, another order) is looked through.
        if props is None or content is None or props.tag != _SDT_PROPERTIES \
                or content.tag != _SDT_CONTENT:
            props, content = X.first_of(sdt, "sdtPr", "sdtContent")
        settings = X.kids(props)
        placeholder = "showingPlcHdr" in settings
        checkbox = settings.get("w14:checkbox")
        start = len(out)
        if checkbox is not None:
            checked = X.on(X.child(checkbox, "w14:checked"))
            out.append(X.CHECKED if checked else X.UNCHECKED)
            self._record(props, settings, checked)
            return
        if content is not None and not inline:
            self._blocks(X.first_child(content), out, placeholder)
        elif content is not None and not placeholder:
            self._inline(content, out)
        text = ("" if inline else "\n").join(out[start:]).strip()
        # Only a text as short as a prompt can be one: a long answer is not lower-cased to
        # be looked up (a form's summary and evidence run to a thousand characters).
        if not placeholder and len(text) <= X.LONGEST_PLACEHOLDER and \
                text.lower() in X.PLACEHOLDER_TEXTS:
            del out[start:]
            placeholder = True
        self._record(props, settings, "" if placeholder else text, placeholder)

    def _record(self, props: etree._Element | None, settings: dict[str | None, etree._Element],
                value: str | bool, placeholder: bool = False) -> None:
        """Keep a content control as a ``FormControl``; ``settings``: ``kids(props)``."""
        if props is None:
            return
        kind, options = X.sdt_kind(settings)
        if kind == "docpart":
            return
        if kind == "date" and value and not placeholder:
            value = X.attr(settings.get("date"), "fullDate") or value
        tag = _val(settings.get("tag")) or ""
        alias = _val(settings.get("alias")) or ""
        self.doc.controls.append(FormControl("content control", kind, tag, value, alias,
                                             placeholder, options))

    # ------------------------------------------------------------ paragraphs and runs

    def _inline(self, parent: etree._Element, out: list[str]) -> None:
        fields = self._fields
        after = parent[0] if len(parent) else None
        while after is not None:
            child, after = after, after.getnext()
            tag = child.tag
            name = "r" if tag == _RUN else _NAMES[tag]
            if name == "r":
                # The commonest run by far, one w:t outside any field, alone or after run
                # properties that neither strike, highlight nor shade it (as Word and
                # LibreOffice write nearly every run), is read here at once, its children
                # looked at by index rather than listed.
                count = 0 if fields.open else len(child)
                if count == 1:
                    only = child[0]
                    if only.tag == _TEXT or _NAMES[only.tag] == "t":
                        out.append(only.text or "")
                        continue
                elif count == 2:
                    props = child[0]
                    last = props.getnext()
                    if ((tag := last.tag) == _TEXT or _NAMES[tag] == "t") and \
                            ((tag := props.tag) == _RUN_PROPERTIES or _NAMES[tag] == "rPr") \
                            and not _marks(props):
                        out.append(last.text or "")
                        continue
                self._run(child, out)
            elif name == "sdt":
                self._sdt(child, out, inline=True)
            elif name in _TRANSPARENT:
                self._inline(child, out)
            elif name is None and isinstance(tag, str):
                self._foreign(child, out)

    def _foreign(self, el: etree._Element, out: list[str]) -> None:
        if el.tag[1:].partition("}")[0] == X.MC and el.tag.endswith("AlternateContent"):
            choice = X.first_child(el)  # the first choice only, so nothing is read twice
            if choice is not None:
                self._inline(choice, out)
        elif el.tag[1:].partition("}")[0] in _MATH:
            out.append("".join(t.text or "" for t in el.iter() if str(t.tag).endswith("}t")))

    def _run(self, run: etree._Element, out: list[str]) -> None:
        first = run[0] if len(run) else None
        if first is None:
            return
        if (first.tag == _RUN_PROPERTIES or _NAMES[first.tag] == "rPr") and not _marks(first):
            # The commonest run with properties (fonts, size, language, colour: every run Word
            # writes): they come first and change nothing of what it says, so the rest of the
            # run is read on from them, without listing its children and naming them twice.
            self._run_children(first.getnext(), out, struck=False)
            return
        children = []
        child: etree._Element | None = first
        while child is not None:
            children.append(child)
            child = child.getnext()
        names = [_NAMES[c.tag] for c in children]
        formats = X.kids(children[names.index("rPr")]) if "rPr" in names else {}
        if not formats.keys() & _MARKING:  # no formatting that changes what it says
            self._run_children(first, out, struck=False)
            return
        # Struck-through words are how many people answer "Yes / No": they strike the wrong one.
        struck = X.on(formats.get("strike")) or X.on(formats.get("dstrike"))
        # So are highlighted ones.
        marked = not struck and X.highlighted(formats) and "fldChar" not in names
        start = len(out)
        self._run_children(first, out, struck)
        if marked and "".join(out[start:]).strip():
            out.insert(start, MARK_OPEN)
            out.append(MARK_CLOSE)

    def _run_children(self, first: etree._Element | None, out: list[str], struck: bool) -> None:
        """What a run says, from its child ``first`` through the children after it."""
        fields = self._fields
        after = first
        while after is not None:
            child, after = after, after.getnext()
            tag = child.tag
            name = "t" if tag == _TEXT else _NAMES[tag]
            if name == "fldChar":
                if (ended := fields.mark(child, out)) is not None:
                    self.doc.controls.append(ended)
            elif struck or (fields.open and fields.open[-1].start < 0):
                continue  # struck through, or a field's instruction rather than its result
            elif name == "t":
                out.append(child.text or "")
            elif name == "tab":
                out.append("\t")
            elif name in ("br", "cr"):
                out.append("\n")
            elif name == "noBreakHyphen":
                out.append("-")


_VAL = X.tags("val")[0]


def _val(el: etree._Element | None) -> str | None:
    """``X.attr(el, "val")``, its transitional w:val (as nearly every document writes it)
    asked for here, without the call and look-up that find its qualified names."""
    if el is None:
        return None
    value = el.get(_VAL)
    return value if value is not None else X.attr(el, "val")


def _marks(props: etree._Element) -> bool:
    """Whether run properties strike, highlight or shade the run (``_MARKING``)."""
    child = X.first_child(props)
    while child is not None:
        if _NAMES[child.tag] in _MARKING:
            return True
        child = child.getnext()
    return False


def _spans(root: etree._Element) -> _Spans:
    """Each element's first w:gridSpan child and first w:vMerge child (what ``X.first_of``
    finds in a cell's w:tcPr), for every element that has one, found by lxml's C iteration
    over the part: most cells span nothing, and a Python look at every cell's properties
    cost more than this one pass."""
    found: _Spans = {}
    for el in root.iter(*_SPAN_TAGS):
        parent = el.getparent()
        if parent is None:
            continue
        span, vmerge = found.get(parent, _NO_SPAN)
        if _NAMES[el.tag] == "gridSpan":
            if span is None:
                found[parent] = (el, vmerge)
        elif vmerge is None:
            found[parent] = (span, el)
    return found


def walk_document(root: etree._Element, budgets: Budgets | None = None) -> Document:
    return Walker(budgets).walk(root)
