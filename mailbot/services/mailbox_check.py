"""Checking a mailbox end to end, for `mailbot mailboxes check`: login, folder, fetch, send.

A probe per kind of mailbox does the talking (``adapters.mailbox_probes``); this module runs its
steps in order, turns each failure into a reason and a fix a person can act on, and reports. One
mailbox's failure never stops the check of the next. Probes only read: nothing is marked
processed, moved or changed, and no mail is sent unless a test message was asked for.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from mailbot.domain.errors import (
    AuthenticationFailed,
    ConfigError,
    MailbotError,
    PermanentError,
    TransientError,
)
from mailbot.services.ports import ReceiveProbe, SendProbe

log = logging.getLogger(__name__)

RECEIVE_STEPS = ("login", "folder", "fetch")


class Outcome(Enum):
    OK = "ok"
    FAILED = "FAILED"
    NOT_CHECKED = "not checked"
    SKIPPED = "skipped"


class ProbeFailed(MailbotError):
    """A step found a problem; ``reason`` says what it is and ``fix`` what to do about it."""

    def __init__(self, reason: str, fix: str = ""):
        self.reason, self.fix = reason, fix
        super().__init__(reason)


class NotChecked(MailbotError):
    """A step that cannot be proven without side effects; ``reason`` says how to prove it."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class StepResult:
    step: str
    outcome: Outcome
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class MailboxReport:
    name: str
    description: str
    steps: tuple[StepResult, ...]

    @property
    def works(self) -> bool:
        """"Not checked" is no failure: the report says plainly what was left unproven."""
        return all(step.outcome in (Outcome.OK, Outcome.NOT_CHECKED) for step in self.steps)


def check_mailbox(name: str, description: str, receive: ReceiveProbe, send: SendProbe,
                  send_test_to: str | None = None) -> MailboxReport:
    """Runs every step; a receive step after a failed one is skipped, the send step always runs
    unless it needs the login that failed."""
    steps: list[StepResult] = []
    actions = (receive.login, receive.open_folder, receive.fetch)
    try:
        for step, action in zip(RECEIVE_STEPS, actions, strict=True):
            failed = next((s.step for s in steps if s.outcome is Outcome.FAILED), None)
            if failed:
                steps.append(StepResult(step, Outcome.SKIPPED, f"not tried: {failed} failed"))
                continue
            steps.append(run_step(step, action, receive.where))
    finally:
        with contextlib.suppress(Exception):  # a failed goodbye changes nothing
            receive.close()
    if send.needs_login and steps[0].outcome is Outcome.FAILED:
        steps.append(StepResult("send", Outcome.SKIPPED, "not tried: login failed"))
    elif send_test_to:
        steps.append(run_step("send", lambda: send.send_test(send_test_to), send.where))
    else:
        steps.append(run_step("send", send.check, send.where))
    return MailboxReport(name, description, tuple(steps))


def run_step(step: str, action: Callable[[], str], where: str) -> StepResult:
    """One step, its failure translated into a reason and a fix."""
    try:
        return StepResult(step, Outcome.OK, action())
    except NotChecked as error:
        return StepResult(step, Outcome.NOT_CHECKED, error.reason)
    except (ProbeFailed, AuthenticationFailed) as error:
        return StepResult(step, Outcome.FAILED, error.reason, error.fix)
    except ConfigError as error:
        return StepResult(step, Outcome.FAILED, f"{error.file}: {error.key}: {error.problem}", error.fix)
    except TransientError as error:
        return _transient(step, error, where)
    except PermanentError as error:
        return StepResult(step, Outcome.FAILED, str(error),
                          "Correct the setting or server permission the message names, then check again.")
    except Exception as error:
        # The check reports rather than crashes, so the other mailboxes still get checked.
        log.debug("%s step failed unexpectedly", step, exc_info=True)
        return StepResult(step, Outcome.FAILED, f"unexpected {type(error).__name__}: {error}",
                          "Run the check again with -v to see the details, and report it.")


def _transient(step: str, error: TransientError, where: str) -> StepResult:
    network = _network_cause(error)
    if network is not None:
        detail = network.strerror or str(network) or type(network).__name__
        return StepResult(step, Outcome.FAILED, f"cannot reach {where}: {detail}",
                          "Check the host name and port, that the server is running, and that this"
                          " machine may connect to it (firewall, proxy); then check again.")
    return StepResult(step, Outcome.FAILED, f"{where} failed for now: {error}",
                      "A temporary failure: check again later; if it persists, ask the server's"
                      " administrator.")


def _network_cause(error: BaseException) -> OSError | None:
    """The socket error behind ``error``, however many libraries wrapped it on the way up.

    The innermost error with an errno (connection refused, host unreachable) says most; a
    timeout has none, so any OSError will do when there is no such error.
    """
    found: list[OSError] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError):
            found.append(current)
        current = current.__cause__ or current.__context__
    with_errno = [e for e in found if e.errno is not None]
    return (with_errno or found)[-1] if found else None


def render(report: MailboxReport) -> str:
    """The report as the lines `mailbot mailboxes check` prints."""
    verdict = "works" if report.works else "FAILED"
    lines = [f"{report.name} ({report.description}): {verdict}"]
    for step in report.steps:
        lines.append(f"  {step.step:<7}{step.outcome.value:<12}{step.detail}")
        if step.fix:
            lines.append(f"{'':<21}fix: {step.fix}")
    return "\n".join(lines)


def summary(reports: list[MailboxReport]) -> str:
    broken = [r.name for r in reports if not r.works]
    noun = "mailbox" if len(reports) == 1 else "mailboxes"
    if not broken:
        return f"{len(reports)} {noun} checked: all work."
    return f"{len(reports)} {noun} checked: {len(broken)} failed ({', '.join(broken)})."
