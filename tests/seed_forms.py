"""Bury's Appendix 1, laid out as the seed lays it out and filled the ways people fill it,
written by LibreOffice (`soffice --headless --convert-to docx`), not by python-docx alone.

The seed's "Designated safeguarding lead aware of this notice?" box holds "Yes / No" and
"Name of safeguarding lead:" in one cell. People answer it by deleting a word, striking or
highlighting one, typing "Yes" after it or under it, ticking a check box, or choosing from a
drop-down, and type the name after the colon. Each style here is a document in the seed's
layout (an HTML page, or a python-docx file for what HTML cannot carry) that LibreOffice then
rewrites as Word, the way a form nobody here wrote reaches the mailbox.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

SOFFICE = shutil.which("soffice") or ("/usr/bin/soffice" if Path("/usr/bin/soffice").exists()
                                      else None)
DSL_NAME = "Peter Jones"
NAME_LINE = f"Name of safeguarding lead: {DSL_NAME}"
EVIDENCE = ("Stage 1: email to the social worker on 3/2/26, no reply.\n"
            "Stage 2: managers met on 10/2/26; no agreement.\n"
            "Stage 3: heads of service met on 20/2/26; no agreement.")
STAGE_3_DATE, STAGE_3_EVIDENCE = date(2026, 2, 20), "Heads of service met; no agreement."
ANSWERS = {
    "date_of_notification": date(2026, 3, 2), "child_name": "Sam Sample",
    "child_dob": date(2015, 7, 14), "referrer_name": "Jane Smith",
    "referrer_role": "Social Worker", "referrer_agency": "Bury Early Help",
    "referrer_email": "jane.smith@agency.example", "referrer_phone": "0161 234 5678",
    "summary": "School have not shared attendance concerns.\nWe asked twice in writing.",
    "earlier_stages_evidence": EVIDENCE,
    "desired_outcome": "Attendance data shared weekly with the social worker.",
    "stage_3_outcome_date": STAGE_3_DATE, "stage_3_evidence": STAGE_3_EVIDENCE,
}


@dataclass(frozen=True)
class Style:
    """One way of answering the safeguarding lead box, and the answer it means."""

    name: str
    aware: bool
    html: str = ""  # the answer cell as HTML, for LibreOffice's HTML import
    docx: str = ""  # or a python-docx builder's name, for what HTML cannot carry


_NBSP = "&nbsp;&nbsp;"
_NAME = f"<p>{_NBSP}{NAME_LINE}</p>"
STYLES = (
    Style("deleted the other word", True, f"<p>{_NBSP}Yes /</p><p>&nbsp;</p>{_NAME}"),
    Style("left only the answer", False, f"<p>{_NBSP}No</p><p>&nbsp;</p>{_NAME}"),
    Style("struck the other word", True, f"<p>{_NBSP}Yes / <s>No</s></p><p>&nbsp;</p>{_NAME}"),
    Style("struck yes", False, f"<p>{_NBSP}<s>Yes</s> / No</p><p>&nbsp;</p>{_NAME}"),
    Style("highlighted the answer", True,
          f"<p>{_NBSP}<span style='background:#ffff00'>Yes</span> / No</p><p>&nbsp;</p>{_NAME}"),
    Style("highlighted no", False,
          f"<p>{_NBSP}Yes / <span style='background:#00ff00'>No</span></p><p>&nbsp;</p>{_NAME}"),
    Style("wrote the answer after it", True, f"<p>{_NBSP}Yes / No{_NBSP}Yes</p><p>&nbsp;</p>{_NAME}"),
    Style("wrote the answer under it", False, f"<p>{_NBSP}Yes / No</p><p>No</p>{_NAME}"),
    Style("line breaks in one paragraph", True,
          f"<p>{_NBSP}Yes<br>&nbsp;<br>{_NBSP}{NAME_LINE}</p>"),
    Style("all on one line", True, f"<p>Yes / No Yes {NAME_LINE}</p>"),
    Style("ticked a check box", True, docx="checkbox_yes"),
    Style("ticked the no box", False, docx="checkbox_no"),
    Style("a legacy check box", True, docx="legacy_checkbox"),
    Style("chose from a drop-down", False, docx="dropdown_no"),
    Style("Word's highlighter", True, docx="highlighter"),
)


def appendix_html(dsl_cell: str, answers: dict | None = None) -> str:
    """The seed's Appendix 1 as a web page: its two tables, its words, its order."""
    a = {**ANSWERS, **(answers or {})}

    def paras(text: str) -> str:
        return "".join(f"<p>{line}</p>" for line in text.split("\n"))

    def day(value) -> str:
        return value.strftime("%d/%m/%Y") if value else ""

    rows = [("Date of Notification", day(a["date_of_notification"])),
            ("Name of Child/Young Person", a["child_name"]), ("D.O.B", day(a["child_dob"]))]
    pairs = "".join(f"<tr><td>{label}</td><td>{value}</td></tr>" for label, value in rows)
    referrer = [("Name", a["referrer_name"]), ("Role", a["referrer_role"]),
                ("Agency/Team", a["referrer_agency"]),
                ("Contact Details", f"{a['referrer_email']}<br>{a['referrer_phone']}")]
    pairs2 = "".join(f"<tr><td>{label}</td><td>{value}</td></tr>" for label, value in referrer)
    below = [("Summary of disagreement", a["summary"]),
             ("Evidence of the challenge that has taken place at stages 1, 2 &amp; 3 and the"
              " outcome at each stage", a["earlier_stages_evidence"]),
             ("Desired outcome for the child and / or family. Please include details of what it"
              " is you are requesting happens as a result of this challenge", a["desired_outcome"])]
    long = "".join(f"<tr><td colspan='2'>{label}</td></tr><tr><td colspan='2'>{paras(text)}</td>"
                   "</tr>" for label, text in below)
    return f"""<html><head><meta charset="utf-8"></head><body>
<p>APPENDIX 1</p><p>Request for Resolution Document</p>
<p>THIS DOCUMENT MUST BE SENT/STORED SECURELY TO bsp@bury.gov.uk</p>
<table border="1">{pairs}
<tr><td colspan="2">Outcome Resolution Notice Referrer details:</td></tr>{pairs2}
<tr><td><p></p><p>Designated safeguarding lead aware of this notice?</p></td><td>{dsl_cell}</td></tr>
{long}</table><p></p>
<table border="1">
<tr><td><p></p><p>Stage</p></td><td>Date Outcome Resolved</td><td><p>Supporting Evidence</p><p></p>
<p>Embed written confirmation between parties about the agreed outcome</p></td></tr>
<tr><td>Stage 3</td><td>{day(a["stage_3_outcome_date"])}</td><td>{a["stage_3_evidence"]}</td></tr>
<tr><td>Stage 4 (to be completed by Safeguarding Partnership Business Unit)</td><td></td>
<td> Final decision of:</td></tr></table>
<p>Once stage 4 has concluded, the escalation notice will be completed, and a copy of the notice
will be sent to the  referrer informing them of the decision in writing.</p></body></html>"""


