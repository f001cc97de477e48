"""A fake Microsoft Graph on loopback for the Graph mailbox tests, replaying Graph's documented shapes.

It answers the calls the adapter makes with the request and response shapes of the Graph v1.0
documentation: mailFolders and childFolders, message delta rounds (``@odata.nextLink`` with a
skip token, ``@odata.deltaLink`` with a delta token, ``@removed`` entries, ``Prefer:
odata.maxpagesize``), ``$value`` MIME, ``move`` answering 201 with the message under a new id,
``sendMail`` taking base64 MIME as text/plain and answering 202, and errors as
``{"error": {"code", "message"}}``. It checks the bearer token and refuses more than four
requests in flight per mailbox, as Exchange Online does. No live tenant is involved.

A test can make it throttle (429 with Retry-After for the next N requests), expire every token
issued so far (401 InvalidAuthenticationToken until a fresh one is fetched), refuse all tokens
(a revoked app), deny access (403 ErrorAccessDenied), drop the connection halfway through the
next responses, forget delta tokens (410 syncStateNotFound), and restart on the same port.
Mail is put in the way delivery does it: raw MIME bytes into a folder.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer

from tests.servers import free_port
from tests.servers.graph_handler import GraphHandler
from tests.servers.graph_store import GraphMailboxStore
from tests.servers.tls import Certificate

MAX_IN_FLIGHT = 4  # Exchange Online's MailboxConcurrency limit per app and mailbox


@dataclass
class Exchange:
    """One request as the server saw it."""

    method: str
    path: str
    status: int = 0
    started: float = 0.0
    finished: float = 0.0
    retry_after: float = 0.0


@dataclass
class Behaviour:
    """What the server should do next; read and changed under the owner's lock."""

    throttle: int = 0
    throttle_status: int = 429
    retry_after: float = 1
    drop: int = 0
    drop_matching: str = ""
    refuse_all_tokens: bool = False
    deny: str = ""
    invalid_recipients: set[str] = field(default_factory=set)
    latency: float = 0.0


class TokenSource:
    """A token provider for the adapter: caches one token until told it is invalid, like msal."""

    def __init__(self, server: GraphServer):
        self._server = server
        self._token: str | None = None
        self.fetched = 0
        self.invalidated = 0

    def __call__(self) -> str:
        if self._token is None:
            self._token = self._server.issue_token()
            self.fetched += 1
        return self._token

    def invalidate(self) -> None:
        self.invalidated += 1
        self._token = None


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, owner: GraphServer):
        self.owner = owner
        self.connections: set[socket.socket] = set()
        super().__init__((owner.host, owner.port), GraphHandler)
        if owner.certificate is not None:
            # The handshake happens in the handler's thread (finish_request), not in accept().
            self.socket = owner.certificate.server_context().wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False)

    def process_request(self, request, client_address):
        with self.owner.lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def finish_request(self, request, client_address):
        if self.owner.certificate is not None:
            request.settimeout(10)
            try:
                request.do_handshake()
            except OSError:
                return
        super().finish_request(request, client_address)

    def shutdown_request(self, request):
        with self.owner.lock:
            self.connections.discard(request)
        super().shutdown_request(request)


class GraphServer:
    """The fake Graph service at ``base_url`` (``http(s)://127.0.0.1:port/v1.0``)."""

    host = "127.0.0.1"

    def __init__(self, *, certificate: Certificate | None = None):
        self.certificate = certificate
        self.port = free_port()
        self.lock = threading.RLock()
        self.mailboxes: dict[str, GraphMailboxStore] = {}
        self.behaviour = Behaviour()
        self.exchanges: list[Exchange] = []
        self.in_flight = self.max_in_flight = 0
        self._tokens: set[str] = set()
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        scheme = "https" if self.certificate is not None else "http"
        return f"{scheme}://{self.host}:{self.port}/v1.0"

    # -- mailboxes and tokens ------------------------------------------------------------------

    def add_mailbox(self, address: str = "") -> GraphMailboxStore:
        address = address or f"partnership-{len(self.mailboxes) + 1}@council.example"
        with self.lock:
            return self.mailboxes.setdefault(address.lower(), GraphMailboxStore(address))

    def issue_token(self) -> str:
        """What the identity platform would hand our app: a token this server accepts."""
        token = f"eyJ0eXAiOiJKV1Qi.{secrets.token_urlsafe(32)}"
        with self.lock:
            self._tokens.add(token)
        return token

    def token_source(self) -> TokenSource:
        return TokenSource(self)

    def token_accepted(self, token: str) -> bool:
        with self.lock:
            return token in self._tokens and not self.behaviour.refuse_all_tokens

    # -- behaviour -----------------------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Every token issued so far has expired; a freshly fetched one works."""
        with self.lock:
            self._tokens.clear()

    def refuse_all_tokens(self, refuse: bool = True) -> None:
        """As after the app's secret was revoked: no token is good, however fresh."""
        with self.lock:
            self.behaviour.refuse_all_tokens = refuse

    def deny_access(self, message: str = "Access to OData is disabled: [RAOP] : Blocked by tenant"
                    " configured AppOnly AccessPolicy settings.") -> None:
        with self.lock:
            self.behaviour.deny = message

    def throttle(self, count: int, *, retry_after: float = 1, status: int = 429) -> None:
        """Answer the next ``count`` requests with ``status`` and a Retry-After header."""
        with self.lock:
            self.behaviour.throttle, self.behaviour.retry_after = count, retry_after
            self.behaviour.throttle_status = status

    def drop_connections(self, count: int, matching: str = "") -> None:
        """For the next ``count`` requests whose path contains ``matching``: act, then cut the
        connection halfway through the answer (before any of it, if it has no body)."""
        with self.lock:
            self.behaviour.drop, self.behaviour.drop_matching = count, matching

    def refuse_recipient(self, address: str) -> None:
        with self.lock:
            self.behaviour.invalid_recipients.add(address.lower())

    def slow_down(self, seconds: float) -> None:
        """Hold every answer this long, so concurrent requests overlap visibly."""
        with self.lock:
            self.behaviour.latency = seconds

    def forget_state_tokens(self) -> None:
        with self.lock:
            for store in self.mailboxes.values():
                store.forget_state_tokens()

    def take_drop(self, path: str) -> bool:
        with self.lock:
            behaviour = self.behaviour
            if behaviour.drop > 0 and behaviour.drop_matching in path:
                behaviour.drop -= 1
                return True
            return False

    # -- what happened -------------------------------------------------------------------------

    def statuses(self) -> list[int]:
        with self.lock:
            return [e.status for e in self.exchanges]

    def requests_to(self, fragment: str) -> list[Exchange]:
        with self.lock:
            return [e for e in self.exchanges if fragment in e.path]

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self._httpd = _HttpServer(self)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"graph-server-{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        with self.lock:
            connections = list(httpd.connections)
        for connection in connections:  # keep-alive connections would otherwise live on
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def restart(self) -> None:
        self.stop()
        time.sleep(0.1)
        self.start()

    def __enter__(self) -> GraphServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
