"""Walk WordprocessingML into plain paragraphs and tables, the way a reader sees the page.

python-docx does not see inside content controls and has no model of legacy form fields, so
this walks the XML itself: text split across runs is joined, line breaks kept, struck-through
and deleted text dropped, untouched content-control prompts read as empty, check boxes shown as
☒/☐, drop-downs as their chosen entry, and every control recorded as a ``FormControl``.
Transitional and ISO-strict namespaces are both understood.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from lxml import etree

from mailbot.intake.field_values import MARK_CLOSE, MARK_OPEN
from mailbot.intake.reading import FormControl
from mailbot.intake.typegate import OVER_BUDGET, Budgets, refuse

_W = {"http://schemas.openxmlformats.org/wordprocessingml/2006/main",
      "http://purl.oclc.org/ooxml/wordprocessingml/main"}
_W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_M = {"http://schemas.openxmlformats.org/officeDocument/2006/math",
      "http://purl.oclc.org/ooxml/officeDocument/math"}
CHECKED, UNCHECKED = "☒", "☐"
# Prompts Word and LibreOffice put in empty controls; seen as text they mean "no answer".
PLACEHOLDER_TEXTS = frozenset({
    "click or tap here to enter text.", "click here to enter text.", "choose an item.",
    "click or tap to enter a date.", "click here to enter a date.", "enter a date.",
    "click or tap here to enter text", "choose an item", "enter text here.",
})
_TRANSPARENT = {"hyperlink", "ins", "smartTag", "customXml", "fldSimple", "moveTo", "bdo", "dir",
                "sdtContent"}
_SKIPPED = {"del", "moveFrom", "pPr", "rPr", "sdtPr", "sdtEndPr", "tblPr", "trPr", "tcPr",
            "tblGrid", "sectPr", "commentRangeStart", "commentRangeEnd", "bookmarkStart",
            "bookmarkEnd", "proofErr", "permStart", "permEnd"}


class _LocalNames(dict):
    """Tag -> local name of a WordprocessingML element (None for anything else), worked out
    once per tag: looking a child's name up is then one dictionary lookup, not a call, which
    matters at a thousand elements a form (issue 18)."""

    def __missing__(self, tag: object) -> str | None:
        name = None
        if isinstance(tag, str):
            ns, _, local = tag[1:].partition("}") if tag[:1] == "{" else ("", "", tag)
            name = local if ns in _W else None
        self[tag] = name
        return name


_NAMES = _LocalNames()


def _local(el: etree._Element) -> str | None:
    """The local name of a WordprocessingML element, None for anything else."""
    return _NAMES[el.tag]


class _Qualified(dict):
    """Local name -> its tag in each WordprocessingML namespace."""

    def __missing__(self, name: str) -> tuple[str, ...]:
        tags = self[name] = tuple(f"{{{ns}}}{name}" for ns in sorted(_W))
        return tags


_TAGS = _Qualified()


def _attr(el: etree._Element | None, name: str) -> str | None:
    if el is None:
        return None
    for tag in _TAGS[name]:
        if (value := el.get(tag)) is not None:
            return value
    for key, value in el.attrib.items():
        if key.rpartition("}")[2] == name:
            return value
    return None


def _kids(el: etree._Element | None) -> dict[str | None, etree._Element]:
    """An element's children by local name (the first of each): one pass over a property
    element answers every question asked of it."""
    kids: dict[str | None, etree._Element] = {}
    if el is not None:
        for child in el:
            kids.setdefault(_NAMES[child.tag], child)
    return kids


def _child(el: etree._Element, name: str) -> etree._Element | None:
    for child in el:
        if _NAMES[child.tag] == name:
            return child
    return None


def _on(el: etree._Element | None) -> bool:
    """Word's toggle properties: present and not switched off."""
    return el is not None and (_attr(el, "val") or "true").lower() not in ("0", "false", "off")


@dataclass
class Cell:
    paragraphs: list[str]
    continues_above: bool = False  # a vertically merged cell below its first row
    column: int = 0

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs).strip()