def appendix_docx(kind: str) -> bytes:
    """The seed's Appendix 1 built cell by cell with python-docx, its safeguarding lead cell
    holding what HTML cannot carry: Word's check boxes, a drop-down, the highlighter."""
    import docx
    from docx.oxml import parse_xml

    document = docx.Document()
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in (("Date of Notification", "02/03/2026"),
                         ("Name of Child/Young Person", ANSWERS["child_name"]),
                         ("D.O.B", "14/07/2015")):
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, value
    heading = table.add_row().cells
    heading[0].merge(heading[1]).text = "Outcome Resolution Notice Referrer details:"
    for label, value in (("Name", ANSWERS["referrer_name"]), ("Role", ANSWERS["referrer_role"]),
                         ("Agency/Team", ANSWERS["referrer_agency"]),
                         ("Contact Details", ANSWERS["referrer_email"])):
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, value
    left, right = table.add_row().cells
    left.text = "\nDesignated safeguarding lead aware of this notice?"
    paragraph = right.paragraphs[0]
    paragraph.add_run("  ")
    for piece in _DSL_PIECES[kind]():
        if isinstance(piece, _Xml):
            paragraph._p.append(parse_xml(piece))
        elif isinstance(piece, tuple):  # (text, highlighted)
            run = paragraph.add_run(piece[0])
            run.font.highlight_color = 7 if piece[1] else None
        else:
            paragraph.add_run(piece)
    right.add_paragraph("   ")
    right.add_paragraph(f"  {NAME_LINE}")
    for label, text in (("Summary of disagreement", ANSWERS["summary"]),
                        ("Evidence of the challenge that has taken place at stages 1, 2 & 3 and"
                         " the outcome at each stage", EVIDENCE),
                        ("Desired outcome for the child and / or family", ANSWERS["desired_outcome"])):
        row = table.add_row().cells
        row[0].merge(row[1]).text = label
        row = table.add_row().cells
        row[0].merge(row[1]).text = text
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


