"""Legacy form fields (Word 97's FORMTEXT, FORMCHECKBOX, FORMDROPDOWN) as the walker meets them.

A legacy field is not one element but a row of marks in the runs: ``w:fldChar`` begin (with
``w:ffData``, the field's settings), the instruction, separate, the result the reader sees, end;
the result may run on into later paragraphs. ``LegacyFields`` keeps the fields open at this
point of ``docx_walk``'s pass and turns each one that ends into a ``FormControl``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from mailbot.intake import docx_xml as X
from mailbot.intake.reading import FormControl


@dataclass
class _Field:
    """A legacy form field between its begin and end marks."""

    control: dict[str, object] | None
    start: int  # where its result starts in ``out``; -1 while in its instruction
    out: list[str] = field(default_factory=list)


class LegacyFields:
    """The legacy fields open at this point of a walk, innermost last (``open``)."""

    def __init__(self) -> None:
        self.open: list[_Field] = []

    def new_paragraph(self) -> None:
        if self.open:
            # An instruction left open by a damaged paragraph must not swallow the rest.
            self.open = [f for f in self.open if f.start >= 0]

    def mark(self, mark: etree._Element, out: list[str]) -> FormControl | None:
        """Follow one ``w:fldChar``; the field it ends, if it ends one that is a form field.
        A check box or drop-down shows its state in ``out`` as the reader sees it."""
        kind = X.attr(mark, "fldCharType")
        if kind == "begin":
            data = X.child(mark, "ffData")
            control = X.legacy_control(data) if data is not None else None
            if control and control["kind"] in ("checkbox", "dropdown"):
                out.append(str(control["display"]))
            self.open.append(_Field(control, -1))
        elif kind == "separate" and self.open:
            self.open[-1].start, self.open[-1].out = len(out), out
        elif kind == "end" and self.open:
            return _ended(self.open.pop(), out)
        return None


def _ended(done: _Field, out: list[str]) -> FormControl | None:
    control = done.control
    if control is None:
        return None
    value = control["value"]
    if control["kind"] == "text" and done.start >= 0:
        value = "".join(done.out[done.start:])
        if done.out is not out:  # the answer ran on into later paragraphs
            value += "\n" + "".join(out)
        value = value.strip()
    return FormControl("legacy field", str(control["kind"]), str(control["name"]), value,
                       options=tuple(control["options"]))
