"""The msal token provider against the loopback identity platform (tests/servers/identity).

msal runs for real, over https, against the documented discovery and token responses; the
provider's clock is a test clock, so refresh timing is checked without waiting.
"""

from __future__ import annotations

import datetime
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from mailbot.adapters.bearer_tokens import token_claims
from mailbot.adapters.microsoft.tokens import MsalTokenProvider
from mailbot.domain.errors import AuthenticationFailed, TransientError
from tests.servers.identity import EXCHANGE, IdentityPlatform, thumbprint_of
from tests.servers.tls import Certificate, make_certificate

SCOPE = f"{EXCHANGE}/.default"


class Clock:
    def __init__(self, start: float = 1_800_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("identity-tls"))


@pytest.fixture
def platform(certificate):
    with IdentityPlatform(certificate) as running:
        yield running


@pytest.fixture
def app(platform):
    return platform.register_app("bsp@bury.example")


def provider_for(platform, app, *, certificate: Certificate | None = None, **options):
    settings = {"scope": SCOPE, "client_secret": app.secret, "tenant_id": platform.tenant_id,
                "client_id": app.client_id, "authority_host": platform.authority_host,
                "verify": str(certificate.cert_path) if certificate else True, "timeout": 5,
                **options}
    tenant, client = settings.pop("tenant_id"), settings.pop("client_id")
    return MsalTokenProvider(tenant, client, **settings)


@pytest.fixture
def make_provider(platform, app, certificate):
    return lambda **options: provider_for(platform, app, certificate=certificate, **options)


def test_a_token_is_fetched_once_and_kept_until_shortly_before_it_expires(platform, make_provider):
    clock = Clock()
    provider = make_provider(clock=clock, refresh_margin_seconds=300)
    first = provider()
    clock.advance(3600 - 300 - 1)
    assert provider() == first
    assert len(platform.token_requests) == 1


def test_the_token_is_refreshed_before_expiry_although_msal_still_holds_it(platform,
                                                                           make_provider):
    clock = Clock()
    provider = make_provider(clock=clock, refresh_margin_seconds=300)
    first = provider()
    clock.advance(3600 - 300 + 1)  # msal's cache, on the wall clock, still thinks it fresh
    second = provider()
    assert second != first
    assert len(platform.token_requests) == 2
    assert provider() == second


def test_a_token_shorter_lived_than_the_margin_is_kept_for_half_its_life(platform,
                                                                         make_provider):
    platform.token_lifetime = 120
    clock = Clock()
    provider = make_provider(clock=clock, refresh_margin_seconds=300)
    first = provider()
    clock.advance(59)
    assert provider() == first
    clock.advance(2)
    assert provider() != first


def test_invalidate_makes_the_next_call_fetch_a_fresh_token(platform, make_provider):
    provider = make_provider()
    first = provider()
    provider.invalidate()
    assert provider() != first
    assert len(platform.token_requests) == 2


def test_the_token_is_an_app_only_token_for_the_scope(platform, app, make_provider):
    claims = token_claims(make_provider()())
    assert claims["aud"] == EXCHANGE and claims["appid"] == app.client_id
    assert "IMAP.AccessAsApp" in claims["roles"] and claims["sub"]
    request = platform.token_requests[0]
    assert request["grant_type"] == "client_credentials" and request["scope"] == SCOPE


