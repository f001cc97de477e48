"""Three `mailbot poll` processes started at once on one database (issue 14: two or three
pollers had turned 60 referrals into 70 to 180 cases, and each email went out two or three
times, all exiting 0). Now: N referrals are N cases, each acknowledgement is delivered once.
On PostgreSQL the pollers share the work through claims; on SQLite the first holds the
database and the others refuse to start, saying why, with exit 1."""

from __future__ import annotations

import collections

import pytest

from tests.e2e.harness import at
from tests.e2e.many_workers import PARTNERSHIPS, Deployment, Imap, referral, sent_twice

pytest_plugins = ["tests.integration.db_fixtures"]

NOW = at("2026-11-23")
POLLERS = 3


def _poll_together(deployment: Deployment) -> list[tuple[int, str]]:
    processes = [deployment.start("poll", now=NOW.isoformat()) for _ in range(POLLERS)]
    results = []
    for process in processes:
        output, _ = process.communicate(timeout=300)
        results.append((process.returncode, output))
    return results


def _assert_each_referral_one_case_and_one_acknowledgement(deployment: Deployment, count: int,
                                                           results: list[tuple[int, str]]) -> None:
    sqlite = deployment.database_url.startswith("sqlite")
    for code, output in results:
        refused = code == 1 and "SQLite allows one worker at a time" in output
        assert code == 0 or (sqlite and refused), output[-3000:]
    assert any(code == 0 for code, _ in results)
    if not sqlite:
        assert all(code == 0 for code, _ in results), "on PostgreSQL every poller works"
    assert deployment.query("SELECT count(*) FROM cases") == [(count,)]
    assert deployment.query("SELECT status, count(*) FROM inbound_messages GROUP BY status") == [
        ("processed", count)]
    queued = deployment.query("SELECT recipient, count(*) FROM outbox"
                              " WHERE template = 'acknowledgement' GROUP BY recipient")
    assert len(queued) == count and {n for _, n in queued} == {1}
    sent = deployment.sent()
    acknowledged = collections.Counter(to for _, template, to in sent if template == "acknowledgement")
    assert len(acknowledged) == count and set(acknowledged.values()) == {1}, acknowledged
    assert sent_twice(sent) == {}
    assert deployment.query("SELECT count(*) FROM outbox WHERE status <> 'sent'") == [(0,)]


def test_three_pollers_over_maildirs_open_each_case_once(database_url, tmp_path):
    deployment = Deployment(tmp_path, database_url, list(PARTNERSHIPS))
    for index, name in enumerate(PARTNERSHIPS):
        deployment.deliver(name, [referral(name, 100 * index + n, NOW) for n in range(15)])
    results = _poll_together(deployment)
    _assert_each_referral_one_case_and_one_acknowledgement(deployment, 60, results)


@pytest.mark.slow
def test_three_pollers_over_imap_open_each_case_once(database_url, tmp_path, dovecot):
    account = dovecot.add_user()
    deployment = Deployment(tmp_path, database_url, ["bury"],
                            imap=Imap(dovecot.port, account.username, account.password))
    dovecot.append_many(account, [referral("bury", number, NOW) for number in range(40)])
    results = _poll_together(deployment)
    _assert_each_referral_one_case_and_one_acknowledgement(deployment, 40, results)
    assert dovecot.messages(account) == [], "every message moved out of the inbox"
