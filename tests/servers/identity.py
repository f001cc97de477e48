"""A Microsoft identity platform on loopback: OpenID discovery and the v2.0 token endpoint.

msal talks to it exactly as to login.microsoftonline.com (it insists on https, so this serves
TLS with the tests' self-signed certificate, which msal is told to trust through ``verify=``).
It knows one tenant and the app registrations the test makes, answers the client-credentials
grant with a client secret or a certificate (a signed client assertion), and answers every
refusal with the documented AADSTS error body (see ``identity_responses``).

Access tokens are HS256 JWTs signed with ``signing_key`` under ``key_id``, shaped like
Exchange Online's app-only tokens (``aud``, ``iss``, ``appid``, ``tid``, ``oid``/``sub``,
``roles``) plus an ``email`` claim naming the one mailbox the app may open: the test Dovecot
checks tokens locally with that key and takes the login name from ``email``, and the test SMTP
server checks them with ``check_token``.

Tests can revoke or expire a secret, disable an app, withdraw its permissions, shorten token
lifetimes, have tokens minted already expired or signed with the wrong key, and take the
whole platform down and up again on the same port.
"""

from __future__ import annotations

import base64
import os
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tests.servers import free_port
from tests.servers.identity_responses import (
    as_json,
    error_response,
    openid_configuration,
    token_response,
)
from tests.servers.tls import Certificate

EXCHANGE = "https://outlook.office365.com"
GRAPH = "https://graph.microsoft.com"
ALL_ROLES = ("IMAP.AccessAsApp", "SMTP.SendAsApp", "Mail.ReadWrite", "Mail.Send")


@dataclass
class AppRegistration:
    client_id: str
    name: str
    mailbox: str  # the email claim of its tokens: the one mailbox it may open
    secret: str | None = None
    secret_expired: bool = False
    certificate_thumbprint: str | None = None  # SHA-1, hex, of the registered certificate
    certificate_public_key: object | None = None
    roles: tuple[str, ...] = ALL_ROLES
    disabled: bool = False
    object_id: str = field(default_factory=lambda: str(uuid.uuid4()))


