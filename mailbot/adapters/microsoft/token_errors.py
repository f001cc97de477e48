"""What the Microsoft identity platform's refusals mean, in words an administrator can act on.

The token endpoint answers a refusal with an OAuth2 ``error`` (RFC 6749 section 5.2) and an
AADSTS code in ``error_codes`` and at the start of ``error_description``. Microsoft warns that
the codes may grow more specific over time, so the known codes get exact sentences, and
anything else falls back on the OAuth2 error with Microsoft's own first sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailbot.domain.errors import AuthenticationFailed, MailbotError, TransientError

_PORTAL = "the Microsoft Entra admin centre (App registrations > the app)"
_NEW_SECRET = (f"Create a new client secret in {_PORTAL} > Certificates & secrets, put its Value"
               " (not its Secret ID) in the environment variable named by client_secret_env,"
               " and restart mailbot")
_SCOPE_FIX = ("Set scope to https://outlook.office365.com/.default for IMAP and SMTP, or"
              " https://graph.microsoft.com/.default for Graph")
_CONSENT_FIX = (f"In {_PORTAL} > API permissions, add the application permission the mailbox"
                " needs (Office 365 Exchange Online: IMAP.AccessAsApp, SMTP.SendAsApp; Microsoft"
                " Graph: Mail.ReadWrite, Mail.Send) and grant admin consent")


@dataclass(frozen=True)
class _Meaning:
    reason: str  # may use {client_id}, {tenant}, {scope}
    fix: str


_KNOWN: dict[int, _Meaning] = {
    7000222: _Meaning("the client secret of app {client_id} has expired", _NEW_SECRET),
    7000215: _Meaning("the client secret given for app {client_id} is wrong (not a current"
                      " secret of the app, or its Secret ID instead of its Value)", _NEW_SECRET),
    7000218: _Meaning("no client secret or certificate was sent for app {client_id}",
                      "Set client_secret_env (and the variable it names) or certificate_path"),
    700027: _Meaning("the certificate used for app {client_id} is not one registered on the app",
                     f"Upload the certificate (.cer) in {_PORTAL} > Certificates & secrets and"
                     " set certificate_thumbprint to the thumbprint shown there"),
    700024: _Meaning("the identity platform refused the certificate assertion of app {client_id}"
                     " as outside its valid time", "Check that this machine's clock is right"),
    700016: _Meaning("no app with client ID {client_id} exists in tenant {tenant}: the client ID"
                     " or the tenant is wrong", "Copy client_id (Application (client) ID) and"
                     f" tenant_id (Directory (tenant) ID) from {_PORTAL} > Overview"),
    90002: _Meaning("tenant {tenant} does not exist", "Set tenant_id to the Directory (tenant) ID"
                    f" shown in {_PORTAL} > Overview"),
    900023: _Meaning("{tenant} is not a valid tenant ID", "Set tenant_id to the Directory (tenant)"
                     f" ID (a GUID) shown in {_PORTAL} > Overview"),
    90019: _Meaning("no tenant was named in the request", "Set tenant_id to the Directory"
                    f" (tenant) ID shown in {_PORTAL} > Overview"),
    7000112: _Meaning("app {client_id} is disabled in tenant {tenant}", "An administrator must"
                      " enable it: Enterprise applications > the app > Properties > Enabled for"
                      " users to sign in"),
    70011: _Meaning("the scope {scope} is not valid for app {client_id}", _SCOPE_FIX),
    1002012: _Meaning("the scope {scope} is not valid: app-only tokens need a scope ending in"
                      " /.default", _SCOPE_FIX),
    500011: _Meaning("the resource of scope {scope} is not in tenant {tenant} (a wrong scope, or"
                     " the service is not licensed there)", _SCOPE_FIX),
    65001: _Meaning("app {client_id} has not been granted admin consent for its permissions",
                    _CONSENT_FIX),
    53003: _Meaning("a Conditional Access policy of tenant {tenant} blocks app {client_id}",
                    "Ask the tenant's administrator to exclude the app or this server's address"
                    " from the policy"),
}

# OAuth2 errors (RFC 6749 5.2, plus Entra's) for codes not listed above.
_BY_ERROR: dict[str, _Meaning] = {
    "invalid_client": _Meaning("the identity platform refused the credentials of app"
                               " {client_id}", _NEW_SECRET),
    "unauthorized_client": _Meaning("app {client_id} may not get tokens in tenant {tenant}",
                                    f"Check client_id and tenant_id against {_PORTAL} >"
                                    " Overview"),
    "invalid_tenant": _Meaning("tenant {tenant} was not found", "Set tenant_id to the Directory"
                               f" (tenant) ID shown in {_PORTAL} > Overview"),
    "invalid_scope": _Meaning("app {client_id} may not get tokens for scope {scope}", _SCOPE_FIX),
    "invalid_resource": _Meaning("scope {scope} names no resource in tenant {tenant}", _SCOPE_FIX),
    "invalid_grant": _Meaning("the identity platform refused the grant for app {client_id}",
                              _CONSENT_FIX),
}

# Worth trying again later rather than reporting as a broken configuration.
_PASSING = {"temporarily_unavailable", "server_error"}


def refusal_error(answer: dict, *, client_id: str, tenant: str, scope: str) -> MailbotError:
    """The error for an answer of the token endpoint that carries ``error``."""
    error = str(answer.get("error", ""))
    description = str(answer.get("error_description", ""))
    codes = [int(c) for c in answer.get("error_codes", []) if str(c).isdigit()]
    codes += [c for c in aadsts_codes(description) if c not in codes]
    said = first_sentence(description)
    if error in _PASSING:
        return TransientError(f"the Microsoft identity platform is unavailable ({error}): {said}")
    meaning = next((_KNOWN[c] for c in codes if c in _KNOWN), None) or _BY_ERROR.get(error)
    names = {"client_id": client_id, "tenant": tenant, "scope": scope}
    code = f"AADSTS{codes[0]}" if codes else error or "no error code"
    if meaning is None:
        return AuthenticationFailed(f"Microsoft 365 refused a token for app {client_id} ({code}):"
                                    f" {said}", "See https://login.microsoftonline.com/error"
                                    f"?code={codes[0] if codes else ''}")
    return AuthenticationFailed(f"Microsoft 365 refused a token: {meaning.reason.format(**names)}"
                                f" ({code})", meaning.fix)


def aadsts_codes(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"AADSTS(\d+)", text)]


def first_sentence(description: str) -> str:
    """Microsoft's own words, without the trace and correlation IDs that follow them."""
    head = description.split("\r\n")[0].split("\n")[0]
    return re.sub(r"^AADSTS\d+:\s*", "", head).strip()
