"""The type gate in front of every form reader: decide from the bytes what an attachment is.

Only a Word .docx goes on. Everything else (macro-enabled .docm, password-protected files,
Word 97 .doc, PDF, Outlook .msg, images, other archives) is refused with a ``FormError`` whose
``reply_text`` says what was received and what to send instead, and whose ``code`` names the
case. Budgets on size, zip entries, inflated size, compression ratio and XML shape are checked
before any part is inflated or parsed. Attachment names and declared content types are never
consulted, and never used as paths.
"""

from __future__ import annotations

import functools
import io
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType

from lxml import etree

from mailbot.domain.errors import FormError

MIB = 1024 * 1024
_INSTEAD = ("Please send the Request for Resolution form as a Word document (.docx), or write "
            "the answers in the body of an email as \"Label: value\" lines.")


@dataclass(frozen=True)
class Budgets:
    """Limits that keep one hostile attachment from costing the worker time or memory."""

    max_bytes: int = 20 * MIB
    max_entries: int = 1000
    max_total_inflated: int = 100 * MIB
    max_part_inflated: int = 40 * MIB
    max_ratio: int = 200
    # Small entries compress extremely well by nature (a run of spaces); only big ones are judged.
    ratio_floor: int = 2 * MIB
    # The document itself, and what reading it may cost (issue 14): a 1.9 MB file holding
    # 38 MiB of empty table cells passed every budget above and took 15 to 22 s and 800 MB to
    # read. A Request for Resolution's main part is tens of KB, with a few hundred cells and
    # paragraphs; these are a hundred times that, and reading stops the moment one is passed.
    max_document_part: int = 4 * MIB
    max_cells: int = 10_000
    max_paragraphs: int = 20_000
    max_seconds: float = 5.0


DEFAULT_BUDGETS = Budgets()


