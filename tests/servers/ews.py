"""A fake Exchange Server (EWS) on loopback, for the EWS adapter's tests.

It speaks SOAP over HTTP (or HTTPS with the test certificate) at ``/EWS/Exchange.asmx``,
answers the operations exchangelib sends with the request and response shapes of Microsoft's
EWS reference (see ``ews_soap``), and logs in with NTLM (the on-premises default, checked for
real by ``ntlm``), Basic, or an OAuth2 bearer token. Mail is delivered into it as raw MIME, the
way transport would. It can be told to refuse every login (HTTP 401), to answer the next
requests with ErrorServerBusy and a BackOffMilliseconds hint, or to drop the connection
before or after doing what a request asked. Every SOAP request is kept in ``requests``.
No live tenant or server was used to write it: the shapes come from the published reference.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import http.server
import socket
import threading
import time
from dataclasses import dataclass, field
from xml.etree import ElementTree

from tests.servers import free_port
from tests.servers.ews_operations import handle_operation
from tests.servers.ews_soap import SOAP, OperationContext, busy_fault
from tests.servers.ews_store import Mailstore, SentMessage
from tests.servers.ntlm import NtlmAcceptor
from tests.servers.tls import Certificate

PATH = "/EWS/Exchange.asmx"


@dataclass(frozen=True)
class RecordedRequest:
    operation: str
    xml: bytes
    user: str


@dataclass
class _Faults:
    """What to do to the next requests; each entry is used once, in order."""

    busy: collections.deque[int] = field(default_factory=collections.deque)  # back-off ms
    # "before": close without doing anything; "after": do it, then close without answering.
    drops: collections.deque[tuple[str, str | None]] = field(default_factory=collections.deque)
    refuse_logins: bool = False


class EwsServer:
    """One mailbox (``address``) served to one account; ``auth`` is ntlm, basic or bearer."""

    host = "127.0.0.1"

    def __init__(self, address: str = "bsp@bury.example", *, username: str = "",
                 password: str = "Passw0rd!", auth: str = "ntlm",
                 certificate: Certificate | None = None, id_length: int = 152):
        self.address, self.username, self.password = address, username or address, password
        self.auth, self.certificate = auth, certificate
        self.tokens: set[str] = set()  # bearer tokens accepted when auth == "bearer"
        self.store = Mailstore(id_length=id_length)
        self.requests: list[RecordedRequest] = []
        self.faults = _Faults()
        self.port = free_port()
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._httpd: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.certificate else "http"
        return f"{scheme}://{self.host}:{self.port}{PATH}"

    # -- life --------------------------------------------------------------------------------

    def start(self) -> None:
        handler = type("BoundHandler", (_Handler,), {"server_state": self})
        httpd = http.server.ThreadingHTTPServer((self.host, self.port), handler)
        httpd.daemon_threads = True
        if self.certificate is not None:
            httpd.socket = self.certificate.server_context().wrap_socket(httpd.socket,
                                                                         server_side=True)
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"ews-server-{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:  # keep-alive connections would otherwise live on
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def restart(self) -> None:
        """Stop (cutting every open connection) and start again on the same port, mail kept."""
        self.stop()
        time.sleep(0.1)
        self.start()

    # -- mail, as transport and people see it ------------------------------------------------

    def deliver(self, mime: bytes, folder: str = "Inbox") -> str:
        """Put a message into ``folder`` (a path under the Top of Information Store)."""
        target = self.store.path(folder, create=True)
        return self.store.deliver(mime, target.id).id

    def messages(self, folder: str = "Inbox") -> list[bytes]:
        target = self.store.path(folder)
        return [] if target is None else [i.mime for i in self.store.items_in(target.id)]

    def recreate_folder(self, folder: str) -> None:
        target = self.store.path(folder)
        if target is not None:
            self.store.delete_folder(target.id)
        self.store.path(folder, create=True)

    @property
    def sent(self) -> list[SentMessage]:
        return list(self.store.sent)

    def operations(self) -> list[str]:
        with self._lock:
            return [r.operation for r in self.requests]

    # -- faults ------------------------------------------------------------------------------

    def busy_next(self, count: int = 1, back_off_ms: int = 1000) -> None:
        self.faults.busy.extend([back_off_ms] * count)

    def drop_next(self, count: int = 1, *, when: str = "before", operation: str | None = None) -> None:
        """Close the connection on the next ``count`` requests (of ``operation``, if given)."""
        self.faults.drops.extend([(when, operation)] * count)

    def refuse_logins(self, refuse: bool = True) -> None:
        self.faults.refuse_logins = refuse

    # -- used by the handler -----------------------------------------------------------------

    def _record(self, operation: str, xml: bytes, user: str) -> None:
        with self._lock:
            self.requests.append(RecordedRequest(operation, xml, user))

    def _take_drop(self, operation: str) -> str | None:
        with self._lock:
            drops = self.faults.drops
            if drops and drops[0][1] in (None, operation):
                return drops.popleft()[0]
            return None

    def _take_busy(self) -> int | None:
        with self._lock:
            return self.faults.busy.popleft() if self.faults.busy else None


class _Handler(http.server.BaseHTTPRequestHandler):
    """One connection; NTLM authenticates the connection, so its state lives here."""

    protocol_version = "HTTP/1.1"  # keep-alive, which NTLM needs
    server_state: EwsServer
    _ntlm: NtlmAcceptor | None = None
    _user: str | None = None

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm and the
        # client's delayed ACK add 40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server_state._lock:
            self.server_state._connections.add(self.connection)

    def finish(self) -> None:
        with self.server_state._lock:
            self.server_state._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass  # the tests read ``requests``; stderr stays quiet

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path.split("?")[0].lower() != PATH.lower():
            self._send(404, b"", "text/plain")
            return
        user = self._authenticate()
        if user is None:
            return
        self._soap(body, user)

    # -- authentication ----------------------------------------------------------------------

    def _authenticate(self) -> str | None:
        state = self.server_state
        header = self.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if state.auth == "ntlm":
            return self._ntlm_step(scheme, value)
        if state.faults.refuse_logins:
            return self._challenge()
        if state.auth == "basic" and scheme.lower() == "basic":
            user, _, password = base64.b64decode(value).decode().partition(":")
            if user.lower() == state.username.lower() and password == state.password:
                return user
        if state.auth == "bearer" and scheme.lower() == "bearer" and value in state.tokens:
            return state.address
        return self._challenge()

    def _ntlm_step(self, scheme: str, value: str) -> str | None:
        state = self.server_state
        if scheme.lower() != "ntlm":
            if self._user is not None and not state.faults.refuse_logins:
                return self._user  # this connection authenticated earlier, as on IIS
            return self._challenge()
        token = base64.b64decode(value)
        if token[8:9] == b"\x01":
            self._ntlm = NtlmAcceptor()
            challenge = base64.b64encode(self._ntlm.challenge(token)).decode()
            self._send(401, b"", "text/plain", {"WWW-Authenticate": f"NTLM {challenge}"})
            return None
        passwords = {} if state.faults.refuse_logins else {state.username: state.password}
        proved = self._ntlm.verify(token, passwords) if self._ntlm else None
        self._ntlm = None
        if proved is None:
            return self._challenge()
        self._user = proved.user
        return proved.user

    def _challenge(self) -> None:
        offers = {"ntlm": "NTLM", "basic": 'Basic realm="127.0.0.1"', "bearer": "Bearer"}
        self._send(401, b"401 - Unauthorized: Access is denied due to invalid credentials.",
                   "text/html", {"WWW-Authenticate": offers[self.server_state.auth]})
        return None

    # -- SOAP --------------------------------------------------------------------------------

    def _soap(self, body: bytes, user: str) -> None:
        state = self.server_state
        envelope = ElementTree.fromstring(body)
        operation = envelope.find(f"{{{SOAP}}}Body")[0]
        name = operation.tag.rsplit("}", 1)[-1]
        state._record(name, body, user)
        drop = state._take_drop(name)
        if drop == "before":
            self._drop()
            return
        back_off = state._take_busy()
        if back_off is not None:
            self._send(500, busy_fault(back_off), "text/xml; charset=utf-8")
            return
        context = OperationContext(state.store, state.address, envelope)
        status, answer = handle_operation(name, operation, context)
        if drop == "after":
            self._drop()
            return
        self._send(status, answer, "text/xml; charset=utf-8")

    def _drop(self) -> None:
        self.close_connection = True
        self.connection.shutdown(2)

    def _send(self, status: int, body: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)
