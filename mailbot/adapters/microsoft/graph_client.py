"""The HTTP layer under the Graph mailbox and mailer: one httpx client per mailbox user.

Every request carries a bearer token from the mailbox's token provider. A 401 or 403 is tried
once more with a fresh token (a cached token may predate a secret's renewal or an admin's
consent); after that it is AuthenticationFailed with Graph's own code and message. Throttling
(429, and 503 with Retry-After) is waited out as Graph asks, within a bounded total per
request, then surfaces as TransientError. Exchange Online allows four concurrent requests per
app and mailbox, so one semaphore per (service, user) caps what is in flight, shared by the
mailbox and the mailer of that user. Network failures and 5xx answers are TransientError;
other 4xx answers are GraphRefused (a PermanentError that keeps the status and Graph's code).
"""

from __future__ import annotations

import email.utils
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from mailbot.adapters.connection_security import is_loopback
from mailbot.domain.errors import AuthenticationFailed, ConfigError, PermanentError, TransientError

log = logging.getLogger(__name__)

GRAPH_URL = "https://graph.microsoft.com/v1.0"
MAX_THROTTLE_WAIT = 120.0  # seconds one request may spend waiting out 429s before giving up
_BACKOFF_CAP = 30.0
_THROTTLED = (429, 503)

_slots_lock = threading.Lock()
_slots: dict[tuple[str, str], threading.BoundedSemaphore] = {}


class GraphRefused(PermanentError):
    """Graph answered with a 4xx other than 401, 403 and 429: the request or its target is wrong."""

    def __init__(self, status: int, code: str, message: str, doing: str):
        self.status, self.code, self.graph_message = status, code, message
        super().__init__(f"Microsoft Graph refused {doing}: {status} {code}: {message}")


def mailbox_slots(base_url: str, user: str, limit: int) -> threading.BoundedSemaphore:
    """The semaphore every client of this user's mailbox shares (the first caller sets its size)."""
    key = (_origin(base_url), user.lower())
    with _slots_lock:
        if key not in _slots:
            _slots[key] = threading.BoundedSemaphore(limit)
        return _slots[key]