class IdentityPlatform:
    """One tenant's identity platform on https://127.0.0.1:<port>; start() before use."""

    host = "127.0.0.1"

    def __init__(self, certificate: Certificate, *, tenant_id: str | None = None,
                 tenant_domain: str = "partnership.onmicrosoft.com",
                 signing_key: bytes | None = None):
        """``signing_key`` lets a mail server started earlier (and kept) trust its tokens."""
        self.certificate = certificate
        self.tenant_id = tenant_id or str(uuid.uuid4())
        self.tenant_domain = tenant_domain
        self.port = free_port()
        self.signing_key, self.key_id = signing_key or os.urandom(32), "mailbot-test-key"
        self.token_lifetime = 3600
        self.apps: dict[str, AppRegistration] = {}
        self.token_requests: list[dict[str, str]] = []  # the form of each, secrets left out
        self.issued: list[str] = []
        self._expired_tokens_to_issue: int | None = 0  # None: every one from now on
        self._wrong_key: bytes | None = None
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def authority_host(self) -> str:
        return f"https://{self.host}:{self.port}"

    # -- app registrations -------------------------------------------------------------------

    def register_app(self, mailbox: str, *, secret: str | None = None, name: str = "mailbot",
                     roles: tuple[str, ...] = ALL_ROLES) -> AppRegistration:
        """A new app registration with a client secret (made up unless given)."""
        app = AppRegistration(str(uuid.uuid4()), name, mailbox, secret or _new_secret(),
                              roles=roles)
        with self._lock:
            self.apps[app.client_id] = app
        return app

    def register_certificate(self, client_id: str, certificate_pem: bytes) -> None:
        """Uploads a certificate (its public part) to an app registration."""
        cert = x509.load_pem_x509_certificate(certificate_pem)
        with self._lock:
            app = self.apps[client_id]
            app.certificate_thumbprint = cert.fingerprint(hashes.SHA1()).hex().upper()
            app.certificate_public_key = cert.public_key()

    def expire_secret(self, client_id: str) -> None:
        with self._lock:
            self.apps[client_id].secret_expired = True

    def revoke_secret(self, client_id: str) -> None:
        """An administrator deleted the secret: it is now simply a wrong one."""
        with self._lock:
            self.apps[client_id].secret = None

    def new_secret(self, client_id: str) -> str:
        """What an administrator does about an expired secret: a new one replaces it."""
        with self._lock:
            app = self.apps[client_id]
            app.secret, app.secret_expired = _new_secret(), False
            return app.secret

    def disable_app(self, client_id: str) -> None:
        with self._lock:
            self.apps[client_id].disabled = True

    def withdraw_roles(self, client_id: str) -> None:
        """Admin consent revoked: the app still gets tokens, but they carry no roles."""
        with self._lock:
            self.apps[client_id].roles = ()

    # -- token behaviour ---------------------------------------------------------------------

    def issue_expired_tokens(self, count: int | None = None) -> None:
        """The next ``count`` tokens (all from now on if None) carry an ``exp`` already past,
        though the answer's ``expires_in`` promises the usual lifetime: what a client sees when
        a token expired early or its clock is wrong."""
        with self._lock:
            self._expired_tokens_to_issue = count

    def sign_with_wrong_key(self, wrong: bool = True) -> None:
        with self._lock:
            self._wrong_key = os.urandom(32) if wrong else None

    def check_token(self, token: str, *, user: str, role: str) -> str | None:
        """Why a mail server would refuse ``token`` for ``user`` needing ``role``, or None."""
        try:
            claims = jwt.decode(token, self.signing_key, algorithms=["HS256"],
                                options={"verify_aud": False})
        except jwt.ExpiredSignatureError:
            return "token expired"
        except jwt.InvalidTokenError as error:
            return f"invalid token: {error}"
        if claims.get("email", "").lower() != user.lower():
            return f"token is for {claims.get('email')!r}, not {user!r}"
        if role not in claims.get("roles", []):
            return f"token lacks the {role} role"
        return None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        server = _Server((self.host, self.port), _Handler)
        server.platform = self
        server.tls = self.certificate.server_context()
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="identity-platform", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def go_down(self) -> None:
        """Stops listening: clients get connection refused until come_up()."""
        self.stop()

    def come_up(self) -> None:
        self.start()

    def __enter__(self) -> IdentityPlatform:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the endpoints (called on the server's threads) --------------------------------------

    def _discovery(self, tenant: str) -> tuple[int, dict]:
        refusal = self._tenant_refusal(tenant)
        if refusal is not None:
            return refusal
        return 200, openid_configuration(self.authority_host, tenant, self.tenant_id)

    def _token(self, tenant: str, form: dict[str, str]) -> tuple[int, dict]:
        with self._lock:
            self.token_requests.append({k: v for k, v in form.items()
                                        if k not in ("client_secret", "client_assertion")})
            refusal = self._tenant_refusal(tenant) or self._client_refusal(tenant, form)
            if refusal is not None:
                return refusal
            app = self.apps[form["client_id"]]
            token = self._mint(app, form["scope"].removesuffix("/.default"))
            self.issued.append(token)
            return 200, token_response(token, self.token_lifetime)

    def _tenant_refusal(self, tenant: str) -> tuple[int, dict] | None:
        if tenant in (self.tenant_id, self.tenant_domain):
            return None
        if _looks_like_tenant(tenant):
            return error_response(90002, tenant=tenant)
        return error_response(900023, tenant=tenant)

    def _client_refusal(self, tenant: str, form: dict[str, str]) -> tuple[int, dict] | None:
        client_id = form.get("client_id", "")
        if form.get("grant_type") != "client_credentials":
            return error_response(70003, grant_type=form.get("grant_type", ""))
        app = self.apps.get(client_id)
        if app is None:
            return error_response(700016, client_id=client_id, tenant=tenant)
        if app.disabled:
            return error_response(7000112, client_id=client_id, name=app.name)
        refusal = self._credential_refusal(app, form, tenant)
        if refusal is not None:
            return refusal
        scope = form.get("scope", "")
        if not scope.endswith("/.default"):
            return error_response(1002012, scope=scope)
        resource = scope.removesuffix("/.default")
        if resource not in (EXCHANGE, GRAPH):
            return error_response(500011, resource=resource, tenant=tenant)
        return None

    def _credential_refusal(self, app: AppRegistration, form: dict[str, str],
                            tenant: str) -> tuple[int, dict] | None:
        if "client_secret" in form:
            if app.secret is None or form["client_secret"] != app.secret:
                return error_response(7000215, client_id=app.client_id)
            if app.secret_expired:
                return error_response(7000222, client_id=app.client_id)
            return None
        if "client_assertion" in form:
            return self._assertion_refusal(app, form["client_assertion"], tenant)
        return error_response(7000218)

    def _assertion_refusal(self, app: AppRegistration, assertion: str,
                           tenant: str) -> tuple[int, dict] | None:
        header = jwt.get_unverified_header(assertion)
        thumbprint = _x5t_hex(header.get("x5t", ""))
        if app.certificate_public_key is None or thumbprint != app.certificate_thumbprint:
            return error_response(700027, client_id=app.client_id, thumbprint=thumbprint)
        endpoint = f"{self.authority_host}/{tenant}/oauth2/v2.0/token"
        try:
            jwt.decode(assertion, app.certificate_public_key, algorithms=["RS256", "PS256"],
                       audience=endpoint, issuer=app.client_id)
        except jwt.InvalidTokenError:
            return error_response(700027, client_id=app.client_id, thumbprint=thumbprint)
        return None

    def _mint(self, app: AppRegistration, resource: str) -> str:
        now = int(time.time())
        expires = now + self.token_lifetime
        if self._expired_tokens_to_issue is None or self._expired_tokens_to_issue > 0:
            expires = now - 60
            if self._expired_tokens_to_issue is not None:
                self._expired_tokens_to_issue -= 1
        claims = {
            "aud": resource, "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": now - 1, "nbf": now - 1, "exp": expires,
            "appid": app.client_id, "app_displayname": app.name, "idtyp": "app",
            "oid": app.object_id, "sub": app.object_id, "tid": self.tenant_id,
            "roles": list(app.roles), "email": app.mailbox, "ver": "1.0",
            "uti": uuid.uuid4().hex,  # Entra's unique token identifier
        }
        key = self._wrong_key or self.signing_key
        return jwt.encode(claims, key, algorithm="HS256", headers={"kid": self.key_id})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    platform: IdentityPlatform
    tls: ssl.SSLContext

    def get_request(self):
        sock, address = super().get_request()
        # The handshake happens on the handler's thread (see setup), so a client that stalls
        # in it cannot block the accept loop.
        return self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request, client_address) -> None:
        pass  # clients that drop mid-request (msal's retries, tests going down) are expected


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10
    server: _Server

    def setup(self) -> None:
        self.request.settimeout(self.timeout)
        self.request.do_handshake()
        super().setup()

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        parts = urlsplit(self.path).path.strip("/").split("/")
        if len(parts) == 4 and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            self._answer(*self.server.platform._discovery(parts[0]))
        else:
            self._answer(404, {"error": "not_found"})

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        parts = urlsplit(self.path).path.strip("/").split("/")
        if len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
            form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
            self._answer(*self.server.platform._token(parts[0], form))
        else:
            self._answer(404, {"error": "not_found"})

    def _answer(self, status: int, body: dict) -> None:
        data = as_json(body)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store, no-cache")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass


def _new_secret() -> str:
    return f"Q~{uuid.uuid4().hex}{uuid.uuid4().hex[:8]}"


def _looks_like_tenant(tenant: str) -> bool:
    """A GUID or a domain name: well formed, if perhaps unknown."""
    try:
        uuid.UUID(tenant)
        return True
    except ValueError:
        return "." in tenant and " " not in tenant


def _x5t_hex(x5t: str) -> str:
    padded = x5t + "=" * (-len(x5t) % 4)
    try:
        return base64.urlsafe_b64decode(padded).hex().upper()
    except ValueError:
        return ""


def thumbprint_of(certificate_pem: bytes) -> str:
    """The SHA-1 thumbprint (hex) the Entra portal shows for a certificate."""
    return x509.load_pem_x509_certificate(certificate_pem).fingerprint(hashes.SHA1()).hex().upper()
