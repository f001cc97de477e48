"""Each adversarial test runs twice: on a local Maildir and on a real Dovecot over IMAP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.conftest import dovecot, missing, tls_certificate  # noqa: F401 (fixtures)
from tests.security.world import World
from tests.servers.smtp import SmtpServer


@pytest.fixture(params=["maildir", "dovecot"])
def world(request, tmp_path) -> Iterator[World]:
    server = request.getfixturevalue("dovecot") if request.param == "dovecot" else None
    smtp = SmtpServer()
    smtp.start()
    try:
        yield World(request.param, tmp_path, smtp, server)
    finally:
        smtp.stop()
