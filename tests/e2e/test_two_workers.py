"""The two-worker drill (issue 14): two `mailbot run` processes on one PostgreSQL database,
200 referrals and a deadline pass with 100 reminders due, one worker SIGKILLed at a random
moment. Every referral is acknowledged and every reminder sent, each exactly once, and the
survivor takes over the dead worker's mailboxes within ``lease_seconds``. Repeated with
different kill moments here; bench/two_worker_drill.py repeats it ten times."""

from __future__ import annotations

import pytest

from tests.e2e.drill import NEW_NUMBERS, run_drill
from tests.integration.db_fixtures import postgres_schema_url

LEASE_SECONDS = 5
REFERRALS, CHASERS = 200, 100


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_two_workers_one_killed_send_everything_once_and_the_survivor_takes_over(tmp_path, seed):
    for url in postgres_schema_url():
        result = run_drill(tmp_path, url, referrals=REFERRALS, chasers=CHASERS,
                           lease_seconds=LEASE_SECONDS, seed=seed)
    report = (f"killed after {result.killed_after:.1f}s, takeover {result.takeover:.1f}s,"
              f" done after {result.finished_after:.1f}s")
    print(report)
    assert result.cases == REFERRALS + CHASERS
    assert set(result.acknowledgements) == {
        f"Referrer {n} <referrer{n}@agency.test>" for n in range(NEW_NUMBERS, NEW_NUMBERS + REFERRALS)}
    assert set(result.acknowledgements.values()) == {1}, report
    assert len(result.reminders) == CHASERS and set(result.reminders.values()) == {1}
    assert result.undelivered == [], "every outbox row was delivered"
    assert result.duplicates == {}, report
    assert result.takeover <= LEASE_SECONDS, report
    assert result.survivor_exit == 0, result.survivor_log[-3000:]
