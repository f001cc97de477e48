"""Forms written by another program than ours: LibreOffice converts filled forms, we read them.

Filled forms go through ``soffice --headless --convert-to`` (docx to odt and back, docx to docx,
HTML to docx), which rewrites every part in LibreOffice's own way and drops or reshapes the
content-control tags, so the reader must find every answer by its label as well.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mailbot.intake.docx_form import read_form_attachment
from mailbot.intake.form_builder import fill_form

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
import form_samples as S  # noqa: E402

SOFFICE = shutil.which("soffice") or ("/usr/bin/soffice" if Path("/usr/bin/soffice").exists()
                                      else None)
BURY_HTML = """<html><body><p>APPENDIX 1</p><p>Request for Resolution Document</p>
<table border="1">
<tr><td>Date of Notification</td><td>02/03/2026</td></tr>
<tr><td>Name of Child/Young Person</td><td>Sam O&#8217;Neill</td></tr>
<tr><td>D.O.B</td><td>14/07/2015</td></tr>
<tr><td colspan="2">Outcome Resolution Notice Referrer details:</td></tr>
<tr><td>Name</td><td>Jane Smith</td></tr>
<tr><td>Role</td><td>Social Worker</td></tr>
<tr><td>Agency/Team</td><td>Bury Children&#8217;s Services, Early Help</td></tr>
<tr><td>Contact Details</td><td>jane.smith@bury.gov.uk<br>0161 234 5678</td></tr>
<tr><td><p></p><p>Designated safeguarding lead aware of this notice?</p></td>
<td><p>Yes /</p><p>&nbsp;</p><p>Name of safeguarding lead: Peter Jones</p></td></tr>
<tr><td colspan="2">Summary of disagreement</td></tr>
<tr><td colspan="2"><p>School have not shared attendance concerns.</p>
<p>We asked twice in writing.</p></td></tr>
<tr><td colspan="2">Evidence of the challenge that has taken place at stages 1, 2 &amp; 3 and the
outcome at each stage</td></tr>
<tr><td colspan="2"><p>Stage 1: email to class teacher on 3/2/26, no reply.</p>
<p>Stage 2: managers met on 10/2/26; no agreement.</p></td></tr>
<tr><td colspan="2">Desired outcome for the child and / or family. Please include details of
what it is you are requesting happens as a result of this challenge</td></tr>
<tr><td colspan="2">Attendance data shared weekly with the social worker.</td></tr>
</table></body></html>"""


def convert(sources: Path, target: str, workdir: Path, *files: str) -> Path:
    """Run LibreOffice on ``files`` in a private profile; the folder the results went to."""
    out = workdir / f"out-{target.split(':')[0]}-{len(list(workdir.iterdir()))}"
    command = [SOFFICE, f"-env:UserInstallation=file://{workdir / 'profile'}", "--headless",
               "--norestore", "--convert-to", target, "--outdir", str(out),
               *[str(sources / f) for f in files]]
    subprocess.run(command, check=True, timeout=240, capture_output=True,
                   cwd=workdir, env={**os.environ, "HOME": str(workdir)})
    return out


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> dict[str, bytes]:
    if SOFFICE is None:
        if os.environ.get("CI") == "true":
            pytest.fail("soffice (LibreOffice) is required under CI")
        pytest.skip("soffice (LibreOffice) is not installed")
    work = tmp_path_factory.mktemp("soffice")
    src = work / "src"
    src.mkdir()
    for partnership in ("bury", "hackney", "birmingham"):
        (src / f"{partnership}.docx").write_bytes(fill_form(partnership, S.FILLED))
    (src / "bury_by_hand.docx").write_bytes(S.bury_by_hand())
    (src / "bury_appendix.html").write_text(BURY_HTML, encoding="utf-8")
    odt = convert(src, "odt", work, "bury.docx", "hackney.docx", "birmingham.docx",
                  "bury_by_hand.docx")
    back = convert(odt, "docx:MS Word 2007 XML", work, *sorted(p.name for p in odt.iterdir()))
    direct = convert(src, "docx:MS Word 2007 XML", work, "hackney.docx", "bury_appendix.html")
    results = {f"via odt/{p.stem}": p.read_bytes() for p in back.iterdir()}
    results |= {f"direct/{p.stem}": p.read_bytes() for p in direct.iterdir()}
    return results


@pytest.mark.parametrize("name", ["via odt/bury", "via odt/hackney", "via odt/birmingham",
                                  "direct/hackney"])
def test_our_filled_forms_rewritten_by_libreoffice_are_read_with_every_field_right(
        converted, name):
    reading = read_form_attachment(converted[name])
    assert reading.values() == S.FILLED
    assert not reading.errors


def test_the_hand_filled_bury_appendix_rewritten_by_libreoffice_is_read_right(converted):
    reading = read_form_attachment(converted["via odt/bury_by_hand"])
    assert reading.values() == S.bury_expected()


def test_the_bury_appendix_typed_as_a_web_page_and_saved_as_docx_is_read_right(converted):
    reading = read_form_attachment(converted["direct/bury_appendix"])
    assert reading.values() == S.bury_expected()
