"""`mailbot mailboxes check` against real servers: a working and a broken mailbox of each kind.

Maildir on disk, IMAP on Dovecot, the [outgoing] SMTP relay on aiosmtpd; Graph and EWS on the
loopback servers in tests/servers that replay Microsoft's documented shapes (those cases live
in test_mailboxes_check_microsoft.py). The check must say which step failed, why, and what to
fix; it must never move, mark or send anything unless asked to send a test message.
"""

from __future__ import annotations

import mailbox
import os
import subprocess
import sys
from datetime import datetime
from email import message_from_bytes
from pathlib import Path

import pytest

from mailbot.config import load_settings
from mailbot.entrypoints.mailbox_check import check_mailboxes
from mailbot.services.mailbox_check import MailboxReport, Outcome
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.fromisoformat("2026-03-02T10:00:00+00:00")
MESSAGE = (b"From: referrer@school.example\r\nTo: bsp@bury.example\r\nSubject: hello\r\n"
           b"Message-ID: <check-1@school.example>\r\n\r\nA waiting message.\r\n")


def _config(tmp_path: Path, mailboxes: list[str], outgoing: str = 'kind = "directory"') -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'var_dir = "var"\n[outgoing]\n{outgoing}\n' + "".join(mailboxes))
    return path


def _maildir(name: str, path: str) -> str:
    return (f'[[mailbox]]\nname = "{name}"\naddress = "{name}@bury.example"\npolicy = "bury"\n'
            f'kind = "maildir"\npath = "{path}"\nbusiness_managers = ["bm@bury.example"]\n'
            'sender_trust = "none"\n')


def _imap(name: str, server, account, *, password_env: str, folder: str = "INBOX",
          port: int | None = None) -> str:
    return (f'[[mailbox]]\nname = "{name}"\naddress = "{name}@bury.example"\npolicy = "bury"\n'
            f'kind = "imap"\nhost = "{server.host}"\nport = {port or server.port}\nsecurity = "none"\n'
            f'username = "{account.username}"\npassword_env = "{password_env}"\nfolder = "{folder}"\n'
            'business_managers = ["bm@bury.example"]\nsender_trust = "none"\n')


def _smtp(server, *, username: str = "", password_env: str = "") -> str:
    return (f'kind = "smtp"\nhost = "{server.host}"\nport = {server.port}\nsecurity = "none"\n'
            f'username = "{username}"\npassword_env = "{password_env}"\ntimeout_seconds = 10\n')


def _check(config: Path, **options) -> tuple[list[MailboxReport], str]:
    printed: list[str] = []
    reports = check_mailboxes(load_settings(config), NOW, out=printed.append, **options)
    return reports, "\n".join(printed)


def _step(report: MailboxReport, name: str):
    return next(step for step in report.steps if step.step == name)


def _outcomes(report: MailboxReport) -> dict[str, Outcome]:
    return {step.step: step.outcome for step in report.steps}


# -- Maildir -----------------------------------------------------------------------------------


def test_a_working_maildir_passes_and_its_message_stays_waiting(tmp_path):
    maildir = mailbox.Maildir(tmp_path / "bury", create=True)
    maildir.add(MESSAGE)
    [report], printed = _check(_config(tmp_path, [_maildir("bury", "bury")]))
    assert report.works, printed
    assert set(_outcomes(report).values()) == {Outcome.OK}
    assert "fetched 1 new message" in _step(report, "fetch").detail
    assert [bytes(m) for m in mailbox.Maildir(tmp_path / "bury", create=False)] != []
    assert len(list((tmp_path / "bury" / "new").iterdir())) == 1  # not moved, not even to cur/


def test_a_missing_maildir_fails_the_folder_step_and_says_what_to_fix(tmp_path):
    [report], printed = _check(_config(tmp_path, [_maildir("bury", "nowhere/bury")]))
    assert not report.works
    assert _outcomes(report) == {"login": Outcome.OK, "folder": Outcome.FAILED,
                                 "fetch": Outcome.SKIPPED, "send": Outcome.OK}
    folder = _step(report, "folder")
    assert "does not exist" in folder.detail and "mailbox.path" in folder.fix
    assert not (tmp_path / "nowhere").exists(), "the check must not create the folder"
    assert "FAILED" in printed and "fix: Correct mailbox.path" in printed


def test_a_maildir_path_that_is_a_file_is_reported(tmp_path):
    (tmp_path / "bury").write_text("not a folder")
    [report], _ = _check(_config(tmp_path, [_maildir("bury", "bury")]))
    assert _step(report, "folder").outcome is Outcome.FAILED
    assert "is not a folder" in _step(report, "folder").detail


