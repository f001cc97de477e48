"""End-to-end fixtures: one Dovecot for the session, an SMTP server and a workdir per story."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.e2e.harness import Story
from tests.integration.conftest import dovecot, missing, tls_certificate  # noqa: F401 (fixtures)
from tests.servers.smtp import SmtpServer


@pytest.fixture
def story(dovecot, tmp_path) -> Iterator[Callable[..., Story]]:  # noqa: F811
    """Builds a Story for a policy on a fresh mailbox account and a fresh SMTP server."""
    servers: list[SmtpServer] = []

    def make(policy: str, *, address: str, business_manager: str, contacts=None) -> Story:
        smtp = SmtpServer()
        smtp.start()
        servers.append(smtp)
        return Story(policy, dovecot, smtp, dovecot.add_user(), tmp_path, address,
                     business_manager, dict(contacts or {}))

    yield make
    for server in servers:
        server.stop()
