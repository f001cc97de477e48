"""Real mail servers on loopback for the integration tests: a private Dovecot, aiosmtpd.

Each helper starts a process or thread it owns, listens only on 127.0.0.1, and stops what it
started by its own handle, so a test run leaves nothing behind.
"""

import socket
from collections.abc import Callable, Iterator
from typing import Any


def free_port() -> int:
    """Ask the kernel for a free TCP port on loopback.

    The port is released before the server binds it; the window is tiny and the servers set
    SO_REUSEADDR, which is the usual trade-off for tests.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def started_servers(factory: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    """The body of a fixture that hands a test ``start(**options)``: each call builds a server
    with ``factory(**options)`` and starts it; every one started is stopped when the test ends."""
    started = []

    def start(**options):
        server = factory(**options)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
