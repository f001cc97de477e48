"""What the IMAP and SMTP adapters do when a mail server refuses an OAuth2 bearer token.

A refused token is first forgotten and replaced once by a fresh one (it may simply have
expired early, or the server's clock may run ahead of ours), so token expiry in the middle of
a run goes unnoticed. A fresh token refused as well is an AuthenticationFailed whose reason
says what is wrong, as far as the token itself can tell: Exchange Online answers every refusal
with the same "AUTHENTICATE failed", but the token's own claims show an expiry time and the
application permissions (``roles``) the administrator granted. The claims are read without
checking the signature: they only shape the message, never a decision.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

from mailbot.domain.errors import AuthenticationFailed


def forget_token(provider: Callable[[], str]) -> None:
    """Drops the provider's cached token, for providers that keep one (``invalidate()``)."""
    invalidate = getattr(provider, "invalidate", None)
    if invalidate is not None:
        invalidate()


def token_refused(service: str, where: str, token: str, needed_role: str,
                  server_said: str) -> AuthenticationFailed:
    """The error for a fresh token that ``service`` (IMAP, SMTP) refused for ``where``."""
    claims = token_claims(token)
    said = f" (the server said: {server_said.strip()})" if server_said.strip() else ""
    app = f" of app {claims.get('appid') or claims.get('azp')}" if claims else ""
    if claims and isinstance(claims.get("exp"), int | float) and claims["exp"] < time.time():
        at = datetime.fromtimestamp(claims["exp"], UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return AuthenticationFailed(
            f"the {service} server refused the OAuth2 token{app} for {where}: the identity"
            f" platform issued a token that had already expired (at {at}){said}",
            "Check that this machine's clock is right; if it is, the identity platform is"
            " misbehaving, so try again later")
    roles = claims.get("roles") if claims else None
    if claims and isinstance(roles, list) and needed_role not in roles:
        granted = ", ".join(map(str, roles)) or "none"
        return AuthenticationFailed(
            f"the {service} server refused the OAuth2 token{app} for {where}: the token lacks"
            f" the {needed_role} permission (granted: {granted}){said}",
            "In the Microsoft Entra admin centre (App registrations > the app > API permissions)"
            f" add the application permission Office 365 Exchange Online > {needed_role} and"
            " grant admin consent")
    return AuthenticationFailed(
        f"the {service} server refused the OAuth2 token{app} for {where}{said}",
        "Check that the app's service principal is registered in Exchange Online"
        " (New-ServicePrincipal) and may use this mailbox (Add-MailboxPermission FullAccess for"
        " IMAP, Add-RecipientPermission SendAs for SMTP), and that the username is the"
        " mailbox's address")


def token_claims(token: str) -> dict | None:
    """The claims of a JWT, unverified; None for a token that is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None
