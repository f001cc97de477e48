"""Fixtures that start real mail servers on loopback for the integration tests.

Dovecot instances are started once per test session (each test gets its own fresh account);
SMTP servers are cheap and start per test. Every server is stopped by the handle that started
it. A missing Dovecot skips the tests that need it, except under CI=true, where it fails them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# The helpers live in tests/servers; make the project root importable however pytest is run.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.servers import started_servers  # noqa: E402
from tests.servers.dovecot import (  # noqa: E402
    EXCHANGE_CAPABILITY,
    MINIMAL_CAPABILITY,
    DovecotServer,
    dovecot_binary,
)
from tests.servers.smtp import SmtpServer  # noqa: E402
from tests.servers.tls import Certificate, make_certificate  # noqa: E402


def missing(what: str) -> None:
    """Skip for a missing server, but fail under CI, where everything must be installed."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is required under CI=true")
    pytest.skip(f"{what} is not installed")


@pytest.fixture(scope="session")
def tls_certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost; trust it with client_context()."""
    return make_certificate(tmp_path_factory.mktemp("tls"))


def _dovecot(certificate: Certificate, **options) -> Iterator[DovecotServer]:
    if dovecot_binary() is None:
        missing("Dovecot (dovecot-imapd)")
    server = DovecotServer(certificate, **options)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def dovecot(tls_certificate: Certificate) -> Iterator[DovecotServer]:
    """Dovecot with everything it offers: IDLE, MOVE, UIDPLUS, NAMESPACE, STARTTLS, TLS port."""
    yield from _dovecot(tls_certificate)


@pytest.fixture(scope="session")
def dovecot_exchange_like(tls_certificate: Certificate) -> Iterator[DovecotServer]:
    """Dovecot advertising only what Exchange Online offers, and refusing custom keywords."""
    yield from _dovecot(tls_certificate, capability=EXCHANGE_CAPABILITY,
                        extra_config="mail_max_keyword_length = 0\n")


@pytest.fixture(scope="session")
def dovecot_minimal(tls_certificate: Certificate) -> Iterator[DovecotServer]:
    """Dovecot advertising bare IMAP4rev1: no IDLE, MOVE or UIDPLUS (polling and \\Flagged)."""
    yield from _dovecot(tls_certificate, capability=MINIMAL_CAPABILITY)


@pytest.fixture
def start_smtp_server() -> Iterator[Callable[..., SmtpServer]]:
    """Start SmtpServer(**options) servers that are all stopped when the test ends."""
    yield from started_servers(SmtpServer)


@pytest.fixture
def smtp_server(start_smtp_server: Callable[..., SmtpServer]) -> SmtpServer:
    """Plain SMTP on 127.0.0.1 capturing every message in ``received``."""
    return start_smtp_server()


@pytest.fixture
def flaky_smtp_server(start_smtp_server: Callable[..., SmtpServer]) -> SmtpServer:
    """Answers the first two transactions with 421 then 451, and accepts from the third on."""
    server = start_smtp_server()
    server.fail_next("421 4.3.2 Service not available, closing channel",
                     "451 4.7.1 Greylisted, please try again later")
    return server


@pytest.fixture
def rejecting_smtp_server(start_smtp_server: Callable[..., SmtpServer]) -> SmtpServer:
    """Refuses every recipient with 550."""
    server = start_smtp_server()
    server.refuse_everyone("550 5.1.1 Mailbox unavailable")
    return server