def test_callers_on_many_threads_share_one_token_request(platform, make_provider):
    provider = make_provider()
    tokens: list[str] = []
    threads = [threading.Thread(target=lambda: tokens.append(provider())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(set(tokens)) == 1 and len(tokens) == 8
    assert len(platform.token_requests) == 1


def _expire(platform, app):
    platform.expire_secret(app.client_id)
    return {}


def _revoke(platform, app):
    secret = app.secret
    platform.revoke_secret(app.client_id)
    return {"client_secret": secret}


REFUSALS = {  # case: (arrange, part of the reason, AADSTS code, part of the fix)
    "expired secret": (_expire, "client secret of app {client} has expired", 7000222,
                       "Create a new client secret"),
    "wrong secret": (lambda p, a: {"client_secret": "Q~not-the-secret"},
                     "client secret given for app {client} is wrong", 7000215,
                     "its Value (not its Secret ID)"),
    "revoked secret": (_revoke,
                       "client secret given for app {client} is wrong", 7000215,
                       "Create a new client secret"),
    "wrong client id": (lambda p, a: {"client_id": "11111111-2222-3333-4444-555555555555"},
                        "no app with client ID 11111111-2222-3333-4444-555555555555 exists",
                        700016, "Application (client) ID"),
    "unknown tenant": (lambda p, a: {"tenant_id": "99999999-8888-7777-6666-555555555555"},
                       "tenant 99999999-8888-7777-6666-555555555555 does not exist", 90002,
                       "Directory (tenant) ID"),
    "malformed tenant": (lambda p, a: {"tenant_id": "bury"}, "bury is not a valid tenant ID",
                         900023, "Directory (tenant) ID"),
    "disabled app": (lambda p, a: p.disable_app(a.client_id) or {},
                     "app {client} is disabled in tenant", 7000112, "Enabled for users to sign in"),
    "scope without .default": (lambda p, a: {"scope": f"{EXCHANGE}/IMAP.AccessAsApp"},
                               "app-only tokens need a scope ending in /.default", 1002012,
                               "https://outlook.office365.com/.default"),
    "unknown resource": (lambda p, a: {"scope": "https://example.invalid/.default"},
                         "is not in tenant", 500011, "Set scope"),
}


@pytest.mark.parametrize("case", list(REFUSALS), ids=list(REFUSALS))
def test_each_refusal_names_its_exact_reason_and_the_fix(platform, app, certificate, case):
    arrange, reason, code, fix = REFUSALS[case]
    provider = provider_for(platform, app, certificate=certificate, **arrange(platform, app))
    with pytest.raises(AuthenticationFailed) as caught:
        provider()
    assert reason.format(client=app.client_id) in caught.value.reason
    assert f"(AADSTS{code})" in caught.value.reason
    assert fix in caught.value.fix


def test_an_unreachable_identity_platform_is_transient_and_recovery_is_seen(platform,
                                                                            make_provider):
    provider = make_provider()
    platform.go_down()
    with pytest.raises(TransientError) as caught:
        provider()
    assert "cannot reach the Microsoft identity platform" in str(caught.value)
    platform.come_up()
    assert provider()


def test_an_untrusted_certificate_is_transient_and_named(platform, app):
    provider = provider_for(platform, app, verify=True)
    with pytest.raises(TransientError) as caught:
        provider()
    assert "cannot verify the TLS certificate" in str(caught.value)


def test_the_configured_ca_file_wins_over_the_environment_bundle(platform, make_provider,
                                                                 monkeypatch):
    # requests lets REQUESTS_CA_BUNDLE override a session's verify; ours must not yield to it.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    assert make_provider()()


def test_a_new_secret_works_where_the_expired_one_failed(platform, app, make_provider):
    platform.expire_secret(app.client_id)
    with pytest.raises(AuthenticationFailed):
        make_provider()()
    fixed = make_provider(client_secret=platform.new_secret(app.client_id))
    assert fixed()


def _rsa_certificate(password: bytes | None = None) -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mailbot")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                encryption)
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def test_a_registered_certificate_gets_a_token_and_an_unregistered_one_is_named(
        platform, app, certificate):
    cert_pem, key_pem = _rsa_certificate()
    credential = {"private_key": key_pem.decode(), "thumbprint": thumbprint_of(cert_pem)}
    provider = MsalTokenProvider(platform.tenant_id, app.client_id, scope=SCOPE,
                                 certificate=credential, authority_host=platform.authority_host,
                                 verify=str(certificate.cert_path), timeout=5)
    with pytest.raises(AuthenticationFailed) as caught:
        provider()
    assert "certificate used for app" in caught.value.reason
    assert "AADSTS700027" in caught.value.reason
    platform.register_certificate(app.client_id, cert_pem)
    registered = MsalTokenProvider(platform.tenant_id, app.client_id, scope=SCOPE,
                                   certificate=credential,
                                   authority_host=platform.authority_host,
                                   verify=str(certificate.cert_path), timeout=5)
    assert token_claims(registered())["appid"] == app.client_id


def test_an_encrypted_key_works_with_its_password_and_a_wrong_one_is_named(platform, app,
                                                                          certificate):
    cert_pem, key_pem = _rsa_certificate(password=b"correct horse")
    platform.register_certificate(app.client_id, cert_pem)

    def provider(passphrase: str) -> MsalTokenProvider:
        credential = {"private_key": key_pem.decode(), "thumbprint": thumbprint_of(cert_pem),
                      "passphrase": passphrase}
        return MsalTokenProvider(platform.tenant_id, app.client_id, scope=SCOPE,
                                 certificate=credential, authority_host=platform.authority_host,
                                 verify=str(certificate.cert_path), timeout=5)

    assert provider("correct horse")()
    with pytest.raises(AuthenticationFailed) as caught:
        provider("battery staple")()
    assert "private key of the certificate" in caught.value.reason
    assert "certificate_password_env" in caught.value.fix


@pytest.mark.parametrize("options", [
    {"client_secret": None},
    {"certificate": {"private_key": "x", "thumbprint": "y"}},
    {"client_secret": None, "certificate": {"private_key": "x"}},
    {"authority_host": "http://127.0.0.1:1"},
])
def test_a_provider_needs_one_credential_and_an_https_authority(options):
    settings = {"scope": SCOPE, "client_secret": "s", **options}
    with pytest.raises(ValueError):
        MsalTokenProvider("tenant", "client", **settings)
