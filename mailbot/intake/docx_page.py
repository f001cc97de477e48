"""What the form walker hands on: a Word document as a reader sees the page.

``docx_walk`` turns a document part into a ``Document``: the paragraphs outside any table, each
table as rows of ``Cell``s, and every content control and legacy form field it met. The table
reader (``docx_tables``) and Bury's outcome table read answers from these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mailbot.intake.reading import FormControl


@dataclass(slots=True, init=False)
class Cell:
    paragraphs: tuple[str, ...]
    continues_above: bool = False  # a vertically merged cell below its first row
    column: int = 0
    text: str = field(init=False, compare=False)  # asked for a dozen times a cell: kept

    # Written out rather than generated, so that making one (every cell of a form) does not
    # also call __post_init__.
    def __init__(self, paragraphs: tuple[str, ...], continues_above: bool = False,
                 column: int = 0) -> None:
        self.paragraphs = paragraphs
        self.continues_above = continues_above
        self.column = column
        self.text = "\n".join(paragraphs).strip()


@dataclass
class Table:
    rows: list[list[Cell]] = field(default_factory=list)


@dataclass
class Document:
    paragraphs: list[str] = field(default_factory=list)  # outside any table
    tables: list[Table] = field(default_factory=list)
    controls: list[FormControl] = field(default_factory=list)
