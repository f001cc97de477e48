"""The policy inbound mail is parsed with (``intake/parse_policy.py``): the default policy's
headers, each value read by the header registry once per message, nothing kept after it."""

from __future__ import annotations

from email import message_from_bytes
from email.headerregistry import HeaderRegistry
from email.policy import default

import pytest

from mailbot.intake import message as message_module
from mailbot.intake.message import parse_message
from mailbot.intake.parse_policy import for_one_message

WITH_A_FORM = (b"From: Jane Smith <jane@agency.test>\r\nTo: bsp@bury.example\r\n"
               b"Subject: Request for Resolution\r\nMIME-Version: 1.0\r\n"
               b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
               b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease see the form.\r\n"
               b"--b1\r\nContent-Type: application/vnd.openxmlformats-officedocument"
               b".wordprocessingml.document; name=\"form.docx\"\r\n"
               b"Content-Disposition: attachment; filename=\"form.docx\"\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\nUEsDBAo=\r\n--b1--\r\n")


class CountingRegistry(HeaderRegistry):
    def __init__(self) -> None:
        super().__init__()
        self.made: list[tuple[str, str]] = []

    def __call__(self, name, value):
        self.made.append((name.lower(), value))
        return super().__call__(name, value)


@pytest.fixture
def counted(monkeypatch) -> list[tuple[str, str]]:
    """Every header the parse of a message makes with the registry."""
    registry = CountingRegistry()
    monkeypatch.setattr(message_module, "for_one_message",
                        lambda: for_one_message().clone(header_factory=registry))
    return registry.made


def test_each_header_of_a_message_is_read_by_the_registry_once(counted):
    parsed = parse_message(WITH_A_FORM)

    assert [a.filename for a in parsed.attachments] == ["form.docx"]
    assert counted, "the parse went through the registry"
    assert len(counted) == len(set(counted))  # the feed parser asked for Content-Type 20 times


def test_headers_read_the_same_as_under_the_default_policy():
    ours = message_from_bytes(WITH_A_FORM, policy=for_one_message())
    theirs = message_from_bytes(WITH_A_FORM, policy=default)
    for mine, other in zip(ours.walk(), theirs.walk(), strict=True):
        assert mine.items() == other.items()
        assert (mine.get_content_type(), mine.get_filename(), mine.get_boundary()) == (
            other.get_content_type(), other.get_filename(), other.get_boundary())


def test_no_header_read_from_one_message_is_kept_for_the_next():
    first, second = for_one_message(), for_one_message()
    message_from_bytes(WITH_A_FORM, policy=first)["subject"]
    assert first.read and not second.read
