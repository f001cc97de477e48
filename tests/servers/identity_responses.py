"""The Microsoft identity platform's documented answers, for the loopback fake in ``identity``.

Error bodies follow the token endpoint's documented shape: ``error`` (the OAuth2 code of
RFC 6749 section 5.2), ``error_description`` starting with the AADSTS code and ending with the
trace and correlation IDs, ``error_codes``, ``timestamp``, ``trace_id``, ``correlation_id`` and
``error_uri``. The texts are those Microsoft's error-code reference gives for each code.
invalid_client is answered with 401, everything else with 400, as the real endpoint does.
"""

from __future__ import annotations

import datetime
import json
import uuid

# code: (OAuth2 error, HTTP status, description with {placeholders})
_ERRORS: dict[int, tuple[str, int, str]] = {
    90002: ("invalid_tenant", 400,
            "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are"
            " signing into the correct cloud. Check with your subscription administrator, this may"
            " happen if there are no active subscriptions for the tenant."),
    900023: ("invalid_request", 400,
             "Specified tenant identifier '{tenant}' is neither a valid DNS name, nor a valid"
             " external domain."),
    70003: ("unsupported_grant_type", 400,
            "The app requested an unsupported grant type '{grant_type}'."),
    700016: ("unauthorized_client", 400,
             "Application with identifier '{client_id}' was not found in the directory '{tenant}'."
             " This can happen if the application has not been installed by the administrator of"
             " the tenant or consented to by any user in the tenant. You may have sent your"
             " authentication request to the wrong tenant."),
    7000112: ("unauthorized_client", 400,
              "Application '{client_id}'({name}) is disabled."),
    7000215: ("invalid_client", 401,
              "Invalid client secret provided. Ensure the secret being sent in the request is the"
              " client secret value, not the client secret ID, for a secret added to app"
              " '{client_id}'."),
    7000222: ("invalid_client", 401,
              "The provided client secret keys for app '{client_id}' are expired. Visit the Azure"
              " portal to create new keys for your app: https://aka.ms/NewClientSecret, or"
              " consider using certificate credentials for added security:"
              " https://aka.ms/certCreds."),
    7000218: ("invalid_client", 401,
              "The request body must contain the following parameter: 'client_assertion' or"
              " 'client_secret'."),
    700027: ("invalid_client", 401,
             "Client assertion failed signature validation. (Reason - The key was not found.,"
             " Thumbprint of key used by client: '{thumbprint}'. Please visit the Azure Portal,"
             " Graph Explorer or directly use MS Graph to see configured keys for app Id"
             " '{client_id}'.)"),
    1002012: ("invalid_scope", 400,
              "The provided value for scope {scope} is not valid. Client credential flows must"
              " have a scope value with /.default suffixed to the resource identifier"
              " (application ID URI)."),
    500011: ("invalid_resource", 400,
             "The resource principal named {resource} was not found in the tenant named"
             " {tenant}. This can happen if the application has not been installed by the"
             " administrator of the tenant or consented to by any user in the tenant. You might"
             " have sent your authentication request to the wrong tenant."),
}


def error_response(code: int, **values: str) -> tuple[int, dict]:
    """(HTTP status, JSON body) of AADSTS``code``, its placeholders filled from ``values``."""
    error, status, text = _ERRORS[code]
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    description = (f"AADSTS{code}: {text.format_map(_Lenient(values))}\r\nTrace ID: {trace_id}"
                   f"\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {now}")
    return status, {
        "error": error, "error_description": description, "error_codes": [code],
        "timestamp": now, "trace_id": trace_id, "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


def openid_configuration(base: str, tenant: str, tenant_id: str) -> dict:
    """The v2.0 discovery document of ``tenant``, its endpoints on ``base``."""
    root = f"{base}/{tenant}"
    return {
        "token_endpoint": f"{root}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                  "client_secret_basic"],
        "jwks_uri": f"{root}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base}/{tenant_id}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce",
                             "preferred_username", "name", "tid", "ver", "at_hash", "c_hash",
                             "email"],
        "kerberos_endpoint": f"{root}/kerberos",
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }


def token_response(access_token: str, expires_in: int) -> dict:
    """A successful client-credentials answer (no refresh token in this flow)."""
    return {"token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in,
            "access_token": access_token}


def as_json(body: dict) -> bytes:
    return json.dumps(body).encode()


class _Lenient(dict):
    """Leaves unknown placeholders visible instead of failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
