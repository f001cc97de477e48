"""The mailbox check's step logic, with hand-written probes: order, skipping, and the wording."""

from __future__ import annotations

from mailbot.domain.errors import AuthenticationFailed, ConfigError, PermanentError, TransientError
from mailbot.services.mailbox_check import NotChecked, Outcome, ProbeFailed, check_mailbox, render, summary


class Receive:
    where = "mail.example:993"

    def __init__(self, **failures: Exception):
        self.failures, self.calls, self.closed = failures, [], False

    def _step(self, name: str) -> str:
        self.calls.append(name)
        if name in self.failures:
            raise self.failures[name]
        return f"{name} fine"

    def login(self) -> str:
        return self._step("login")

    def open_folder(self) -> str:
        return self._step("folder")

    def fetch(self) -> str:
        return self._step("fetch")

    def close(self) -> None:
        self.closed = True


class Send:
    where = "smtp.example:587"

    def __init__(self, failure: Exception | None = None, needs_login: bool = False):
        self.failure, self.needs_login, self.tested = failure, needs_login, None

    def check(self) -> str:
        if self.failure:
            raise self.failure
        return "envelope accepted"

    def send_test(self, to: str) -> str:
        self.tested = to
        return f"sent to {to}"


def _outcomes(report):
    return [(s.step, s.outcome) for s in report.steps]


def test_every_step_runs_in_order_and_the_probe_is_closed():
    receive = Receive()
    report = check_mailbox("bury", "imap", receive, Send())
    assert receive.calls == ["login", "folder", "fetch"] and receive.closed
    assert report.works and all(s.outcome is Outcome.OK for s in report.steps)


def test_after_a_failed_login_the_folder_and_fetch_are_skipped_but_send_is_checked():
    failure = AuthenticationFailed("the password was refused", "Set BURY_PASSWORD")
    report = check_mailbox("bury", "imap", Receive(login=failure), Send())
    assert _outcomes(report) == [("login", Outcome.FAILED), ("folder", Outcome.SKIPPED),
                                 ("fetch", Outcome.SKIPPED), ("send", Outcome.OK)]
    assert (report.steps[0].detail, report.steps[0].fix) == ("the password was refused", "Set BURY_PASSWORD")
    assert not report.works


def test_sending_through_the_mailbox_own_account_is_skipped_when_its_login_failed():
    report = check_mailbox("hackney", "graph", Receive(login=AuthenticationFailed("no")),
                           Send(needs_login=True))
    assert report.steps[-1].outcome is Outcome.SKIPPED


def test_a_network_failure_says_cannot_reach_and_names_the_place():
    error = TransientError("cannot connect")
    error.__cause__ = ConnectionRefusedError(111, "Connection refused")
    report = check_mailbox("bury", "imap", Receive(login=error), Send())
    assert report.steps[0].detail == "cannot reach mail.example:993: Connection refused"
    assert "firewall" in report.steps[0].fix


def test_config_errors_and_probe_findings_keep_their_fix():
    config = ConfigError("config.toml", "mailbox[0].password_env", "names X, which is not set",
                         "Set X in the worker's environment.")
    report = check_mailbox("bury", "imap", Receive(login=config),
                           Send(ProbeFailed("RCPT TO refused", "allow relaying")))
    assert report.steps[0].detail == "config.toml: mailbox[0].password_env: names X, which is not set"
    assert report.steps[0].fix == "Set X in the worker's environment."
    assert (report.steps[-1].detail, report.steps[-1].fix) == ("RCPT TO refused", "allow relaying")


def test_not_checked_is_reported_but_is_no_failure():
    report = check_mailbox("bromley", "ews", Receive(), Send(NotChecked("use --send-test ADDRESS")))
    assert report.steps[-1].outcome is Outcome.NOT_CHECKED and report.works


def test_an_unexpected_error_is_reported_rather_than_stopping_the_check():
    report = check_mailbox("bury", "imap", Receive(fetch=KeyError("x")), Send())
    assert report.steps[2].outcome is Outcome.FAILED and "unexpected KeyError" in report.steps[2].detail


def test_a_permanent_error_without_a_fix_still_gets_one():
    report = check_mailbox("bury", "imap", Receive(folder=PermanentError("server said NO")), Send())
    assert report.steps[1].detail == "server said NO" and report.steps[1].fix


def test_send_test_sends_instead_of_checking():
    send = Send(ProbeFailed("would fail if checked"))
    report = check_mailbox("bury", "imap", Receive(), send, send_test_to="admin@bury.example")
    assert send.tested == "admin@bury.example" and report.works


def test_the_report_reads_step_by_step_with_fixes_under_failures():
    receive = Receive(folder=ProbeFailed("no INBOX", "fix it"))
    report = check_mailbox("bury", "imap, mail.example:993", receive, Send())
    text = render(report)
    assert text.splitlines()[0] == "bury (imap, mail.example:993): FAILED"
    assert "  folder FAILED      no INBOX" in text and "fix: fix it" in text
    assert summary([report]) == "1 mailbox checked: 1 failed (bury)."
