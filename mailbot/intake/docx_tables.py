"""A Word form's tables into answers: the layouts people and partnerships lay forms out in.

A label cell with its answer beside it (``Label | answer``, several pairs to a row), in the row
below it (Bury's long answers), or after a colon in the same cell; a row of labels over a row
of answers; section headings ("Referrer details") that give generic labels ("Name") their
meaning; vertically merged cells folded into the row where they start; Bury's outcome table.
``docx_form`` reads every table of a walked document with ``read_table``.
"""

from __future__ import annotations

from mailbot.intake import field_labels as L
from mailbot.intake.docx_page import Cell, Table
from mailbot.intake.docx_xml import LONGEST_PLACEHOLDER, PLACEHOLDER_TEXTS
from mailbot.intake.labelled_text import label_at_start, read_lines
from mailbot.intake.outcome_table import is_outcome_table, read_outcome_table
from mailbot.intake.reading import ReadingBuilder

Label = tuple[str, tuple[str, ...]]  # (field key, the answer lines after it in its cell)


def unprompted(text: str) -> str:
    """The text, or "" when it is only a control's prompt ("Click or tap here...")."""
    stripped = text.strip()
    if len(stripped) > LONGEST_PLACEHOLDER:  # lower() never shortens a text
        return text
    return "" if stripped.lower() in PLACEHOLDER_TEXTS else text


def read_table(table: Table, builder: ReadingBuilder, where: str) -> None:
    rows = _rows(table)
    if is_outcome_table(rows):
        read_outcome_table(rows, builder, where)
        return
    _TableReader(rows, builder, where).read()


def _rows(table: Table) -> list[list[Cell]]:
    """Rows with vertically merged cells folded into the row where the merge starts."""
    rows: list[list[Cell]] = []
    for row in table.rows:
        if rows and row and row[0].continues_above:
            _fold_into(rows[-1], row)
        else:
            rows.append(list(row))
    return rows


def _fold_into(above: list[Cell], row: list[Cell]) -> None:
    for cell in row[1:]:
        if not cell.text:
            continue
        index = next((i for i, c in enumerate(above) if c.column == cell.column), None)
        if index is None:
            above.append(cell)
        else:
            target = above[index]
            above[index] = Cell(target.paragraphs + cell.paragraphs, target.continues_above,
                                target.column)


def cell_label(cell: Cell, section: str) -> Label | None:
    """(field key, the answer lines after the label in the same cell) for a label cell."""
    text = cell.text
    if (found := _LABELS.get((text, section), L.LabelMemo.UNSEEN)) is not L.LabelMemo.UNSEEN:
        return found
    if len(text) > 400 + LONGEST_PLACEHOLDER:  # too long for a label, even after a prompt
        return None
    if not L.may_start_with_label(text):  # an answer: not worked out, nor kept
        return None
    # A form prints the same labels in every copy: each is worked out once (issue 18). A
    # cell that holds an answer after its label is new each time, and not kept.
    found = _cell_label(text, section)
    if found is None or not any(found[1]):
        _LABELS.keep((text, section), found)
    return found


_LABELS = L.LabelMemo()


def _cell_label(text: str, section: str) -> Label | None:
    text = unprompted(text)
    if not text or len(text) > 400:
        return None
    lines = text.splitlines()
    opened = label_at_start(lines[0], section)
    if opened is not None and (opened[2] or len(lines) > 1):
        return opened[0], (opened[2], *lines[1:])
    key = L.match_label(text, section)
    return (key, ()) if key else None


