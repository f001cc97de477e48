"""Secrets and OAuth2 token providers, built from settings for ``bootstrap``'s adapters.

Secrets are read here, and only here, from the environment variables the config names.
"""

from __future__ import annotations

import os

from mailbot.config import OAuthSettings, Settings, resolve_path
from mailbot.domain.errors import ConfigError
from mailbot.services.ports import TokenProvider


class TokenProviders:
    """One token provider per app registration and scope, built on first use.

    Every mailbox of one app registration shares the provider, and with it the cached token:
    one token request per app and scope an hour, however many mailboxes use it.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self._made: dict[tuple[str, ...], TokenProvider] = {}

    def get(self, oauth: OAuthSettings, scope: str, key: str) -> TokenProvider:
        """``key`` names the [oauth] table in config errors, e.g. ``mailbox[0].oauth``."""
        identity = (oauth.authority_host, oauth.tenant_id, oauth.client_id, oauth.client_secret_env,
                    oauth.certificate_path, oauth.certificate_thumbprint, oauth.ca_file, scope)
        if identity not in self._made:
            self._made[identity] = _token_provider(self.settings, oauth, scope, key)
        return self._made[identity]


def secret(settings: Settings, env_name: str, key: str) -> str | None:
    if not env_name:
        return None
    value = os.environ.get(env_name)
    if value is None:
        raise ConfigError(settings.source, key, f"names the environment variable {env_name},"
                          " which is not set", f"Set {env_name} in the worker's environment.")
    return value


def _token_provider(settings: Settings, oauth: OAuthSettings, scope: str, key: str) -> TokenProvider:
    from mailbot.adapters.microsoft.tokens import MsalTokenProvider

    certificate = None
    if oauth.certificate_path:
        path = resolve_path(settings, oauth.certificate_path)
        try:
            pem = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(settings.source, f"{key}.certificate_path", f"cannot read {path} ({error})",
                              "Point it at the PEM file holding the certificate and its private key,"
                              " readable by the worker's user.") from None
        certificate = {"private_key": pem, "thumbprint": oauth.certificate_thumbprint}
        passphrase = secret(settings, oauth.certificate_password_env, f"{key}.certificate_password_env")
        if passphrase:
            certificate["passphrase"] = passphrase
    return MsalTokenProvider(
        oauth.tenant_id, oauth.client_id, scope=scope,
        client_secret=secret(settings, oauth.client_secret_env, f"{key}.client_secret_env"),
        certificate=certificate, authority_host=oauth.authority_host, verify=verify(settings, oauth))


def verify(settings: Settings, oauth: OAuthSettings | None) -> bool | str:
    """What httpx and msal should trust: the configured CA bundle, else the system store."""
    return str(resolve_path(settings, oauth.ca_file)) if oauth and oauth.ca_file else True
