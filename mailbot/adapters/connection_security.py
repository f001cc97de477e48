"""Shared by the IMAP and SMTP adapters: which connection security a config may ask for.

Plain text is refused to anything but a loopback host, because passwords and children's
details would cross the network readable by anyone on the path.
"""

from __future__ import annotations

import ipaddress

from mailbot.domain.errors import ConfigError

SECURITIES = ("none", "starttls", "tls")


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and the name localhost; no DNS is consulted."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_security(host: str, security: str, key: str) -> None:
    """Raise ConfigError unless ``security`` is known and, if plain, the host is loopback.

    ``key`` names the setting for the message, e.g. ``mailbox.bury.security``.
    """
    if security not in SECURITIES:
        raise ConfigError("config", key, f"unknown security {security!r}",
                          'use "tls", "starttls" or "none"')
    if security == "none" and not is_loopback(host):
        raise ConfigError("config", key, f"plain-text connections to {host!r} are refused",
                          'use security = "tls" or "starttls"; "none" is for loopback only')