@dataclass
class Table:
    rows: list[list[Cell]] = field(default_factory=list)


@dataclass
class Document:
    paragraphs: list[str] = field(default_factory=list)  # outside any table
    tables: list[Table] = field(default_factory=list)
    controls: list[FormControl] = field(default_factory=list)


@dataclass
class _Field:
    """A legacy form field between its begin and end marks."""

    control: dict[str, object] | None
    start: int
    out: list[str] = field(default_factory=list)


class Walker:
    """One pass over a document part; ``walk`` returns what it found. With ``budgets`` the
    walk stops, refusing the document, as soon as it passes the cells, paragraphs or seconds
    a form may cost."""

    def __init__(self, budgets: Budgets | None = None) -> None:
        self.doc = Document()
        self._fields: list[_Field] = []
        self._budgets = budgets
        self._cells = self._paragraphs = 0
        self._deadline = time.monotonic() + budgets.max_seconds if budgets else math.inf

    def _count(self, cells: int = 0, paragraphs: int = 0) -> None:
        self._cells += cells
        self._paragraphs += paragraphs
        budgets = self._budgets
        if budgets is None:
            return
        if self._cells > budgets.max_cells:
            raise refuse("too_many_cells", f"a Word document with more than {budgets.max_cells:,}"
                         " table cells, far more than a Request for Resolution", OVER_BUDGET)
        if self._paragraphs > budgets.max_paragraphs:
            raise refuse("too_many_paragraphs", f"a Word document with more than"
                         f" {budgets.max_paragraphs:,} paragraphs, far more than a Request for"
                         " Resolution", OVER_BUDGET)
        if self._paragraphs % 64 == 0 and time.monotonic() > self._deadline:
            raise refuse("too_slow", "a Word document that takes far longer to read than a"
                         " Request for Resolution", OVER_BUDGET)

    def walk(self, root: etree._Element) -> Document:
        body = next((c for c in root if _local(c) == "body"), root)
        self._blocks(body, self.doc.paragraphs, placeholder=False)
        return self.doc

    # ------------------------------------------------------------ blocks and tables

    def _blocks(self, container: etree._Element, out: list[str], placeholder: bool) -> None:
        for child in container:
            name = _NAMES[child.tag]
            if name == "p":
                self._count(paragraphs=1)
                text = self._paragraph(child)
                out.append("" if placeholder else text)
            elif name == "tbl":
                self._table(child)
            elif name == "sdt":
                self._sdt(child, lambda content, ph: self._blocks(content, out, ph), out, "\n")
            elif name in _TRANSPARENT:
                self._blocks(child, out, placeholder)

    def _table(self, tbl: etree._Element) -> None:
        table = Table()
        self.doc.tables.append(table)
        for row in self._children(tbl, "tr"):
            table.rows.append(self._row(row))

    def _children(self, parent: etree._Element, wanted: str) -> list[etree._Element]:
        """``wanted`` children, looking through content controls and custom XML wrappers."""
        found: list[etree._Element] = []
        for child in parent:
            name = _NAMES[child.tag]
            if name == wanted:
                found.append(child)
            elif name == "sdt":
                content = _child(child, "sdtContent")
                self._record(child, "")
                if content is not None:
                    found.extend(self._children(content, wanted))
            elif name == "customXml":
                found.extend(self._children(child, wanted))
        return found

    def _row(self, tr: etree._Element) -> list[Cell]:
        cells: list[Cell] = []
        trpr = _child(tr, "trPr")
        before = _child(trpr, "gridBefore") if trpr is not None else None
        column = int(_attr(before, "val") or 0) if before is not None else 0
        for tc in self._children(tr, "tc"):
            self._count(cells=1)
            tcpr = _child(tc, "tcPr")
            span = _child(tcpr, "gridSpan") if tcpr is not None else None
            vmerge = _child(tcpr, "vMerge") if tcpr is not None else None
            paragraphs: list[str] = []
            self._blocks(tc, paragraphs, placeholder=False)
            continues = vmerge is not None and (_attr(vmerge, "val") or "continue") == "continue"
            cells.append(Cell(paragraphs, continues, column))
            column += max(int(_attr(span, "val") or 1), 1) if span is not None else 1
        return cells

    # ------------------------------------------------------------ content controls

    def _sdt(self, sdt: etree._Element, walk_content, out: list[str], sep: str) -> None:
        """A content control at any level: its content walked, its value recorded."""
        parts = _kids(sdt)
        props, content = parts.get("sdtPr"), parts.get("sdtContent")
        settings = _kids(props)
        placeholder = "showingPlcHdr" in settings
        checkbox = props.find(f"{{{_W14}}}checkbox") if props is not None else None
        start = len(out)
        if checkbox is not None:
            checked = _on(checkbox.find(f"{{{_W14}}}checked"))
            out.append(CHECKED if checked else UNCHECKED)
            self._record(sdt, checked, settings=(props, settings))
            return
        if content is not None:
            walk_content(content, placeholder)
        text = sep.join(out[start:])
        if not placeholder and text.strip().lower() in PLACEHOLDER_TEXTS:
            del out[start:]
            placeholder = True
        self._record(sdt, "" if placeholder else text.strip(), placeholder, (props, settings))

    def _record(self, sdt: etree._Element, value: str | bool, placeholder: bool = False,
                settings: tuple | None = None) -> None:
        props, kids = settings if settings is not None else (_child(sdt, "sdtPr"), None)
        if props is None:
            return
        kids = kids if kids is not None else _kids(props)
        kind, options = _sdt_kind(props, kids)
        if kind == "docpart":
            return
        if kind == "date" and value and not placeholder:
            value = _attr(kids.get("date"), "fullDate") or value
        tag = _attr(kids.get("tag"), "val") or ""
        alias = _attr(kids.get("alias"), "val") or ""
        self.doc.controls.append(FormControl("content control", kind, tag, value, alias,
                                             placeholder, options))

    # ------------------------------------------------------------ paragraphs and runs

    def _paragraph(self, p: etree._Element) -> str:
        # An instruction left open by a damaged paragraph must not swallow the rest of the text.
        self._fields = [f for f in self._fields if f.start >= 0]
        out: list[str] = []
        self._inline(p, out)
        return "".join(out).replace(MARK_CLOSE + MARK_OPEN, "").strip(" \u00a0")

    def _inline(self, parent: etree._Element, out: list[str]) -> None:
        for child in parent:
            name = _NAMES[child.tag]
            if name == "r":
                self._run(child, out)
            elif name == "sdt":
                self._sdt(child, lambda content, ph: None if ph else self._inline(content, out),
                          out, "")
            elif name in _TRANSPARENT:
                self._inline(child, out)
            elif name is None and isinstance(child.tag, str):
                self._foreign(child, out)

    def _foreign(self, el: etree._Element, out: list[str]) -> None:
        ns = el.tag[1:].partition("}")[0]
        if ns == _MC and el.tag.endswith("AlternateContent"):
            choice = next(iter(el), None)  # the first choice only, so nothing is read twice
            if choice is not None:
                self._inline(choice, out)
        elif ns in _M:
            out.append("".join(t.text or "" for t in el.iter() if str(t.tag).endswith("}t")))

    def _run(self, run: etree._Element, out: list[str]) -> None:
        rpr = _kids(_child(run, "rPr"))
        # Struck-through words are how many people answer "Yes / No": they strike the wrong one.
        struck = _on(rpr.get("strike")) or _on(rpr.get("dstrike"))
        # So are highlighted ones: the highlighter in Word, character shading in LibreOffice.
        marked = not struck and _highlighted(rpr) and _child(run, "fldChar") is None
        start = len(out)
        self._run_children(run, out, struck)
        if marked and "".join(out[start:]).strip():
            out.insert(start, MARK_OPEN)
            out.append(MARK_CLOSE)

    def _run_children(self, run: etree._Element, out: list[str], struck: bool) -> None:
        for child in run:
            name = _NAMES[child.tag]
            if name == "fldChar":
                self._field_char(child, out)
            elif struck or self._in_field_code():
                continue
            elif name == "t":
                out.append(child.text or "")
            elif name == "tab":
                out.append("\t")
            elif name in ("br", "cr"):
                out.append("\n")
            elif name == "noBreakHyphen":
                out.append("-")

    def _in_field_code(self) -> bool:
        return bool(self._fields) and self._fields[-1].start < 0

    def _field_char(self, mark: etree._Element, out: list[str]) -> None:
        kind = _attr(mark, "fldCharType")
        if kind == "begin":
            data = _child(mark, "ffData")
            control = _legacy_control(data) if data is not None else None
            if control and control["kind"] in ("checkbox", "dropdown"):
                out.append(str(control["display"]))
            self._fields.append(_Field(control, -1))
        elif kind == "separate" and self._fields:
            self._fields[-1].start, self._fields[-1].out = len(out), out
        elif kind == "end" and self._fields:
            self._end_field(self._fields.pop(), out)

    def _end_field(self, done: _Field, out: list[str]) -> None:
        control = done.control
        if control is None:
            return
        value = control["value"]
        if control["kind"] == "text" and done.start >= 0:
            value = "".join(done.out[done.start:])
            if done.out is not out:  # the answer ran on into later paragraphs
                value += "\n" + "".join(out)
            value = value.strip()
        self.doc.controls.append(FormControl("legacy field", str(control["kind"]),
                                             str(control["name"]), value,
                                             options=tuple(control["options"])))


