"""Hand-made attachments for the form reader tests: hostile packages and Word-shaped XML.

Built in memory by the tests, so each file says exactly what it contains; nothing here comes
from the project's own form generator except where a test says so.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from datetime import date

from mailbot.domain.referral import AgencyType

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14_NS = "http://schemas.microsoft.com/office/word/2010/wordml"
_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_MACRO_MAIN = "application/vnd.ms-word.document.macroEnabled.main+xml"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="{main}"/></Types>')
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/></Relationships>')


def package(document_xml: str | bytes, *, main: str = _MAIN,
            extra: dict[str, bytes] | None = None) -> bytes:
    """A minimal Word package around one document part."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES.format(main=main))
        archive.writestr("_rels/.rels", RELS)
        archive.writestr("word/document.xml", document_xml)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


def document(body: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<w:document xmlns:w="{W_NS}" xmlns:w14="{W14_NS}"><w:body>{body}</w:body>'
            "</w:document>")


def macro_document() -> bytes:
    return package(document("<w:p><w:r><w:t>Hi</w:t></w:r></w:p>"), main=_MACRO_MAIN,
                   extra={"word/vbaProject.bin": b"\xd0\xcf\x11\xe0 macro"})


def entity_bomb() -> bytes:
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    xml = (f'<?xml version="1.0"?><!DOCTYPE w:document [{"".join(levels)}]>'
           f'<w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p>'
           "</w:body></w:document>")
    return package(xml)


def deep_document(depth: int = 5000) -> bytes:
    nest = "<w:customXml>" * depth + "</w:customXml>" * depth
    return package(document(f"<w:p>{nest}</w:p>"))


def zip_bomb(inflated: int = 1 << 30) -> bytes:
    """About 1 MiB of zip whose one part inflates to ``inflated`` bytes of zeros.

    The deflate stream is one fully flushed block repeated, so building it costs no more than
    compressing a single mebibyte.
    """
    chunk = bytes(1 << 20)
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = squeeze.compress(chunk) + squeeze.flush(zlib.Z_FULL_FLUSH)
    repeats = inflated // len(chunk)
    stream = block * repeats + zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    crc = 0
    for _ in range(repeats):
        crc = zlib.crc32(chunk, crc)
    head = CONTENT_TYPES.format(main=_MAIN).encode()
    return _raw_zip([("[Content_Types].xml", head, 0, zlib.crc32(head), len(head)),
                     ("word/document.xml", stream, 8, crc, repeats * len(chunk))])


