"""The Word form reader: .docx bytes in, a ``FormReading`` out, or a ``FormError``.

Answers are taken, most trusted first, from content controls and legacy fields named after a
field, then from tables (a label cell with its answer beside it, in the row below it, or after
a colon in the same cell: ``docx_tables``), then from ``Label: value`` paragraphs. The
document is walked once (``docx_walk``) before any of it is read. ``read_form_attachment`` is
the entry point: the type gate and its budgets run first, and no error but ``FormError``
leaves it.
"""

from __future__ import annotations

import re
import zipfile
import zlib

from lxml import etree

from mailbot.domain.errors import FormError
from mailbot.intake import field_labels as L
from mailbot.intake import fields as F
from mailbot.intake.docx_tables import read_table, unprompted
from mailbot.intake.docx_walk import walk_document
from mailbot.intake.labelled_text import read_lines
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
    tagged = [_exact(control) for control in doc.controls]
    for control, exact in zip(doc.controls, tagged, strict=True):
        if exact:
            _from_control(control, builder)
    for number, table in enumerate(doc.tables, start=1):
        read_table(table, builder, f"table {number}")
    for control, exact in zip(doc.controls, tagged, strict=True):
        if not exact:
            _from_control(control, builder)
    read_lines(doc.paragraphs, builder, "paragraph", stop_at_signature=False)
    return builder.build()


# ---------------------------------------------------------------- content controls

_CAMEL_HUMP = re.compile(r"(?<=[a-z])(?=[A-Z])")


def _control_key(name: str) -> tuple[str | None, str]:
    """The field a control's tag names ("child_name", "Child's name", "ChildName"), and any
    value it stands for ("referrer_agency_type=school" on a check box)."""
    name, _, meaning = name.partition("=")
    if name in F.FIELD_BY_KEY:
        return name, meaning
    spaced = _CAMEL_HUMP.sub(" ", name).replace("_", " ")
    key = L.match_label(spaced)
    return (key if key in F.FIELD_BY_KEY else None), meaning


def _exact(control: FormControl) -> bool:
    """A content control whose tag names a field."""
    return control.source == "content control" and control.name.partition("=")[0] in \
        F.FIELD_BY_KEY


def _from_control(control: FormControl, builder: ReadingBuilder) -> None:
    if control.placeholder:
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
        elif F.FIELD_BY_KEY[key].kind is F.YES_NO:
            builder.add_typed(key, value, "ticked" if value else "not ticked", where)
        return
    builder.add_text(key, unprompted(str(value or "")), where)