class GraphClient:
    """Sync httpx calls to Graph for one mailbox user; paths are relative to ``base_url``."""

    def __init__(
        self, token_provider: Callable[[], str], user: str, *, base_url: str = GRAPH_URL,
        max_concurrent_requests: int = 4, timeout: float = 30, verify: bool | str | ssl.SSLContext = True,
        max_throttle_wait: float = MAX_THROTTLE_WAIT,
    ):
        parts = urlsplit(base_url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ConfigError("config", "graph.base_url", f"not an http(s) URL: {base_url!r}",
                              'use "https://graph.microsoft.com/v1.0"')
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            # The bearer token and children's details would cross the network readable.
            raise ConfigError("config", "graph.base_url", f"plain http to {parts.hostname!r} is refused",
                              "use https; plain http is for loopback test servers only")
        self.user, self.base_url = user, base_url.rstrip("/")
        self._token_provider = token_provider
        self._timeout, self._verify = timeout, _tls(verify)
        self._max_throttle_wait = max_throttle_wait
        self._limit = max_concurrent_requests
        self._slots = mailbox_slots(self.base_url, user, max_concurrent_requests)
        self._lock = threading.Lock()
        self._http: httpx.Client | None = None

    # -- paths ---------------------------------------------------------------------------------

    def user_path(self, *segments: str) -> str:
        """``/users/{user}/a/b`` with every segment percent-encoded (Graph ids hold '=' and '-')."""
        return "/".join(["/users", quote(self.user, safe="@"), *(quote(s, safe="=$") for s in segments)])

    # -- requests ------------------------------------------------------------------------------

    def request(
        self, method: str, path: str, *, doing: str, params: Mapping[str, str] | None = None,
        json: Any = None, content: bytes | None = None, headers: Mapping[str, str] | None = None,
        expect: tuple[int, ...] = (200,), permission: str = "Mail.ReadWrite",
        retry_dropped: bool | None = None,
    ) -> httpx.Response:
        """One call, with token refresh, throttling waits and (for GET) one retry of a dropped link.

        ``retry_dropped`` defaults to True for GET; a caller passes True for a POST only when
        repeating it is harmless (a repeated move finds the message gone, which it handles).
        """
        url = self._url(path)
        retry_dropped = method == "GET" if retry_dropped is None else retry_dropped
        refreshed = dropped = False
        waited, throttles = 0.0, 0
        while True:
            try:
                response = self._send(method, url, params, json, content, headers)
            except httpx.TransportError as error:
                if retry_dropped and not dropped and not _certificate_refused(error):
                    dropped = True
                    log.info("Graph %s: %s while %s; retrying once", self.user, type(error).__name__, doing)
                    continue
                raise self._transport_error(error, doing) from error
            status = response.status_code
            if status in expect:
                return response
            if status in (401, 403) and not refreshed:
                refreshed = True
                self._invalidate_token()
                continue
            if status in _THROTTLED and (status == 429 or "Retry-After" in response.headers):
                throttles += 1
                waited += self._wait_out(response, waited, throttles, doing)
                continue
            raise graph_error(response, self.user, doing, permission)

    def _wait_out(self, response: httpx.Response, waited: float, throttles: int, doing: str) -> float:
        """Sleep as long as Graph asks, unless that would pass this request's budget."""
        wait = _retry_after(response.headers.get("Retry-After"), throttles)
        if waited + wait > self._max_throttle_wait:
            answer = f"{response.status_code} {_code(response)}"
            raise TransientError(f"Microsoft Graph is throttling mailbox {self.user} ({answer}); waited"
                                 f" {waited:.0f}s already and it asks for {wait:.0f}s more")
        log.warning("Graph %s: throttled (%d) while %s; waiting %.1fs as asked",
                    self.user, response.status_code, doing, wait)
        time.sleep(wait)
        return wait

    def get_json(self, path: str, *, doing: str, params: Mapping[str, str] | None = None,
                 headers: Mapping[str, str] | None = None) -> dict:
        return _json(self.request("GET", path, doing=doing, params=params, headers=headers), doing)

    def pages(self, path: str, *, doing: str, params: Mapping[str, str] | None = None,
              headers: Mapping[str, str] | None = None) -> Iterator[dict]:
        """Each page of a collection, following @odata.nextLink (which already carries the query)."""
        page = self.get_json(path, doing=doing, params=params, headers=headers)
        yield page
        while next_link := page.get("@odata.nextLink"):
            page = self.get_json(next_link, doing=doing, headers=headers)
            yield page

    def close(self) -> None:
        with self._lock:
            http, self._http = self._http, None
        if http is not None:
            http.close()

    # -- internals -----------------------------------------------------------------------------

    def _send(self, method, url, params, json, content, headers) -> httpx.Response:
        token = self._token_provider()
        sent_headers = {**(headers or {}), "Authorization": f"Bearer {token}"}
        with self._slots:  # held for the exchange only, never while sleeping out a throttle
            return self._client().request(method, url, params=params, json=json, content=content,
                                          headers=sent_headers)

    def _client(self) -> httpx.Client:
        with self._lock:
            if self._http is None:
                limits = httpx.Limits(max_connections=self._limit, max_keepalive_connections=self._limit)
                self._http = httpx.Client(timeout=self._timeout, verify=self._verify, limits=limits,
                                          headers={"Accept": "application/json",
                                                   "User-Agent": "mailbot (Graph mailbox adapter)"},
                                          follow_redirects=False)
            return self._http

    def _url(self, path: str) -> str:
        if not path.startswith(("http://", "https://")):
            return self.base_url + path
        # nextLink and deltaLink are absolute; the token must never go to another host.
        if _origin(path) != _origin(self.base_url):
            raise PermanentError(f"Microsoft Graph sent a link to another host: {_origin(path)}")
        return path

    def _invalidate_token(self) -> None:
        invalidate = getattr(self._token_provider, "invalidate", None)
        if callable(invalidate):
            invalidate()

    def _transport_error(self, error: httpx.TransportError, doing: str) -> Exception:
        if _certificate_refused(error):
            return PermanentError(
                f"Microsoft Graph at {_origin(self.base_url)}: the server's certificate is not trusted"
                f" ({error}). Install the CA that signed it, or check for a proxy intercepting TLS.")
        return TransientError(f"Microsoft Graph unreachable while {doing} for {self.user}:"
                              f" {type(error).__name__}: {error}")


def graph_error(response: httpx.Response, user: str, doing: str, permission: str) -> Exception:
    """The error family member for a failed Graph answer, carrying Graph's code and message."""
    status, code, message = response.status_code, _code(response), _message(response)
    if status == 401:
        return AuthenticationFailed(
            f"Microsoft Graph refused the access token for mailbox {user} ({code}: {message})",
            "Check the app registration's tenant id and client id, and that its client secret or"
            " certificate has not expired or been revoked; the token must be requested for"
            " https://graph.microsoft.com/.default.")
    if status == 403:
        return AuthenticationFailed(
            f"Microsoft Graph denied access to mailbox {user} while {doing} ({code}: {message})",
            f"Grant the app registration the {permission} application permission (with admin"
            " consent), and check that the Exchange application access policy includes this mailbox.")
    if status >= 500:
        return TransientError(f"Microsoft Graph failed while {doing} for {user}: {status} {code}: {message}")
    return GraphRefused(status, code, message, doing)


def _json(response: httpx.Response, doing: str) -> dict:
    try:
        body = response.json()
    except ValueError as error:
        raise TransientError(f"Microsoft Graph sent something other than JSON while {doing}") from error
    if not isinstance(body, dict):
        raise TransientError(f"Microsoft Graph sent an unexpected JSON shape while {doing}")
    return body


def _error_body(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _code(response: httpx.Response) -> str:
    return str(_error_body(response).get("code") or response.reason_phrase or "error")


def _message(response: httpx.Response) -> str:
    message = _error_body(response).get("message")
    return str(message if message else response.text[:200]).strip() or "(no message)"


def _retry_after(value: str | None, attempt: int) -> float:
    """Seconds from a Retry-After header (seconds or an HTTP date), else exponential backoff."""
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, (when - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            pass
    return min(_BACKOFF_CAP, 2.0 ** (attempt - 1))


def _certificate_refused(error: BaseException) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _tls(verify: bool | str | ssl.SSLContext) -> bool | ssl.SSLContext:
    """httpx wants a context for a private CA bundle; a path is what a config file holds."""
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return verify


def _origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"
