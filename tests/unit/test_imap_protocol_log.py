"""imaplib formats its protocol lines only while imapclient's protocol logger would show them."""

from __future__ import annotations

import logging

from mailbot.adapters.imap_connection import ProtocolLogLevel


def test_imaplib_formats_protocol_lines_only_while_they_are_logged():
    logger = logging.getLogger("imapclient.imaplib")
    before = logger.level
    try:
        logger.setLevel(logging.INFO)
        assert not ProtocolLogLevel() >= 1
        logger.setLevel(logging.DEBUG)
        assert ProtocolLogLevel() >= 5
    finally:
        logger.setLevel(before)