def _highlighted(rpr: dict[str | None, etree._Element]) -> bool:
    """``rpr``: the run properties' children by name (``_kids``)."""
    highlight = _attr(rpr.get("highlight"), "val")
    if highlight and highlight.lower() != "none":
        return True
    fill = (_attr(rpr.get("shd"), "fill") or "auto").lower()
    return fill not in ("auto", "ffffff", "none")


def _sdt_kind(props: etree._Element,
              kids: dict[str | None, etree._Element]) -> tuple[str, tuple[str, ...]]:
    if props.find(f"{{{_W14}}}checkbox") is not None:
        return "checkbox", ()
    for name, kind in (("dropDownList", "dropdown"), ("comboBox", "combobox")):
        if (lst := kids.get(name)) is not None:
            items = tuple(_attr(i, "displayText") or _attr(i, "value") or ""
                          for i in lst if _local(i) == "listItem")
            return kind, items
    for name, kind in (("date", "date"), ("text", "text"), ("picture", "picture"),
                       ("docPartObj", "docpart"), ("group", "group")):
        if name in kids:
            return kind, ()
    return "richtext", ()


def _legacy_control(data: etree._Element) -> dict[str, object]:
    name = _attr(_child(data, "name"), "val") or ""
    if (box := _child(data, "checkBox")) is not None:
        # A box the user ticked or cleared carries w:checked; otherwise it shows its default.
        state = _child(box, "checked")
        checked = _on(state if state is not None else _child(box, "default"))
        return {"kind": "checkbox", "name": name, "value": checked, "options": (),
                "display": CHECKED if checked else UNCHECKED}
    if (drop := _child(data, "ddList")) is not None:
        entries = [_attr(e, "val") or "" for e in drop if _local(e) == "listEntry"]
        chosen = _attr(_child(drop, "result"), "val") or _attr(_child(drop, "default"), "val")
        index = int(chosen) if chosen and chosen.isdigit() else 0
        value = entries[index] if 0 <= index < len(entries) else ""
        return {"kind": "dropdown", "name": name, "value": value, "options": entries,
                "display": value}
    return {"kind": "text", "name": name, "value": "", "options": ()}


def walk_document(root: etree._Element, budgets: Budgets | None = None) -> Document:
    return Walker(budgets).walk(root)
