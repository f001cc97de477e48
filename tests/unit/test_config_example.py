"""config.example.toml loads as it is, and each commented worked example is a valid config."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from mailbot.config import Settings, load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
BLOCK = re.compile(r"^# --- example: (?P<name>[\w-]+) ---\n(?P<body>.*?)^# --- end of example ---$",
                   re.MULTILINE | re.DOTALL)


def _examples() -> dict[str, str]:
    text = EXAMPLE.read_text(encoding="utf-8")
    return {match["name"]: _uncommented(match["body"]) for match in BLOCK.finditer(text)}


def _uncommented(body: str) -> str:
    lines = []
    for line in body.splitlines():
        assert line.startswith("#"), f"an example line is not commented out: {line!r}"
        lines.append(line[2:] if line.startswith("# ") else "")
    return "\n".join(lines) + "\n"


def test_the_example_config_loads_as_shipped():
    settings = load_settings(EXAMPLE)
    assert [m.name for m in settings.mailbox] == ["bury"]
    assert settings.mailbox[0].send_via == "outgoing" and settings.outgoing.auth == "password"


def test_the_example_config_has_both_worked_examples():
    assert set(_examples()) == {"microsoft-365", "exchange-on-premises"}


def test_the_microsoft_365_example_is_a_valid_config():
    settings = Settings.model_validate(tomllib.loads(_examples()["microsoft-365"]))
    bury, hackney = settings.mailbox
    assert settings.outgoing.auth == "oauth2" and settings.outgoing.oauth is not None
    assert (bury.kind, bury.auth, bury.oauth.scope) == ("imap", "oauth2", "https://outlook.office365.com/.default")
    assert (hackney.kind, hackney.send_via) == ("graph", "graph")
    assert hackney.graph.scope == "https://graph.microsoft.com/.default"
    assert hackney.oauth.certificate_thumbprint


def test_the_exchange_on_premises_example_is_a_valid_config():
    [bromley] = Settings.model_validate(tomllib.loads(_examples()["exchange-on-premises"])).mailbox
    assert (bromley.kind, bromley.send_via, bromley.ews.auth_type) == ("ews", "ews", "ntlm")
    assert bromley.username == "BROMLEY\\svc-mailbot"


@pytest.mark.parametrize("key", ["auth", "oauth", "graph", "ews", "send_via", "ca_file",
                                 "client_secret_env", "certificate_path", "certificate_thumbprint",
                                 "certificate_password_env", "authority_host", "scope",
                                 "service_endpoint", "auth_type", "max_concurrent_requests"])
def test_every_microsoft_key_is_documented(key):
    assert re.search(rf"^#? ?(\[\w+\.)?{key}\b", EXAMPLE.read_text(), re.MULTILINE), key