# -- IMAP on Dovecot ---------------------------------------------------------------------------


def test_a_working_imap_mailbox_passes_without_moving_or_marking_anything(
        tmp_path, dovecot, monkeypatch):
    account = dovecot.add_user()
    dovecot.append(account, MESSAGE)
    monkeypatch.setenv("CHECK_IMAP_PASSWORD", account.password)
    [report], printed = _check(_config(tmp_path, [_imap("bury", dovecot, account,
                                                        password_env="CHECK_IMAP_PASSWORD")]))
    assert report.works, printed
    assert f"as {account.username} with a password" in _step(report, "login").detail
    assert "INBOX opened read-only, 1 message in it" in _step(report, "folder").detail
    assert "fetched 1 new message" in _step(report, "fetch").detail
    assert dovecot.messages(account) == [MESSAGE]
    assert dovecot.messages(account, criteria=["SEEN"]) == []


def test_a_wrong_imap_password_fails_the_login_and_names_the_variable(tmp_path, dovecot, monkeypatch):
    account = dovecot.add_user()
    monkeypatch.setenv("CHECK_IMAP_PASSWORD", "wrong-" + account.password)
    [report], _ = _check(_config(tmp_path, [_imap("bury", dovecot, account,
                                                  password_env="CHECK_IMAP_PASSWORD")]))
    login = _step(report, "login")
    assert login.outcome is Outcome.FAILED
    assert "refused the login" in login.detail and "AUTHENTICATIONFAILED" in login.detail
    assert "$CHECK_IMAP_PASSWORD" in login.fix
    assert _outcomes(report)["folder"] is Outcome.SKIPPED
    assert _outcomes(report)["send"] is Outcome.OK  # the [outgoing] side is checked regardless


def test_an_unset_password_variable_is_reported_for_that_mailbox_alone(tmp_path, dovecot, monkeypatch):
    account = dovecot.add_user()
    monkeypatch.delenv("CHECK_UNSET_PASSWORD", raising=False)
    maildir = mailbox.Maildir(tmp_path / "hackney", create=True)
    del maildir
    reports, _ = _check(_config(tmp_path, [
        _imap("bury", dovecot, account, password_env="CHECK_UNSET_PASSWORD"),
        _maildir("hackney", "hackney")]))
    assert [r.works for r in reports] == [False, True]
    login = _step(reports[0], "login")
    assert "CHECK_UNSET_PASSWORD" in login.detail and "Set CHECK_UNSET_PASSWORD" in login.fix


def test_an_unreachable_imap_server_says_cannot_reach(tmp_path, dovecot, monkeypatch):
    account = dovecot.add_user()
    monkeypatch.setenv("CHECK_IMAP_PASSWORD", account.password)
    port = free_port()  # nothing listens there
    [report], _ = _check(_config(tmp_path, [_imap("bury", dovecot, account, port=port,
                                                  password_env="CHECK_IMAP_PASSWORD")]))
    login = _step(report, "login")
    assert login.outcome is Outcome.FAILED
    assert login.detail.startswith(f"cannot reach 127.0.0.1:{port}")
    assert "firewall" in login.fix


def test_a_missing_imap_folder_fails_the_folder_step_and_lists_the_folders(tmp_path, dovecot, monkeypatch):
    account = dovecot.add_user()
    monkeypatch.setenv("CHECK_IMAP_PASSWORD", account.password)
    [report], _ = _check(_config(tmp_path, [_imap("bury", dovecot, account, folder="Referrals",
                                                  password_env="CHECK_IMAP_PASSWORD")]))
    folder = _step(report, "folder")
    assert folder.outcome is Outcome.FAILED and "'Referrals'" in folder.detail
    assert "INBOX" in folder.fix
    assert not dovecot.folder_exists(account, "Referrals")


# -- the [outgoing] SMTP relay -----------------------------------------------------------------


def test_smtp_is_proven_up_to_rcpt_without_sending(tmp_path, start_smtp_server, monkeypatch):
    server = start_smtp_server(credentials={"relay-user": "relay-pass"})
    monkeypatch.setenv("CHECK_SMTP_PASSWORD", "relay-pass")
    mailbox.Maildir(tmp_path / "bury", create=True)
    outgoing = _smtp(server, username="relay-user", password_env="CHECK_SMTP_PASSWORD")
    [report], printed = _check(_config(tmp_path, [_maildir("bury", "bury")], outgoing))
    send = _step(report, "send")
    assert report.works, printed
    assert "accepted MAIL FROM:<bury@bury.example> and RCPT TO:<bm@bury.example>" in send.detail
    assert "logged in as relay-user" in send.detail
    assert server.received == []


