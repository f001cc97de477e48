"""bootstrap builds an IMAP mailbox as its [[mailbox]] table says (nothing here connects)."""

from __future__ import annotations

import pytest

from mailbot.bootstrap import build_mailbox
from mailbot.config import Settings


def _settings(**options) -> Settings:
    mailbox = {"name": "bury", "address": "bsp@bury.example", "policy": "bury", "kind": "imap",
               "host": "127.0.0.1", "security": "none", "password_env": "IMAP_PASSWORD",
               "business_managers": ["bm@bury.example"], "sender_trust": "none", **options}
    return Settings.model_validate({"mailbox": [mailbox], "outgoing": {"kind": "directory"}})


@pytest.mark.parametrize(("written", "idles"), [({}, True), ({"idle": True}, True), ({"idle": False}, False)])
def test_the_idle_key_decides_whether_an_imap_mailbox_waits_with_idle_or_polls(monkeypatch, written, idles):
    monkeypatch.setenv("IMAP_PASSWORD", "pw")
    settings = _settings(**written)
    assert build_mailbox(settings, settings.mailbox[0]).use_idle is idles
