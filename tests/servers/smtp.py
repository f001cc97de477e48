"""An aiosmtpd server on loopback that captures what it receives, for the SMTP tests.

It can speak plain SMTP, STARTTLS or implicit TLS with a self-signed certificate, require a
password or an XOAUTH2 token, answer chosen recipients with a refusal, fail the next few
transactions with 421/451 and then recover, and be stopped and restarted on the same port to
stage an outage.
"""

from __future__ import annotations

import base64
import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.servers import free_port
from tests.servers.tls import Certificate

# The error challenge of XOAUTH2 (base64 encoded on the wire).
_XOAUTH2_ERROR = '{"status":"401","schemes":"bearer","scope":"https://outlook.office365.com/.default"}'


class _Smtp(SMTP):
    """aiosmtpd with room for OAuth2 tokens: RFC 4954 section 4 lets an AUTH line, with its
    initial response, run to 12288 octets, where aiosmtpd stops at 512."""

    line_length_limit = 12288 + 2
    command_size_limits = collections.defaultdict(lambda: SMTP.command_size_limit)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.command_size_limits["AUTH"] = 12288


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _Smtp(self.handler, **self.SMTP_kwargs)


@dataclass(frozen=True)
class ReceivedMessage:
    envelope_from: str
    recipients: tuple[str, ...]
    data: bytes
    authenticated_as: str | None = None


@dataclass
class _Behaviour:
    """What the server should answer; shared with the handler thread under a lock."""

    failures: collections.deque[str] = field(default_factory=collections.deque)
    refused: dict[str, str] = field(default_factory=dict)
    refuse_all: str | None = None
    attempts: int = 0


class _Handler:
    def __init__(self, owner: SmtpServer):
        self.owner = owner

    async def handle_RCPT(self, server, session, envelope: Envelope, address, rcpt_options):
        reply = self.owner._reply_for_recipient(address, first=not envelope.rcpt_tos)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session: Session, envelope: Envelope):
        login = session.login_data
        self.owner._record(
            ReceivedMessage(
                envelope.mail_from,
                tuple(envelope.rcpt_tos),
                bytes(envelope.original_content or envelope.content),
                login.decode() if isinstance(login, bytes) else login,
            )
        )
        return "250 2.0.0 Message accepted for delivery"

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        # RFC-less but widely used: base64("user=U\x01auth=Bearer T\x01\x01").
        blob = base64.b64decode(args[1]) if len(args) > 1 else await server.challenge_auth("")
        fields = dict(
            part.split("=", 1) for part in blob.decode().split("\x01") if "=" in part
        )
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        ok = self.owner._token_accepted(user, token)
        if ok:
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        # As Exchange Online and Gmail do: a JSON challenge, the client's empty answer, then 535.
        await server.challenge_auth(_XOAUTH2_ERROR)
        return AuthResult(success=False, handled=False,
                          message="535 5.7.3 Authentication unsuccessful")


class SmtpServer:
    """A capturing SMTP server on 127.0.0.1; ``security`` is none, starttls or tls."""

    host = "127.0.0.1"

    def __init__(
        self, *, security: str = "none", certificate: Certificate | None = None,
        credentials: dict[str, str] | None = None,
        token_check: Callable[[str, str], str | None] | None = None,
    ):
        """``token_check(user, token)`` judges XOAUTH2 tokens (None: accepted, else why not);
        without it a token is checked against ``credentials`` as a password would be."""
        if security != "none" and certificate is None:
            raise ValueError("a TLS server needs a certificate")
        self.security, self.certificate = security, certificate
        self.credentials = dict(credentials or {})
        self.token_check = token_check
        self.token_refusals: list[str] = []
        self.port = free_port()
        self.received: list[ReceivedMessage] = []
        self._behaviour = _Behaviour()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._controller: Controller | None = None

    # -- behaviour ---------------------------------------------------------------------------

    def fail_next(self, *replies: str) -> None:
        """Answer the next transactions' first RCPT with these replies, one each, in order."""
        with self._lock:
            self._behaviour.failures.extend(replies)

    def refuse(self, address: str, reply: str = "550 5.1.1 No such user here") -> None:
        with self._lock:
            self._behaviour.refused[address.lower()] = reply

    def refuse_everyone(self, reply: str = "550 5.7.1 Relaying denied") -> None:
        with self._lock:
            self._behaviour.refuse_all = reply

    @property
    def attempts(self) -> int:
        """Transactions that reached RCPT, accepted or not."""
        with self._lock:
            return self._behaviour.attempts

    def _reply_for_recipient(self, address: str, first: bool) -> str | None:
        with self._lock:
            behaviour = self._behaviour
            if first:
                behaviour.attempts += 1
                if behaviour.failures:
                    return behaviour.failures.popleft()
            return behaviour.refuse_all or behaviour.refused.get(address.lower())

    def _token_accepted(self, user: str, token: str) -> bool:
        if self.token_check is None:
            return self.credentials.get(user) == token
        refusal = self.token_check(user, token)
        if refusal is not None:
            with self._lock:
                self.token_refusals.append(refusal)
        return refusal is None

    def _record(self, message: ReceivedMessage) -> None:
        with self._arrived:
            self.received.append(message)
            self._arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMessage]:
        """Block until ``count`` messages have arrived; fail loudly if they do not."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{len(self.received)} of {count} messages arrived")
                self._arrived.wait(remaining)
            return list(self.received)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        kwargs: dict[str, object] = {"hostname": self.host, "port": self.port}
        if self.security == "tls":
            kwargs["ssl_context"] = self.certificate.server_context()
        elif self.security == "starttls":
            kwargs["tls_context"] = self.certificate.server_context()
            kwargs["require_starttls"] = True
        if self.credentials or self.token_check:
            kwargs["authenticator"] = self._authenticate
            # aiosmtpd counts only STARTTLS as encryption and warns about requiring AUTH
            # without it, so over implicit TLS AUTH is offered and checked, not demanded.
            kwargs["auth_require_tls"] = kwargs["auth_required"] = self.security == "starttls"
        self._controller = _Controller(_Handler(self), ready_timeout=10, **kwargs)
        self._controller.start()

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def restart(self) -> None:
        self.stop()
        self.start()

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        ok = self.credentials.get(user) == password
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)
