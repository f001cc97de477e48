"""The Word form reader: .docx bytes in, a ``FormReading`` out, or a ``FormError``.

Answers are taken, most trusted first, from content controls and legacy fields named after a
field, then from tables (a label cell with its answer beside it, in the row below it, or after
a colon in the same cell), then from ``Label: value`` paragraphs. ``read_form_attachment`` is
the entry point: the type gate and its budgets run first, and no error but ``FormError``
leaves it.
"""

from __future__ import annotations

import re
import zipfile
import zlib

from lxml import etree

from mailbot.domain.errors import FormError
from mailbot.intake import fields as F
from mailbot.intake.docx_walk import PLACEHOLDER_TEXTS, Cell, Table, walk_document
from mailbot.intake.labelled_text import label_at_start, read_lines
from mailbot.intake.outcome_table import is_outcome_table, read_outcome_table
from mailbot.intake.reading import FormControl, FormReading, ReadingBuilder
from mailbot.intake.typegate import DEFAULT_BUDGETS, Budgets, DocxPackage, open_docx, refuse


def read_form_attachment(data: bytes, budgets: Budgets = DEFAULT_BUDGETS) -> FormReading:
    """Type gate, budgets and reader in one: the answers of a .docx form, or a ``FormError``."""
    try:
        return read_docx(open_docx(data, budgets))
    except FormError:
        raise
    except (etree.LxmlError, zipfile.BadZipFile, zlib.error, KeyError, ValueError, IndexError,
            RecursionError, UnicodeError, OSError, EOFError, NotImplementedError) as error:
        # A file that passed the gate can still be damaged inside; it is refused, not fatal.
        raise refuse("corrupt", "damaged (it cannot be read as a Word document)") from error


def read_docx(package: DocxPackage) -> FormReading:
    doc = walk_document(package.xml(package.main_part), package.budgets)
    builder = ReadingBuilder("docx")
    builder.controls.extend(doc.controls)
    # A tag naming a field is the form's own word; an alias or a legacy field's bookmark name
    # is weaker (LibreOffice keeps only the alias, around the first paragraph of an answer),
    # so those come after the tables.
    for control in doc.controls:
        _from_control(control, builder, by_tag=True)
    for number, table in enumerate(doc.tables, start=1):
        _from_table(table, builder, f"table {number}")
    for control in doc.controls:
        _from_control(control, builder, by_tag=False)
    read_lines(doc.paragraphs, builder, "paragraph", stop_at_signature=False)
    return builder.build()


# ---------------------------------------------------------------- content controls

def _control_key(name: str) -> tuple[str | None, str]:
    """The field a control's tag names ("child_name", "Child's name", "ChildName"), and any
    value it stands for ("referrer_agency_type=school" on a check box)."""
    name, _, meaning = name.partition("=")
    if name in F.FIELD_BY_KEY:
        return name, meaning
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).replace("_", " ")
    key = F.match_label(spaced)
    return (key if key in F.FIELD_BY_KEY else None), meaning


def _from_control(control: FormControl, builder: ReadingBuilder, *, by_tag: bool) -> None:
    exact = control.source == "content control" and control.name.partition("=")[0] in \
        F.FIELD_BY_KEY
    if exact != by_tag or control.placeholder:
        return
    key, meaning = _control_key(control.name)
    if key is None and control.alias:
        key, meaning = _control_key(control.alias)
    if key is None or builder.has(key) and not meaning:
        return
    where = f"{control.source} '{control.name or control.alias}'"
    value = control.value
    if isinstance(value, bool):
        if meaning:  # one box of a set: ticked means "this one"
            if value:
                builder.add_text(key, meaning, where)
        elif F.FIELD_BY_KEY[key].kind is F.Kind.YES_NO:
            builder.add_typed(key, value, "ticked" if value else "not ticked", where)
        return
    builder.add_text(key, _unprompted(str(value or "")), where)


def _unprompted(text: str) -> str:
    return "" if text.strip().lower() in PLACEHOLDER_TEXTS else text


# ---------------------------------------------------------------- tables

def _rows(table: Table) -> list[list[Cell]]:
    """Rows with vertically merged cells folded into the row where the merge starts."""
    rows: list[list[Cell]] = []
    for row in table.rows:
        if rows and row and row[0].continues_above:
            _fold_into(rows[-1], row)
        else:
            rows.append([Cell(list(c.paragraphs), c.continues_above, c.column) for c in row])
    return rows


def _fold_into(above: list[Cell], row: list[Cell]) -> None:
    for cell in row[1:]:
        target = next((c for c in above if c.column == cell.column), None)
        if target is not None and cell.text:
            target.paragraphs.extend(cell.paragraphs)
        elif target is None and cell.text:
            above.append(cell)