class _TableReader:
    """One table, row by row. Each row's labels are worked out once for its section, though
    a row is asked about both as itself and as the row below the one before it."""

    def __init__(self, rows: list[list[Cell]], builder: ReadingBuilder, where: str) -> None:
        self.rows, self.builder, self.where = rows, builder, where
        self._labels: dict[tuple[int, str], list[Label | None]] = {}

    def labels(self, index: int, section: str) -> list[Label | None]:
        found = self._labels.get((index, section))
        if found is None:
            found = self._labels[index, section] = [cell_label(c, section)
                                                   for c in self.rows[index]]
        return found

    def read(self) -> None:
        section, rows = "referrer", self.rows
        skip = False
        for index, row in enumerate(rows):
            if skip:
                skip = False
                continue
            if (heading := _heading(row)) is not None:
                section = heading
                continue
            skip = self._row(index, section, f"{self.where} row {index + 1}")

    def _row(self, index: int, section: str, where: str) -> bool:
        """Read one row; True when the row below held this row's answer and is used up."""
        row, labels = self.rows[index], self.labels(index, section)
        below_index = index + 1 if index + 1 < len(self.rows) else None
        if not any(labels):
            _extra_pair(row, self.builder)
            for cell in row:
                if cell.text:  # an empty cell holds no label and no answer
                    self._lines(cell.paragraphs, where, section)
            return False
        below = self.rows[below_index] if below_index is not None else None
        first = labels[0]
        # Each test below is asked only of a row of the width it needs (one cell; two or more),
        # so the commonest row, "Label | answer", calls neither.
        if below is not None and first is not None and len(row) == 1 and \
                self._answer_is_below(row, labels, below_index, section):
            self._answer(first[0], [p for c in below for p in c.paragraphs], where, section)
            return True
        if below is not None and len(row) >= (2 if all(labels) else 3) and \
                self._is_header_row(row, labels, below_index, section):
            for cell, label in zip(row, labels, strict=True):
                if label is not None:
                    answers = [p for c in below if c.column == cell.column for p in c.paragraphs]
                    self._answer(label[0], answers, where, section)
            return True
        self._label_value_cells(row, labels, where, section)
        return False

    def _label_value_cells(self, row: list[Cell], labels: list[Label | None], where: str,
                           section: str) -> None:
        """Label | answer [| label | answer ...]: each label takes the cells up to the next."""
        index = 0
        while index < len(row):
            label = labels[index]
            if label is None:
                self._lines(row[index].paragraphs, where, section)
                index += 1
                continue
            lines = list(label[1])
            index += 1
            while index < len(row) and labels[index] is None and not _unknown_label(row[index]):
                lines.extend(row[index].paragraphs)
                index += 1
            self._answer(label[0], lines, where, section)

    def _lines(self, lines: tuple[str, ...], where: str, section: str) -> None:
        read_lines(lines, self.builder, where, section=section, stop_at_signature=False)

    def _answer(self, key: str, lines: list[str], where: str, section: str) -> None:
        # A cell holding the very words a content control tagged with this field already gave
        # says nothing new (nearly every answer of a tagged form): its lines are not read
        # again for labels, which inside an answer are the referrer's words, not fields.
        said = "\n".join(lines).strip()
        if not said or self.builder.read_from(key, said):
            return
        lines = [unprompted(line) for line in lines]
        read_lines(lines, self.builder, where, section=section, first_key=key,
                   stop_at_signature=False)

    def _answer_is_below(self, row: list[Cell], labels: list[Label | None],
                         below: int | None, section: str) -> bool:
        """Bury's long answers: a label alone across the row, the answer in the row under."""
        label = labels[0]
        if len(row) != 1 or not label or "".join(label[1]).strip() or below is None \
                or not self.rows[below]:
            return False
        return not any(self.labels(below, section)) and _heading(self.rows[below]) is None

    def _is_header_row(self, row: list[Cell], labels: list[Label | None], below: int | None,
                       section: str) -> bool:
        """A row of labels over a row of answers, column by column.

        Two cells must both be labels ("Child's name | Sam" is a label and its answer); a
        wider row of short headings over a row laid out in the same columns is one too.
        """
        if below is None or len(row) < 2 or any(lab and lab[1] for lab in labels):
            return False
        every = all(labels)
        if not every and len(row) < 3:  # "Label | answer", the commonest row, is not one
            return False
        if any(self.labels(below, section)):
            return False
        return every or [c.column for c in row] == [c.column for c in self.rows[below]]


def _heading(row: list[Cell]) -> str | None:
    """The section a row opens when it holds one text and that text is a heading."""
    texts = [c.text for c in row if c.text]
    return L.section_of_heading(texts[0]) if len(texts) == 1 else None


def _unknown_label(cell: Cell) -> bool:
    """"Case Number:" alone in a cell is a label we do not know, not an answer."""
    text = cell.text
    return text.endswith(":") and len(text) < 60 and "\n" not in text


def _extra_pair(row: list[Cell], builder: ReadingBuilder) -> None:
    """A two-cell row whose label we do not know is kept, so no answer is lost."""
    if len(row) == 2 and 0 < len(row[0].text) <= 80 and row[1].text:
        builder.add_extra(row[0].text, unprompted(row[1].text))
