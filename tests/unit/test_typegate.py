"""The type gate: what an attachment is, decided from its bytes, and the budgets around it."""

import io
import time
import tracemalloc
import zipfile

import form_samples as S
import pytest

from mailbot.domain.errors import FormError
from mailbot.intake.docx_form import read_form_attachment
from mailbot.intake.form_builder import build_form
from mailbot.intake.typegate import Budgets, open_docx, parse_xml
from tests.corpora import CORPORA

CRYPTO = CORPORA / "msoffcrypto-tool" / "tests"


def refusal(data: bytes, budgets: Budgets | None = None) -> FormError:
    with pytest.raises(FormError) as caught:
        open_docx(data, budgets) if budgets else open_docx(data)
    return caught.value


def test_a_word_document_goes_through_the_gate():
    package = open_docx(build_form("bury"))
    assert package.main_part == "word/document.xml"


def test_a_zip_bomb_is_refused_before_inflating():
    bomb = S.zip_bomb()
    assert len(bomb) < 2 * 1024 * 1024  # a mebibyte that claims a gibibyte
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(FormError) as caught:
        read_form_attachment(bomb)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert caught.value.code == "too_large_inflated"
    assert "unpack" in caught.value.reply_text
    assert elapsed < 0.5 and peak < 16 * 1024 * 1024


def test_a_zip_bomb_within_the_size_budget_is_refused_for_its_compression_ratio():
    bomb = S.zip_bomb(inflated=64 << 20)
    assert refusal(bomb).code == "compression_ratio"


def test_a_part_that_inflates_past_its_declared_size_is_refused_as_damaged():
    lying = S.lying_zip()
    tracemalloc.start()
    with pytest.raises(FormError) as caught:
        read_form_attachment(lying)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert caught.value.code == "corrupt"
    assert peak < 16 * 1024 * 1024  # the 50 MiB it holds were never inflated


def test_too_many_zip_entries_are_refused():
    data = S.package(S.document(""), extra={f"junk/{i}.xml": b"<a/>" for i in range(50)})
    assert refusal(data, Budgets(max_entries=20)).code == "too_many_entries"


def test_an_attachment_over_the_size_budget_is_refused_unread():
    assert refusal(build_form("bury"), Budgets(max_bytes=1000)).code == "too_large"


def test_an_xml_entity_bomb_gets_its_own_refusal():
    with pytest.raises(FormError) as caught:
        read_form_attachment(S.entity_bomb())
    assert caught.value.code == "xml_entities"
    assert "entity" in caught.value.reply_text


def test_an_external_entity_is_refused_without_reaching_the_file():
    xml = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b"<d>&x;</d>")
    with pytest.raises(FormError) as caught:
        parse_xml(xml)
    assert caught.value.code == "xml_entities"


def test_xml_nested_deeper_than_any_form_is_refused():
    with pytest.raises(FormError) as caught:
        read_form_attachment(S.deep_document())
    assert caught.value.code == "xml_too_deep"


@pytest.mark.parametrize("name", ["ecma376standard_password.docx", "example_password.docx"])
def test_an_encrypted_docx_is_refused_with_advice_to_remove_the_password(name):
    error = refusal((CRYPTO / "inputs" / name).read_bytes())
    assert error.code == "encrypted"
    assert "password" in error.reply_text


@pytest.mark.parametrize("name", ["plain.doc", "rc4cryptoapi_password.doc"])
def test_a_word_97_doc_is_refused_with_advice_to_save_as_docx(name):
    error = refusal((CRYPTO / "inputs" / name).read_bytes())
    assert error.code == "doc"
    assert ".docx" in error.reply_text and "97-2003" in error.reply_text


def test_a_pdf_is_refused_and_told_to_send_the_word_form():
    error = refusal(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n%%EOF")
    assert error.code == "pdf"
    assert "PDF" in error.reply_text and ".docx" in error.reply_text


def test_a_docm_with_macros_is_refused():
    error = refusal(S.macro_document())
    assert error.code == "macros"
    assert "macros" in error.reply_text


def test_a_docx_carrying_a_vba_project_is_refused_even_if_it_claims_to_be_plain():
    data = S.package(S.document(""), extra={"word/vbaProject.bin": b"x"})
    assert refusal(data).code == "macros"


def test_an_outlook_message_is_refused_with_advice_to_attach_the_form():
    msg = (CORPORA / "mail-parser" / "tests" / "mails" / "mail_outlook_1").read_bytes()
    error = refusal(msg)
    assert error.code == "msg"
    assert "Outlook" in error.reply_text


@pytest.mark.parametrize(("data", "code"), [
    (b"\x89PNG\r\n\x1a\n" + bytes(40), "image"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(40), "image"),
    (b"GIF89a" + bytes(40), "image"),
    (b"{\\rtf1\\ansi hello}", "rtf"),
    (b"", "empty"),
    (b"Child's name: Sam", "unknown"),
    (b"PK\x03\x04 not really a zip", "corrupt"),
])
def test_other_files_each_get_a_refusal_naming_what_was_received(data, code):
    error = refusal(data)
    assert error.code == code
    assert error.reply_text.startswith("The attachment you sent is ")


def test_a_plain_zip_archive_is_not_taken_for_a_form():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("form.docx", b"whatever")
    assert refusal(out.getvalue()).code == "zip"


def test_an_odt_is_refused_with_advice_to_save_as_docx():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", b"application/vnd.oasis.opendocument.text")
    error = refusal(out.getvalue())
    assert error.code == "odt" and ".docx" in error.reply_text


def test_every_refusal_has_a_distinct_code():
    samples = {
        "pdf": b"%PDF-1.7", "macros": S.macro_document(),
        "doc": (CRYPTO / "inputs" / "plain.doc").read_bytes(),
        "encrypted": (CRYPTO / "inputs" / "example_password.docx").read_bytes(),
    }
    codes = {refusal(data).code for data in samples.values()}
    assert codes == set(samples)
