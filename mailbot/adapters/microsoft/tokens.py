"""App-only OAuth2 access tokens for Microsoft 365, from msal's client-credentials flow.

An ``MsalTokenProvider`` is the ``TokenProvider`` port (services.ports): call it for a bearer
token. It keeps the token until ``refresh_margin_seconds`` before it expires (by its own
``clock``, so tests can move time) and then asks the identity platform for a new one; msal's
own cache, which reads the wall clock, is emptied first so that the refresh really happens.
``invalidate()`` drops the token after a mail server has refused it.

Failures are translated at this boundary: a refusal by the identity platform becomes
AuthenticationFailed with the exact reason and what to do (token_errors), an identity
platform that cannot be reached becomes TransientError. msal itself holds a refusal (HTTP 400)
for 60 seconds and an outage answer for its Retry-After before asking again, so a fix made in
the tenant can take a minute to be seen.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import jwt
import msal
import requests
from cryptography.hazmat.primitives import serialization
from msal.exceptions import MsalServiceError

from mailbot.adapters.microsoft.token_errors import aadsts_codes, refusal_error
from mailbot.domain.errors import AuthenticationFailed, MailbotError, TransientError

log = logging.getLogger(__name__)


class MsalTokenProvider:
    """Bearer tokens for one app registration and one scope; safe to share between threads."""

    def __init__(
        self, tenant_id: str, client_id: str, *, scope: str, client_secret: str | None = None,
        certificate: dict | None = None, authority_host: str = "https://login.microsoftonline.com",
        verify: bool | str = True, refresh_margin_seconds: float = 300,
        clock: Callable[[], float] = time.time, timeout: float = 30,
    ):
        if (client_secret is None) == (certificate is None):
            raise ValueError("give exactly one of client_secret or certificate")
        if certificate is not None and not {"private_key", "thumbprint"} <= certificate.keys():
            raise ValueError("certificate needs private_key (PEM) and thumbprint (SHA-1, hex)")
        if urlsplit(authority_host).scheme != "https":
            raise ValueError(f"authority_host must be an https:// URL, not {authority_host!r}")
        self.tenant_id, self.client_id, self.scope = tenant_id, client_id, scope
        self._credential: str | dict = client_secret if client_secret is not None else certificate
        self._authority = f"{authority_host.rstrip('/')}/{tenant_id}"
        self._verify, self._timeout = verify, timeout
        self._margin, self._clock = refresh_margin_seconds, clock
        self._lock = threading.Lock()  # one token request at a time, however many callers
        self._app: msal.ConfidentialClientApplication | None = None
        self._token: str | None = None
        self._refresh_at = 0.0

    def __call__(self) -> str:
        with self._lock:
            now = self._clock()
            if self._token is not None and now < self._refresh_at:
                return self._token
            result = self._acquire()
            self._keep(result, now)
            return self._token

    def invalidate(self) -> None:
        """Forget the token, so the next call gets a fresh one (a server refused this one)."""
        with self._lock:
            self._token, self._refresh_at = None, 0.0
            self._forget_msal_tokens()

    # -- talking to the identity platform ---------------------------------------------------

    def _acquire(self) -> dict[str, Any]:
        app = self._application()
        self._forget_msal_tokens()  # msal would hand back its cached token by the wall clock
        try:
            result = app.acquire_token_for_client(scopes=[self.scope])
        except jwt.PyJWTError as error:  # the certificate's key cannot sign the assertion
            raise self._unusable_key(error) from error
        except (requests.RequestException, MsalServiceError, ValueError) as error:
            raise self._unreachable(error) from error
        if not result or "access_token" not in result:
            error = refusal_error(result or {}, client_id=self.client_id, tenant=self.tenant_id,
                                  scope=self.scope)
            log.warning("token request for app %s refused: %s (correlation ID %s)",
                        self.client_id, (result or {}).get("error_description", "").split("\r\n")[0],
                        (result or {}).get("correlation_id", "none"))
            raise error
        return result

    def _application(self) -> msal.ConfidentialClientApplication:
        """Built on first use: msal reads the tenant's OpenID configuration as it starts."""
        if self._app is not None:
            return self._app
        if isinstance(self._credential, dict):
            self._check_private_key(self._credential)
        try:
            # instance_discovery=False: the authority comes from our own configuration, and
            # msal would otherwise ask login.microsoftonline.com about any host it does not know.
            self._app = msal.ConfidentialClientApplication(
                self.client_id, client_credential=self._credential, authority=self._authority,
                token_cache=msal.TokenCache(), http_client=_http_session(self._verify, self._timeout),
                instance_discovery=False,
            )
        except ValueError as error:
            raise self._discovery_error(error) from error
        except requests.RequestException as error:
            raise self._unreachable(error) from error
        return self._app

    def _keep(self, result: dict[str, Any], now: float) -> None:
        lifetime = float(result.get("expires_in", 0))
        # A token shorter-lived than the margin is still used for half its life, not refetched
        # on every call.
        refresh_in = max(lifetime - self._margin, lifetime / 2)
        if "refresh_in" in result:  # the platform asks for an earlier, proactive refresh
            refresh_in = min(refresh_in, float(result["refresh_in"]))
        self._token, self._refresh_at = result["access_token"], now + refresh_in

    def _forget_msal_tokens(self) -> None:
        if self._app is None:
            return
        cache = self._app.token_cache
        for entry in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
            cache.remove_at(entry)

    def _check_private_key(self, certificate: dict) -> None:
        """A key that cannot be read is a configuration error, not an identity platform's."""
        passphrase = certificate.get("passphrase")
        try:
            serialization.load_pem_private_key(
                _bytes(certificate["private_key"]), _bytes(passphrase) if passphrase else None)
        except (ValueError, TypeError) as error:
            raise self._unusable_key(error) from error

    # -- errors ------------------------------------------------------------------------------

    def _unusable_key(self, error: BaseException) -> AuthenticationFailed:
        return AuthenticationFailed(
            f"the private key of the certificate for app {self.client_id} cannot be used: {error}",
            "Check that certificate_path holds the certificate's private key (PEM) and, if the"
            " key is encrypted, that certificate_password_env names a variable holding its"
            " password")

    def _unreachable(self, error: BaseException) -> MailbotError:
        where = self._authority
        if isinstance(error, requests.exceptions.SSLError):
            return TransientError(f"cannot verify the TLS certificate of {where}: {error}")
        if isinstance(error, MsalServiceError):
            return TransientError(f"the Microsoft identity platform at {where} failed: {error}")
        if isinstance(error, ValueError):  # an answer that was not the JSON it should be
            return TransientError(f"the Microsoft identity platform at {where} answered"
                                  f" something unreadable: {error}")
        return TransientError(f"cannot reach the Microsoft identity platform at {where}:"
                              f" {type(error).__name__}")

    def _discovery_error(self, error: ValueError) -> MailbotError:
        """msal reports a failed OpenID discovery as ValueError, the answer in its context."""
        text = " ".join(str(e) for e in _chain(error))
        answer = _json_answer(text)
        if answer is not None and "error" in answer:
            return refusal_error(answer, client_id=self.client_id, tenant=self.tenant_id,
                                 scope=self.scope)
        codes = aadsts_codes(text)
        if codes:
            return refusal_error({"error_codes": codes, "error_description": text},
                                 client_id=self.client_id, tenant=self.tenant_id, scope=self.scope)
        if re.search(r"HTTP status: 4\d\d", text):
            return AuthenticationFailed(f"Microsoft 365 has no tenant {self.tenant_id} at"
                                        f" {self._authority}", "Set tenant_id to the Directory"
                                        " (tenant) ID of the app registration")
        return TransientError(f"cannot read the OpenID configuration of {self._authority}: {text}")


class _Session(requests.Session):
    """A requests session that keeps its timeout and trusts the CA we were told to trust.

    requests lets the REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE environment variables override a
    session's ``verify``; passing it with each request makes a configured CA file win.
    """

    def __init__(self, verify: bool | str, timeout: float):
        super().__init__()
        self._verify_each, self._timeout = verify, timeout

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", self._timeout)
        if self._verify_each is not True:  # True: the system's (or environment's) CA store
            kwargs["verify"] = self._verify_each
        return super().request(method, url, **kwargs)


def _http_session(verify: bool | str, timeout: float) -> requests.Session:
    session = _Session(verify, timeout)
    # One retry on a dropped connection, as msal's own session has.
    adapter = requests.adapters.HTTPAdapter(max_retries=1)
    session.mount("https://", adapter)
    return session


def _bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _json_answer(text: str) -> dict | None:
    match = re.search(r"Error: (\{.*\})", text, re.DOTALL)
    if match is None:
        return None
    try:
        answer = json.loads(match.group(1))
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None
