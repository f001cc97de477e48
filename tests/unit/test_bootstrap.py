"""bootstrap builds the adapters as the config says, and refuses to start on what would fail
later: an IMAP mailbox as its [[mailbox]] table says (nothing here connects), and a templates
folder that lacks a template."""

from __future__ import annotations

import shutil

import pytest

from mailbot.bootstrap import bootstrap, build_mailbox
from mailbot.config import Settings
from mailbot.domain.errors import ConfigError
from mailbot.shipped import shipped_dir


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


def test_a_templates_folder_missing_a_template_is_refused_at_start(tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(shipped_dir("templates"), templates)
    (templates / "stage_notice.html").unlink()
    settings = Settings.model_validate({
        "database": {"url": f"sqlite:///{tmp_path / 'mailbot.sqlite3'}"},
        "templates_dir": str(templates), "outgoing": {"kind": "directory"},
        "mailbox": [{"name": "bury", "address": "bsp@bury.example", "policy": "bury", "kind": "maildir",
                     "path": str(tmp_path / "maildir"), "business_managers": ["bm@bury.example"],
                     "sender_trust": "none"}]})
    with pytest.raises(ConfigError) as refused:
        bootstrap(settings)
    assert refused.value.key == "templates_dir" and "stage_notice.html" in refused.value.problem
    shutil.copy(shipped_dir("templates") / "stage_notice.html", templates)
    assert bootstrap(settings).services.mailboxes["bury"].policy.key == "bury"