_NS = ('xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
       ' xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml"')


class _Xml(str):
    """A piece of WordprocessingML to append to the paragraph as it is."""


def _box(checked: bool) -> _Xml:
    mark, state = ("\u2612", 1) if checked else ("\u2610", 0)
    return _Xml(
        f"<w:sdt {_NS}><w:sdtPr><w:id w:val='{700 + state}'/><w14:checkbox><w14:checked"
        f" w14:val='{state}'/><w14:checkedState w14:val='2612' w14:font='MS Gothic'/>"
        "<w14:uncheckedState w14:val='2610' w14:font='MS Gothic'/></w14:checkbox></w:sdtPr>"
        f"<w:sdtContent><w:r><w:t>{mark}</w:t></w:r></w:sdtContent></w:sdt>")


def _legacy(checked: bool, name: str) -> list[_Xml]:
    return [_Xml(f"<w:r {_NS}><w:fldChar w:fldCharType='begin'><w:ffData><w:name w:val='{name}'/>"
                 "<w:enabled/><w:calcOnExit w:val='0'/><w:checkBox><w:sizeAuto/><w:default"
                 f" w:val='{int(checked)}'/></w:checkBox></w:ffData></w:fldChar></w:r>"),
            _Xml(f"<w:r {_NS}><w:instrText xml:space='preserve'> FORMCHECKBOX </w:instrText></w:r>"),
            _Xml(f"<w:r {_NS}><w:fldChar w:fldCharType='end'/></w:r>")]


def _dropdown(value: str) -> _Xml:
    return _Xml(f"<w:sdt {_NS}><w:sdtPr><w:id w:val='77'/><w:dropDownList><w:listItem"
                " w:displayText='Yes' w:value='Yes'/><w:listItem w:displayText='No' w:value='No'/>"
                f"</w:dropDownList></w:sdtPr><w:sdtContent><w:r><w:t>{value}</w:t></w:r>"
                "</w:sdtContent></w:sdt>")


_DSL_PIECES = {
    "checkbox_yes": lambda: [_box(True), " Yes  ", _box(False), " No"],
    "checkbox_no": lambda: [_box(False), " Yes  ", _box(True), " No"],
    "legacy_checkbox": lambda: [*_legacy(True, "Check1"), " Yes  ", *_legacy(False, "Check2"),
                                " No"],
    "dropdown_no": lambda: [_dropdown("No")],
    "highlighter": lambda: [("Yes", True), (" / No", False)],
}


def require_soffice() -> str:
    if SOFFICE is None:
        if os.environ.get("CI") == "true":
            pytest.fail("soffice (LibreOffice) is required under CI")
        pytest.skip("soffice (LibreOffice) is not installed")
    return SOFFICE


def convert(workdir: Path, files: dict[str, bytes], target: str = "docx:MS Word 2007 XML",
            ) -> dict[str, bytes]:
    """Writes ``files`` (name -> bytes) and has LibreOffice convert them all in one run."""
    soffice = require_soffice()
    src = workdir / f"src-{len(list(workdir.iterdir()))}"
    src.mkdir()
    for name, data in files.items():
        (src / name).write_bytes(data)
    out = src / "out"
    command = [soffice, f"-env:UserInstallation=file://{workdir / 'profile'}", "--headless",
               "--norestore", "--convert-to", target, "--outdir", str(out),
               *[str(src / name) for name in files]]
    subprocess.run(command, check=True, timeout=240, capture_output=True, cwd=workdir,
                   env={**os.environ, "HOME": str(workdir)})
    return {p.name: p.read_bytes() for p in out.iterdir()}


def written_by_libreoffice(workdir: Path, styles=STYLES) -> dict[str, bytes]:
    """Every style's Appendix 1 as LibreOffice writes it in Word format: the web pages
    converted straight to .docx, the python-docx files taken through .odt and back."""
    html = {f"{i}.html": appendix_html(s.html).encode() for i, s in enumerate(styles) if s.html}
    word = {f"{i}.docx": appendix_docx(s.docx) for i, s in enumerate(styles) if s.docx}
    results = convert(workdir, html) if html else {}
    if word:
        odt = convert(workdir, word, "odt")
        results |= convert(workdir, odt)
    return {style.name: results[f"{i}.docx"] for i, style in enumerate(styles)}