def _raw_zip(entries: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A zip written field by field, so declared sizes can be what a bomb declares."""
    out, central = bytearray(), bytearray()
    for name, data, method, crc, size in entries:
        offset, encoded = len(out), name.encode()
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, len(data),
                           size, len(encoded), 0) + encoded + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0, crc,
                               len(data), size, len(encoded), 0, 0, 0, 0, 0, offset) + encoded
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central),
                      len(out), 0)
    return bytes(out + central + end)


def lying_zip(declared: int = 1000, inflated: int = 50 << 20) -> bytes:
    """A part that says it inflates to ``declared`` bytes but holds far more."""
    data = bytes(inflated)
    stream = zlib.compress(data, 9)[2:-4]
    head = CONTENT_TYPES.format(main=_MAIN).encode()
    rels = RELS.encode()
    return _raw_zip([("[Content_Types].xml", head, 0, zlib.crc32(head), len(head)),
                     ("_rels/.rels", rels, 0, zlib.crc32(rels), len(rels)),
                     ("word/document.xml", stream, 8, zlib.crc32(data), declared)])


# ---------------------------------------------------------------- Bury Appendix 1 by hand

BURY_LABELS = {
    "date": "Date of Notification", "child": "Name of Child/Young Person", "dob": "D.O.B",
    "heading": "Outcome Resolution Notice Referrer details:",
    "name": "Name", "role": "Role", "agency": "Agency/Team", "contact": "Contact Details",
    "lead": "\nDesignated safeguarding lead aware of this notice?",
    "summary": "Summary of disagreement",
    "evidence": "Evidence of the challenge that has taken place at stages 1, 2 & 3 and the "
                "outcome at each stage",
    "outcome": "Desired outcome for the child and / or family. Please include details of what "
               "it is you are requesting happens as a result of this challenge",
}
BURY_HAND_ANSWERS = {
    "date": "2 March 2026", "child": "Sam O\u2019Neill", "dob": "14/07/2015",
    "name": "Jane Smith", "role": "Social Worker", "agency": "Bury Children\u2019s Services, "
    "Early Help", "contact": "jane.smith@bury.gov.uk\n0161 234 5678",
    "lead_answer": ("  Yes /", "   ", "  Name of safeguarding lead: Peter Jones"),
    "summary": "School have not shared attendance concerns.\nWe asked twice in writing.",
    "evidence": "Stage 1: email to class teacher on 3/2/26, no reply.\n"
                "Stage 2: managers met on 10/2/26; no agreement.",
    "outcome": "Attendance data shared weekly with the social worker.",
}


def bury_by_hand(answers: dict | None = None, *, lead_runs=None) -> bytes:
    """The seed's Appendix 1 tables built cell by cell with python-docx, as Word lays them out,
    and filled in the way a person fills them: typing into the cells."""
    import docx

    a = dict(BURY_HAND_ANSWERS, **(answers or {}))
    document = docx.Document()
    document.add_paragraph("APPENDIX 1")
    document.add_paragraph("Request for Resolution Document")
    document.add_paragraph("THIS DOCUMENT MUST BE SENT/STORED SECURELY TO bsp@bury.gov.uk ")
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"

    def pair(label: str, value: str) -> None:
        left, right = table.add_row().cells
        left.text, right.text = label, value

    def across(text: str) -> None:
        cell = table.add_row().cells[0].merge(table.rows[-1].cells[1])
        cell.text = text

    for key in ("date", "child", "dob"):
        pair(BURY_LABELS[key], a[key])
    across(BURY_LABELS["heading"])
    for key in ("name", "role", "agency", "contact"):
        pair(BURY_LABELS[key], a[key])
    left, right = table.add_row().cells
    left.text = BURY_LABELS["lead"]
    if lead_runs:
        paragraph = right.paragraphs[0]
        for text, struck in lead_runs:
            paragraph.add_run(text).font.strike = struck
        right.add_paragraph("   ")
        right.add_paragraph("  Name of safeguarding lead: Peter Jones")
    else:
        right.text = a["lead_answer"][0]
        for line in a["lead_answer"][1:]:
            right.add_paragraph(line)
    for key in ("summary", "evidence", "outcome"):
        across(BURY_LABELS[key])
        answer = table.add_row().cells[0].merge(table.rows[-1].cells[1])
        lines = a[key].split("\n")
        answer.text = lines[0]
        for line in lines[1:]:
            answer.add_paragraph(line)
    document.add_paragraph()
    stages = document.add_table(rows=3, cols=3)
    for cell, text in zip(stages.rows[0].cells, ("\nStage", "Date Outcome Resolved",
                          "Supporting Evidence\n\nEmbed written confirmation between parties "
                          "about the agreed outcome"), strict=True):
        cell.text = text
    stages.cell(1, 0).text = "Stage 3"
    stages.cell(2, 0).text = "Stage 4 (to be completed by Safeguarding Partnership Business Unit)"
    stages.cell(2, 2).text = " Final decision of:"
    document.add_paragraph("Once stage 4 has concluded, the escalation notice will be completed, "
                           "and a copy of the notice will be sent to the  referrer informing "
                           "them of the decision in writing. ")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def bury_expected() -> dict:
    from datetime import date

    return {
        "date_of_notification": date(2026, 3, 2), "child_name": "Sam O\u2019Neill",
        "child_dob": date(2015, 7, 14), "referrer_name": "Jane Smith",
        "referrer_role": "Social Worker",
        "referrer_agency": "Bury Children\u2019s Services, Early Help",
        "referrer_email": "jane.smith@bury.gov.uk", "referrer_phone": "0161 234 5678",
        "safeguarding_lead_aware": True, "safeguarding_lead_name": "Peter Jones",
        "summary": BURY_HAND_ANSWERS["summary"], "earlier_stages_evidence":
        BURY_HAND_ANSWERS["evidence"], "desired_outcome": BURY_HAND_ANSWERS["outcome"],
    }


# Every field of contract section 5 filled in, as the project's own forms carry them.
FILLED = {
    "date_of_notification": date(2026, 3, 2), "child_name": "Sam O'Neill",
    "child_dob": date(2015, 7, 14), "referrer_name": "Jane Smith",
    "referrer_role": "Social worker", "referrer_agency": "Bury Children's Services",
    "referrer_email": "jane.smith@bury.gov.uk", "referrer_phone": "0161 234 5678",
    "referrer_agency_type": AgencyType.CHILDRENS_SOCIAL_CARE, "safeguarding_lead_aware": True,
    "safeguarding_lead_name": "Peter Jones", "safeguarding_lead_email": "p.jones@bury.gov.uk",
    "other_agency": "Bury Primary School", "other_agency_contact_name": "Ann Lee",
    "other_agency_contact_email": "ann.lee@school.example",
    "other_agency_type": AgencyType.SCHOOL, "disagreement_category": "Sharing of information",
    "child_protection_plan": False, "looked_after": True, "immediate_risk": False,
    "stage_reached": 2, "summary": "Line one of the summary.\nLine two.",
    "earlier_stages_evidence": "Stage 1: spoke on 3/2.\nStage 2: managers met.",
    "desired_outcome": "A strategy meeting.",
}
