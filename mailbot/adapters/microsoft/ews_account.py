"""One exchangelib Account for an EWS mailbox or mailer, set up the way a worker needs it.

- Retry policy: exchangelib's FailFast. Its FaultTolerance sleeps through throttling and outages
  for up to an hour inside one call, and treats a 401 as throttling, so a worker would hang and
  a wrong password would look like a busy server. With FailFast every failure comes back at once;
  ``ews_errors`` sorts it and the worker's own back-off decides when to try again.
- Timeouts: each HTTP request is bounded by ``timeout`` (exchangelib's default is 120 s).
- Authentication: NTLM (the on-premises default, through requests_ntlm), Basic (only for
  servers that allow it over TLS), or OAuth2 with a bearer token from our TokenProvider;
  exchangelib never talks to the identity platform itself.
- TLS: the server certificate is checked against ``ca_file``, else the system's CA store (not
  certifi's, which knows nothing of a council's internal CA). Plain http is refused except to
  loopback, because NTLM over http would expose the mailbox's contents to the network.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests.adapters
from exchangelib import (
    BASIC,
    DELEGATE,
    IMPERSONATION,
    NTLM,
    OAUTH2,
    UTC,
    Account,
    BaseProtocol,
    Configuration,
    Credentials,
    FailFast,
    Identity,
    OAuth2AuthorizationCodeCredentials,
)

from mailbot.adapters.connection_security import is_loopback
from mailbot.domain.errors import ConfigError

# exchangelib logs whole SOAP requests and responses (MIME included, so children's details) and
# the HTTP headers (credentials) from this logger; they must never reach mailbot's logs.
logging.getLogger("exchangelib.util").setLevel(logging.CRITICAL)

AUTH_TYPES = {"ntlm": NTLM, "basic": BASIC, "oauth2": OAUTH2}


@dataclass(frozen=True)
class EwsEndpoint:
    """Where and as whom to connect; ``key`` names the config entry in error messages."""

    service_endpoint: str
    address: str
    username: str
    password: str | None
    token_provider: Callable[[], str] | None
    auth_type: str
    ca_file: str
    timeout: float
    key: str

    def check(self) -> None:
        """ConfigError for anything that cannot work, before any connection is tried."""
        parts = urlsplit(self.service_endpoint)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ConfigError("config", f"{self.key}.ews.service_endpoint",
                              f"{self.service_endpoint!r} is not an http(s) URL",
                              "Use https://mail.example.gov.uk/EWS/Exchange.asmx")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ConfigError("config", f"{self.key}.ews.service_endpoint",
                              f"plain http to {parts.hostname!r} is refused",
                              "Use https; plain http is for loopback only")
        if self.auth_type not in AUTH_TYPES:
            raise ConfigError("config", f"{self.key}.ews.auth_type",
                              f"unknown auth_type {self.auth_type!r}", 'Use "ntlm" or "oauth2"')
        if self.auth_type == "oauth2" and parts.scheme != "https":
            raise ConfigError("config", f"{self.key}.ews.service_endpoint",
                              "a bearer token is sent over https only", "Use an https endpoint")
        if self.auth_type == "oauth2" and self.token_provider is None:
            raise ConfigError("config", f"{self.key}.oauth", "auth_type oauth2 needs a token",
                              "Add a [mailbox.oauth] table for the app registration")
        if self.auth_type != "oauth2" and self.password is None:
            raise ConfigError("config", f"{self.key}.password_env", "no password",
                              "Set password_env to a variable holding the account's password")
        if self.ca_file and not Path(self.ca_file).is_file():
            raise ConfigError("config", f"{self.key}.ews.ca_file", f"{self.ca_file} does not exist",
                              "Point it at a PEM file with the CA that signed the server's certificate")


class ProvidedTokenCredentials(OAuth2AuthorizationCodeCredentials):
    """OAuth2 credentials whose bearer token comes from mailbot's TokenProvider.

    The authorization-code flavour is used because exchangelib never fetches a token for it by
    itself and keeps its token when sessions close. ``identity`` makes exchangelib send the
    ExchangeImpersonation header, which app-only tokens need to open a mailbox.
    """

    def __init__(self, token_provider: Callable[[], str], address: str):
        super().__init__(identity=Identity(primary_smtp_address=address))
        self.token_provider = token_provider

    def load_token(self) -> None:
        """Take the provider's current token (it caches, and renews before expiry).

        Every exchangelib session of these credentials signs its requests through the one
        oauthlib client, so handing the new token to that client renews it for open sessions
        too, without dropping their connections.
        """
        token = self.token_provider()
        with self.lock:
            if self.access_token is not None and self.access_token.get("access_token") == token:
                return
            value = {"access_token": token, "token_type": "Bearer"}
            self.access_token = value
            self.client.token = value
            self.client.populate_token_attributes(value)


class EwsConnection:
    """Builds the Account lazily, keeps its token fresh, and closes its HTTP sessions."""

    def __init__(self, endpoint: EwsEndpoint):
        endpoint.check()
        self.endpoint = endpoint
        self._account: Account | None = None
        _trust(endpoint.service_endpoint, endpoint.ca_file)

    def account(self) -> Account:
        """The Account, with a current token; building it makes no request."""
        if self._account is None:
            self._account = self._build()
        credentials = self._account.protocol.credentials
        if isinstance(credentials, ProvidedTokenCredentials):
            credentials.load_token()
        return self._account

    def close(self) -> None:
        account, self._account = self._account, None
        if account is not None:
            account.protocol.close()

    def _build(self) -> Account:
        endpoint = self.endpoint
        if endpoint.auth_type == "oauth2":
            credentials = ProvidedTokenCredentials(endpoint.token_provider, endpoint.address)
            access_type = IMPERSONATION
        else:
            credentials = Credentials(endpoint.username or endpoint.address, endpoint.password)
            access_type = DELEGATE
        config = Configuration(service_endpoint=endpoint.service_endpoint, credentials=credentials,
                               auth_type=AUTH_TYPES[endpoint.auth_type], retry_policy=FailFast(),
                               max_connections=1)
        account = Account(primary_smtp_address=endpoint.address, access_type=access_type,
                          autodiscover=False, config=config, default_timezone=UTC)
        # exchangelib shares one Protocol per endpoint and credentials; reading TIMEOUT from the
        # instance lets this mailbox's timeout apply without touching the class default.
        account.protocol.TIMEOUT = endpoint.timeout
        return account


# -- which certificates to trust, per endpoint ---------------------------------------------------

_trusted: dict[str, str] = {}  # origin -> configured ca_file ("" for none)
_trusted_lock = threading.Lock()


class _TrustingAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter, verifying each EWS endpoint against the CA file chosen for it.

    exchangelib builds its HTTP sessions itself and offers only a class-wide adapter hook
    (BaseProtocol.HTTP_ADAPTER_CLS), so the CA file is looked up by the request's origin.
    """

    def cert_verify(self, conn, url, verify, cert):
        super().cert_verify(conn, url, _verify_for(url, verify), cert)

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        return super().get_connection_with_tls_context(request, _verify_for(request.url, verify),
                                                       proxies=proxies, cert=cert)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def _verify_for(url: str, verify: bool | str) -> bool | str:
    """The configured ca_file first; then what requests chose (REQUESTS_CA_BUNDLE, say); then,
    instead of certifi's bundle, the system's CA store."""
    if verify is False:
        return False
    with _trusted_lock:
        chosen = _trusted.get(_origin(url), "")
    if chosen:
        return chosen
    return (ssl.get_default_verify_paths().cafile or True) if verify is True else verify


def _trust(service_endpoint: str, ca_file: str) -> None:
    with _trusted_lock:
        # A mailbox and its mailer name the same server; one without a ca_file must not undo the other's.
        if ca_file or _origin(service_endpoint) not in _trusted:
            _trusted[_origin(service_endpoint)] = ca_file
        if BaseProtocol.HTTP_ADAPTER_CLS is requests.adapters.HTTPAdapter:
            BaseProtocol.HTTP_ADAPTER_CLS = _TrustingAdapter