def _cell_label(cell: Cell, section: str) -> tuple[str, list[str]] | None:
    """(field key, the answer lines after the label in the same cell) for a label cell."""
    text = _unprompted(cell.text)
    if not text or len(text) > 400:
        return None
    lines = text.splitlines()
    opened = label_at_start(lines[0], section)
    if opened is not None and (opened[2] or len(lines) > 1):
        return opened[0], [opened[2], *lines[1:]]
    key = F.match_label(text, section)
    return (key, []) if key else None


def _from_table(table: Table, builder: ReadingBuilder, where: str) -> None:
    section = "referrer"
    rows = _rows(table)
    if is_outcome_table(rows):
        read_outcome_table(rows, builder, where)
        return
    skip = False
    for index, row in enumerate(rows):
        if skip:
            skip = False
            continue
        texts = [c.text for c in row if c.text]
        if len(texts) == 1 and (heading := F.section_of_heading(texts[0])):
            section = heading
            continue
        below = rows[index + 1] if index + 1 < len(rows) else None
        skip = _from_row(row, below, section, builder, f"{where} row {index + 1}")


def _from_row(row: list[Cell], below: list[Cell] | None, section: str,
              builder: ReadingBuilder, where: str) -> bool:
    """Read one row; True when the row below held this row's answer and is used up."""
    labels = [_cell_label(c, section) for c in row]
    if not any(labels):
        _extra_pair(row, builder)
        for cell in row:
            read_lines(cell.paragraphs, builder, where, section=section, stop_at_signature=False)
        return False
    if _answer_is_below(row, labels, below, section):
        _answer(labels[0][0], [p for c in below for p in c.paragraphs], builder, where, section)
        return True
    if _is_header_row(row, labels, below, section):
        for cell, label in zip(row, labels, strict=True):
            if label is None:
                continue
            answers = [c for c in below if c.column == cell.column]
            _answer(label[0], [p for c in answers for p in c.paragraphs], builder, where, section)
        return True
    _label_value_cells(row, labels, builder, where, section)
    return False


def _label_value_cells(row: list[Cell], labels: list, builder: ReadingBuilder, where: str,
                       section: str) -> None:
    """Label | answer [| label | answer ...]: each label takes the cells up to the next label."""
    index = 0
    while index < len(row):
        label = labels[index]
        if label is None:
            read_lines(row[index].paragraphs, builder, where, section=section,
                       stop_at_signature=False)
            index += 1
            continue
        lines = list(label[1])
        index += 1
        while index < len(row) and labels[index] is None and not _unknown_label(row[index]):
            lines.extend(row[index].paragraphs)
            index += 1
        _answer(label[0], lines, builder, where, section)


def _answer(key: str, lines: list[str], builder: ReadingBuilder, where: str,
            section: str) -> None:
    lines = [_unprompted(line) for line in lines]
    read_lines(lines, builder, where, section=section, first_key=key, stop_at_signature=False)


def _answer_is_below(row: list[Cell], labels: list, below: list[Cell] | None,
                     section: str) -> bool:
    """Bury's long answers: a label alone across the row, the answer in the row under it."""
    if len(row) != 1 or not labels[0] or "".join(labels[0][1]).strip() or not below:
        return False
    return not any(_cell_label(c, section) for c in below) and not _is_heading(below)


def _is_heading(row: list[Cell]) -> bool:
    texts = [c.text for c in row if c.text]
    return len(texts) == 1 and F.section_of_heading(texts[0]) is not None


def _is_header_row(row: list[Cell], labels: list, below: list[Cell] | None,
                   section: str) -> bool:
    """A row of labels over a row of answers, column by column.

    Two cells must both be labels ("Child's name | Sam" is a label and its answer); a wider
    row of short headings over a row laid out in the same columns is a header row too.
    """
    if below is None or len(row) < 2 or any(lab and lab[1] for lab in labels):
        return False
    if any(_cell_label(c, section) for c in below):
        return False
    if all(labels):
        return True
    return len(row) >= 3 and [c.column for c in row] == [c.column for c in below]


def _unknown_label(cell: Cell) -> bool:
    """"Case Number:" alone in a cell is a label we do not know, not an answer."""
    text = cell.text
    return text.endswith(":") and len(text) < 60 and "\n" not in text


def _extra_pair(row: list[Cell], builder: ReadingBuilder) -> None:
    """A two-cell row whose label we do not know is kept, so no answer is lost."""
    if len(row) == 2 and 0 < len(row[0].text) <= 80 and row[1].text:
        builder.add_extra(row[0].text, _unprompted(row[1].text))
