"""read_message_id, the store's fast header reader, agrees with the email package's parser.

Storing a batch reads only the Message-ID; that reader is hand-written for speed, so the
oracle here is what the ``email`` parser (compat32, as parse_message falls back to) makes of
the same bytes: every real message in the shared corpora, and the awkward shapes below.
"""

from __future__ import annotations

from email.parser import BytesHeaderParser
from email.policy import compat32

import pytest
from mail_corpora import corpus

from mailbot.intake.headers import RawHeaders, normalise_message_id
from mailbot.intake.message_id import read_message_id


def _by_the_email_parser(data: bytes) -> str:
    headers = BytesHeaderParser(policy=compat32).parsebytes(data)
    return normalise_message_id(RawHeaders(headers).first("message-id") or "")


AWKWARD = {
    "plain": b"From: a@b\r\nMessage-ID: <one@x>\r\n\r\nbody\r\n",
    "bare LF": b"From: a@b\nMessage-ID: <one@x>\n\nbody\n",
    "bare CR": b"From: a@b\rMessage-ID: <one@x>\r\rbody\r",
    "lowercase name": b"message-id: <low@x>\n\n",
    "folded": b"Message-ID:\r\n <folded@x>\r\nSubject: s\r\n\r\n",
    "folded with tab": b"Message-ID: <half\r\n\t@x>\r\n\r\n",
    "first of two": b"Message-ID: <first@x>\nMessage-ID: <second@x>\n\n",
    "only in the body": b"Subject: s\n\nMessage-ID: <body@x>\n",
    "after a header-less line": b"Subject: s\nnot a header\nMessage-ID: <late@x>\n\n",
    "space before the colon": b"Message-ID : <spaced@x>\n\n",
    "mbox separator": b"From someone Mon Jan  1 00:00:00 2026\nMessage-ID: <mbox@x>\n\n",
    "starts with a continuation": b" stray\nMessage-ID: <cont@x>\n\n",
    "starts blank": b"\nMessage-ID: <blank@x>\n",
    "no body": b"Message-ID: <nobody@x>",
    "none": b"Subject: nothing\n\nbody",
    "empty": b"",
    "eight-bit": "Message-ID: <caf\u00e9@x>\n\n".encode(),
    "not UTF-8": b"Message-ID: <\xff\xfe@x>\n\n",
    "no brackets": b"Message-ID: bare@x\n\n",
    "empty value": b"Message-ID:\n\n",
    "CRLF line then CR": b"Subject: s\r\n\rMessage-ID: <after@x>\r\n\r\n",
    "NUL in the value": b"Message-ID: <n\x00ul@x>\n\n",
}


@pytest.mark.parametrize("name", AWKWARD)
def test_awkward_headers_read_as_the_email_parser_reads_them(name):
    data = AWKWARD[name]
    assert read_message_id(data) == _by_the_email_parser(data)


def test_every_message_in_the_corpora_reads_as_the_email_parser_reads_it():
    paths = [path for folder in (corpus("set-of-emails", "maildir"),
                                 corpus("mail-parser", "tests", "mails"),
                                 corpus("talon", "tests", "fixtures"))
             for path in sorted(folder.rglob("*")) if path.is_file()]
    assert len(paths) > 700
    differing = [path.name for path in paths
                 if read_message_id(path.read_bytes()) != _by_the_email_parser(path.read_bytes())]
    assert differing == []