def refuse(code: str, received: str, advice: str = _INSTEAD) -> FormError:
    return FormError(f"The attachment you sent is {received}, which mailbot cannot read. {advice}",
                     code=code)


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_IMAGES = ((b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
           (b"GIF87a", "a GIF image"), (b"GIF89a", "a GIF image"), (b"II*\x00", "a TIFF image"),
           (b"MM\x00*", "a TIFF image"), (b"BM", "a BMP image"))


def _ole_has(data: bytes, name: str) -> bool:
    # Compound-file directory entries hold their names in UTF-16LE, so a byte search finds them
    # without parsing a structure an attacker controls.
    return name.encode("utf-16-le") in data


def _refuse_ole(data: bytes) -> FormError:
    if _ole_has(data, "EncryptedPackage") or _ole_has(data, "EncryptionInfo"):
        return refuse("encrypted", "a password-protected (encrypted) Office document",
                      "Please remove the password (in Word: File > Info > Protect Document > "
                      "Encrypt with Password, and clear it) and send the .docx again.")
    if _ole_has(data, "__substg1.0_") or _ole_has(data, "__properties_version1.0"):
        return refuse("msg", "an Outlook message (.msg)",
                      "Please attach the Word form itself (.docx), or forward the email with "
                      "the form attached instead of attaching the email.")
    if _ole_has(data, "WordDocument"):
        return refuse("doc", "an older Word 97-2003 document (.doc)",
                      "Please open it in Word, choose File > Save As > Word Document (.docx), "
                      "remove any password, and send the .docx.")
    if _ole_has(data, "Workbook"):
        return refuse("spreadsheet", "an Excel spreadsheet")
    return refuse("ole", "an older Office file that is not a Word document")


def _refuse_by_magic(data: bytes) -> FormError | None:
    """A refusal for a recognised non-zip format, or None when it may be a zip package."""
    head = data[:1024].lstrip()
    if not data:
        return refuse("empty", "empty (0 bytes)")
    if data.startswith(_OLE_MAGIC):
        return _refuse_ole(data)
    if b"%PDF-" in data[:1024]:
        return refuse("pdf", "a PDF file", "Please send the Word form (.docx) itself rather than "
                      "a PDF or a scan of it, or write the answers in the body of an email as "
                      "\"Label: value\" lines.")
    for magic, what in _IMAGES:
        if data.startswith(magic):
            return refuse("image", what, _PHOTO)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" or data[4:12] in (b"ftypheic", b"ftypmif1"):
        return refuse("image", "an image", _PHOTO)
    if head.startswith(b"{\\rtf"):
        return refuse("rtf", "a Rich Text document (.rtf)", _SAVE_AS)
    if not data.startswith(b"PK\x03\x04") and not data.startswith(b"PK\x05\x06"):
        return refuse("unknown", "not a Word document")
    return None


OVER_BUDGET = ("Please send the partnership's Request for Resolution form (a blank one is attached)"
               " with just your answers in it, on its own, or write the answers in the body of an"
               " email as \"Label: value\" lines.")
_PHOTO = ("Please send the Word form (.docx) itself rather than a photo or scan of it, or "
          "write the answers in the body of an email as \"Label: value\" lines.")
_SAVE_AS = ("Please save it as a Word Document (.docx) and send that, or write the answers in "
            "the body of an email as \"Label: value\" lines.")


def _open_zip(data: bytes, budgets: Budgets) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as error:
        raise refuse("corrupt", "damaged (its contents cannot be opened)") from error
    if len(infos) > budgets.max_entries:
        raise refuse("too_many_entries", f"an archive of {len(infos)} parts, far more than a "
                     "Word form has")
    inflated = sum(i.file_size for i in infos)
    if inflated > budgets.max_total_inflated:
        raise refuse("too_large_inflated", f"a file that would unpack to {inflated // MIB} MiB, "
                     "far more than a Word form")
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > budgets.ratio_floor and ratio > budgets.max_ratio:
            raise refuse("compression_ratio", "compressed far more tightly than any Word form "
                         "(it looks like a zip bomb)")
    if inflated > budgets.ratio_floor and inflated / max(len(data), 1) > budgets.max_ratio:
        raise refuse("compression_ratio", "compressed far more tightly than any Word form "
                     "(it looks like a zip bomb)")
    return archive


_MAIN_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml": "docx",
    "application/vnd.ms-word.document.macroenabled.main+xml": "docm",
    "application/vnd.ms-word.template.macroenabledtemplate.main+xml": "docm",
}
_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                               load_dtd=False, dtd_validation=False, remove_pis=True)


@dataclass(frozen=True)
class DocxPackage:
    """A zip that passed the gate: a Word document whose parts can be read within budget."""

    archive: zipfile.ZipFile
    main_part: str
    budgets: Budgets

    def has(self, name: str) -> bool:
        return name in self._names

    @cached_property
    def _names(self) -> frozenset[str]:
        return frozenset(self.archive.namelist())

    def read(self, name: str) -> bytes:
        """One part's bytes, never more than its declared size nor the per-part budget."""
        info = self.archive.getinfo(name)
        if info.file_size > self.budgets.max_part_inflated:
            raise refuse("too_large_inflated", "a document with a part too large to read")
        try:
            with self.archive.open(info) as part:
                return part.read(info.file_size + 1)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError,
                NotImplementedError) as error:
            raise refuse("corrupt", "damaged (a part of it cannot be unpacked)") from error

    def xml(self, name: str) -> etree._Element:
        return parse_xml(self.read(name))


_DTD_MARKERS = tuple(m.encode(codec) for m in ("<!DOCTYPE", "<!ENTITY")
                     for codec in ("utf-8", "utf-16-le", "utf-16-be"))