def test_smtp_refusing_the_recipient_fails_the_send_step(tmp_path, rejecting_smtp_server):
    mailbox.Maildir(tmp_path / "bury", create=True)
    [report], _ = _check(_config(tmp_path, [_maildir("bury", "bury")], _smtp(rejecting_smtp_server)))
    send = _step(report, "send")
    assert send.outcome is Outcome.FAILED
    assert "refused RCPT TO:<bm@bury.example>: 550" in send.detail
    assert "relay" in send.fix
    assert rejecting_smtp_server.received == []


def test_smtp_refusing_the_login_names_the_password_variable(tmp_path, start_smtp_server, monkeypatch):
    server = start_smtp_server(credentials={"relay-user": "relay-pass"})
    monkeypatch.setenv("CHECK_SMTP_PASSWORD", "wrong")
    mailbox.Maildir(tmp_path / "bury", create=True)
    outgoing = _smtp(server, username="relay-user", password_env="CHECK_SMTP_PASSWORD")
    [report], _ = _check(_config(tmp_path, [_maildir("bury", "bury")], outgoing))
    send = _step(report, "send")
    assert send.outcome is Outcome.FAILED
    assert "refused the login for relay-user: 535" in send.detail
    assert "$CHECK_SMTP_PASSWORD" in send.fix and "SmtpClientAuthenticationDisabled" in send.fix


def test_send_test_sends_one_real_message_with_the_loop_guard_headers(tmp_path, smtp_server):
    mailbox.Maildir(tmp_path / "bury", create=True)
    [report], _ = _check(_config(tmp_path, [_maildir("bury", "bury")], _smtp(smtp_server)),
                         send_test_to="admin@bury.example")
    assert report.works
    [received] = smtp_server.wait_for(1)
    assert received.envelope_from == "bury@bury.example"
    assert received.recipients == ("admin@bury.example",)
    sent = message_from_bytes(received.data)
    assert sent["Auto-Submitted"] == "auto-generated"
    assert sent["X-Auto-Response-Suppress"] == "All"
    assert sent["X-Mailbot-Loop"] == "bury@bury.example"
    assert sent["Message-ID"].strip("<>") in _step(report, "send").detail


# -- the command itself ------------------------------------------------------------------------


def _run_cli(config: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mailbot", "--config", str(config), "mailboxes",
                           "check", *args], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


def test_the_command_exits_0_when_every_mailbox_works_and_1_when_one_is_broken(
        tmp_path, dovecot, smtp_server):
    account = dovecot.add_user()
    dovecot.append(account, MESSAGE)
    env = {"CHECK_CLI_PASSWORD": account.password}
    good = _imap("bury", dovecot, account, password_env="CHECK_CLI_PASSWORD")
    config = _config(tmp_path, [good], _smtp(smtp_server))
    working = _run_cli(config, env)
    assert working.returncode == 0, working.stdout + working.stderr
    assert "bury (imap, 127.0.0.1" in working.stdout and "1 mailbox checked: all work." in working.stdout

    config = _config(tmp_path, [good, _maildir("hackney", "missing/hackney")], _smtp(smtp_server))
    broken = _run_cli(config, env)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "hackney (maildir" in broken.stdout and "the Maildir" in broken.stdout
    assert "2 mailboxes checked: 1 failed (hackney)." in broken.stdout
    assert dovecot.messages(account) == [MESSAGE]
    assert smtp_server.received == []


def test_an_unknown_mailbox_name_is_a_usage_error(tmp_path):
    config = _config(tmp_path, [_maildir("bury", "bury")])
    result = _run_cli(config, {}, "--mailbox", "nosuch")
    assert result.returncode == 2
    assert "no mailbox named nosuch" in result.stderr and "bury" in result.stderr


@pytest.mark.parametrize("only", ["bury"])
def test_mailbox_option_checks_only_the_named_mailbox(tmp_path, only):
    mailbox.Maildir(tmp_path / "bury", create=True)
    config = _config(tmp_path, [_maildir("bury", "bury"), _maildir("hackney", "missing")])
    reports, _ = _check(config, only=[only])
    assert [r.name for r in reports] == [only] and reports[0].works
