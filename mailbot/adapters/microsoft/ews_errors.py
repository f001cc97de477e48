"""Sorting exchangelib's failures into mailbot's error family, for the EWS mailbox and mailer.

exchangelib runs with its fail-fast policy (see ``ews_account``), so every failure reaches us
at once and is sorted here: a refused login or a mailbox the account may not open is
AuthenticationFailed with the fix; throttling (ErrorServerBusy, with the server's
BackOffMilliseconds), dropped connections, timeouts and a server briefly unable to reach its
mailbox database are TransientError; everything else is PermanentError.
"""

from __future__ import annotations

import re

import requests
from exchangelib import errors as ews

from mailbot.domain.errors import AuthenticationFailed, MailbotError, PermanentError, TransientError

# exchangelib's own errors, plus what requests and sockets raise around them.
EWS_FAILURES: tuple[type[BaseException], ...] = (ews.EWSError, requests.RequestException, OSError)

_TRANSIENT = (
    ews.ErrorTimeoutExpired,  # also how exchangelib reports a dropped or refused connection
    ews.RateLimitError, ews.ErrorInternalServerTransientError, ews.ErrorTooManyObjectsOpened,
    ews.ErrorExceededConnectionCount, ews.ErrorMailboxMoveInProgress,
    ews.ErrorMailboxStoreUnavailable, ews.ErrorConnectionFailed,
    ews.ErrorConnectionFailedTransientError, ews.ErrorADUnavailable, ews.ErrorProxyCallFailed,
    ews.ErrorInternalServerError, ews.SOAPError,  # SOAPError: a body cut short
)
_NO_ACCESS = {
    ews.ErrorAccessDenied: "the account may not open this mailbox",
    ews.ErrorNonExistentMailbox: "the server has no mailbox with this address",
    ews.ErrorImpersonateUserDenied: "the account may not impersonate this mailbox",
    ews.ErrorImpersonationDenied: "the account may not impersonate this mailbox",
    ews.ErrorAccountDisabled: "the account is disabled",
}
_HTTP_CODE = re.compile(r"Code: (\d{3})")
MAX_BACK_OFF = 600.0  # seconds; a longer hint from the server is capped, the worker retries later


class ServerBusy(TransientError):
    """Exchange is throttling this account; ``back_off`` is how long it asked us to wait."""

    def __init__(self, message: str, back_off: float):
        self.back_off = back_off
        super().__init__(message)


def translate(error: BaseException, doing: str, *, endpoint: str, username: str) -> MailbotError:
    """The error family member for ``error``, which happened while ``doing`` (for a person)."""
    if isinstance(error, MailbotError):
        return error  # from the token provider, already sorted
    error = _unwrapped(error)
    if isinstance(error, ews.UnauthorizedError):
        return AuthenticationFailed(
            f"{endpoint} refused the login of {username} (HTTP 401) while {doing}",
            "Check the username and the password in password_env (or, for oauth2, the app"
            " registration's permission full_access_as_app), and that the account is not locked out")
    for kind, reason in _NO_ACCESS.items():
        if isinstance(error, kind):
            return AuthenticationFailed(
                f"{endpoint}: {reason} while {doing} ({type(error).__name__}: {error})",
                "Give the account Full Access to the mailbox (Add-MailboxPermission), or, for"
                " oauth2, the ApplicationImpersonation role, and check the mailbox address")
    if isinstance(error, ews.ErrorServerBusy):
        back_off = min(float(error.back_off or 0) or 30.0, MAX_BACK_OFF)
        return ServerBusy(f"Exchange is busy (ErrorServerBusy) while {doing}; it asked us to wait"
                          f" {back_off:.0f}s", back_off)
    if isinstance(error, (*_TRANSIENT, requests.ConnectionError, OSError)):
        return TransientError(f"EWS {doing}: {type(error).__name__}: {error}")
    if isinstance(error, ews.CASError):
        return PermanentError(f"EWS {doing}: the Client Access server refused: {error}")
    if isinstance(error, ews.MalformedResponseError):
        code = _HTTP_CODE.search(str(error))
        if code and code.group(1).startswith("5"):
            return TransientError(f"EWS {doing}: HTTP {code.group(1)} from {endpoint}")
        status = f"HTTP {code.group(1)}" if code else "an answer that is not EWS"
        return PermanentError(f"EWS {doing}: {endpoint} gave {status}; is service_endpoint right"
                              " (it ends in /EWS/Exchange.asmx)?")
    if isinstance(error, ews.TransportError) and "CERTIFICATE_VERIFY_FAILED" in str(error):
        return PermanentError(f"EWS {doing}: the certificate of {endpoint} is not trusted; set"
                              " ews.ca_file to the CA that signed it")
    if isinstance(error, ews.RedirectError):
        return PermanentError(f"EWS {doing}: {endpoint} redirects elsewhere ({error}); set"
                              " service_endpoint to the final address")
    return PermanentError(f"EWS {doing}: {type(error).__name__}: {error}")


def is_connection_drop(error: BaseException) -> bool:
    """A connection closed under us (a keep-alive the server dropped): a fresh one may cure it.

    exchangelib reports it as ErrorTimeoutExpired raised while handling the requests error, so
    the original is its ``__context__``. Timeouts are not drops: retrying would double the wait.
    """
    error = _unwrapped(error)
    cause = error.__context__ if isinstance(error, ews.ErrorTimeoutExpired) else error
    dropped = (requests.ConnectionError, requests.exceptions.ChunkedEncodingError, ConnectionError)
    return isinstance(cause, dropped) and not isinstance(cause, requests.Timeout)


def _unwrapped(error: BaseException) -> BaseException:
    """The real failure behind exchangelib's "No valid version headers found" wrapper.

    The first request of a session asks the server for its version; whatever goes wrong then
    (a 503, throttling, a dropped connection) comes back as a plain TransportError raised while
    handling the actual error, which is kept as ``__context__``.
    """
    context = error.__context__
    if isinstance(error, ews.TransportError) and not isinstance(error, ews.ResponseMessageError) \
            and isinstance(context, ews.ResponseMessageError):
        return context
    return error