def parse_xml(data: bytes) -> etree._Element:
    """Parse one XML part without entities, DTDs, network or unbounded depth."""
    # Every marker holds the byte "!" in UTF-8 and in UTF-16 of either byte order; a part
    # without one (nearly every part) is cleared by one memchr rather than six slower scans.
    if b"!" in data and any(marker in data for marker in _DTD_MARKERS):
        # Office never writes a DTD; one here is an entity bomb or an attempt to reach files.
        raise refuse("xml_entities", "a document carrying XML entity declarations, which Word "
                     "never writes (it may be an attack)")
    try:
        root = etree.fromstring(data, _SAFE_PARSER)
    except etree.XMLSyntaxError as error:
        if "depth" in str(error).lower():
            raise refuse("xml_too_deep", "a document nested far deeper than any Word "
                         "form") from error
        raise refuse("corrupt", "damaged (its text cannot be parsed)") from error
    if root is None:
        raise refuse("corrupt", "damaged (a part of it is empty)")
    if root.getroottree().docinfo.internalDTD is not None:
        raise refuse("xml_entities", "a document carrying XML entity declarations, which Word "
                     "never writes (it may be an attack)")
    return root


def _main_part(archive: zipfile.ZipFile) -> tuple[str, str]:
    """(part name, kind) of the package's main document, via its relationships."""
    names = set(archive.namelist())
    probe = DocxPackage(archive, "", DEFAULT_BUDGETS)
    if "[Content_Types].xml" not in names:
        if "mimetype" in names and b"opendocument" in probe.read("mimetype"):
            raise refuse("odt", "an OpenDocument file (.odt)", _SAVE_AS)
        raise refuse("zip", "a zip archive, not a Word document")
    overrides = _overrides(probe.read("[Content_Types].xml"))
    target = _office_document_target(probe, names)
    if target is None:
        target = next((p for p, t in overrides.items() if t in _MAIN_TYPES), None)
    content_type = overrides.get(target or "", "")
    return target or "", _kind_of(content_type, names)


def _office_document_target(probe: DocxPackage, names: set[str]) -> str | None:
    if "_rels/.rels" not in names:
        return None
    target = _office_target(probe.read("_rels/.rels"))
    return target if target is not None and target in names else None


# One program writes the same content types and relationships into every file it saves, so
# each set of bytes is parsed once (issue 18); a part that is refused is not kept.
@functools.lru_cache(maxsize=256)
def _overrides(data: bytes) -> Mapping[str, str]:
    return MappingProxyType({o.get("PartName", "").lstrip("/"): o.get("ContentType", "").lower()
                             for o in parse_xml(data) if str(o.tag).endswith("Override")})


@functools.lru_cache(maxsize=256)
def _office_target(data: bytes) -> str | None:
    for rel in parse_xml(data):
        if str(rel.get("Type", "")).endswith("/officeDocument"):
            return str(rel.get("Target", "")).lstrip("/")
    return None


def _kind_of(content_type: str, names: set[str]) -> str:
    if "spreadsheetml" in content_type or "ms-excel" in content_type:
        return "spreadsheet"
    if "presentationml" in content_type or "ms-powerpoint" in content_type:
        return "presentation"
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        return "docm"
    return _MAIN_TYPES.get(content_type, "unknown")


def open_docx(data: bytes, budgets: Budgets = DEFAULT_BUDGETS) -> DocxPackage:
    """The gate: a ``DocxPackage`` for a readable .docx, else a ``FormError`` saying why not."""
    if len(data) > budgets.max_bytes:
        raise refuse("too_large", f"{len(data) // MIB} MiB, larger than any form needs to be")
    if (refusal := _refuse_by_magic(data)) is not None:
        raise refusal
    archive = _open_zip(data, budgets)
    part, kind = _main_part(archive)
    if part and archive.getinfo(part).file_size > budgets.max_document_part:
        size = archive.getinfo(part).file_size / MIB
        raise refuse("too_large_document", f"a Word document whose text and tables unpack to"
                     f" {size:.0f} MiB, far more than a Request for Resolution", OVER_BUDGET)
    if kind == "docm":
        raise refuse("macros", "a Word document with macros (.docm)",
                     "Please save it as a Word Document (.docx), which carries no macros, and "
                     "send that.")
    if kind in ("spreadsheet", "presentation"):
        raise refuse(kind, f"an Office {kind}, not a Word document")
    if kind != "docx" or not part:
        raise refuse("unknown", "a zip package that is not a Word document")
    return DocxPackage(archive, part, budgets)
