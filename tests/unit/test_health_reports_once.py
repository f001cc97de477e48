"""Two threads that meet the end of one outage at once tell the business managers of it once.

The drill of a SQLite database locked by another process failed now and then (CI of
2026-12-05): the managers got the failure twice and its recovery once more after the test.
A failure that could not be stored is told with its recovery when the database answers; a
second thread (another watcher, a job) that read the same untold failure before the first
had finished told it again, after the first had already told the recovery.
"""

from __future__ import annotations

import threading

from mailbot.domain.errors import DatabaseTrouble
from mailbot.entrypoints import supervision
from mailbot.entrypoints.supervision import Supervision
from mailbot.services.context import Services
from tests.unit.bury_mailbox import MONDAY, mailbox_context
from tests.unit.fakes import FakeDatabase, FakeUnitOfWork, RecordingComposer


def test_a_failure_told_with_its_recovery_is_told_once_when_two_threads_recover(monkeypatch):
    told: list[str] = []
    first_told, second_done = threading.Event(), threading.Event()
    database_down = True

    def report(services, job, when, problem):
        if database_down:
            raise DatabaseTrouble("database is locked")
        told.append(problem or "recovered")
        if len(told) == 1:  # the first thread, telling the failure: the second comes now
            first_told.set()
            second_done.wait(5)

    monkeypatch.setattr(supervision, "report_job_health", report)
    context = mailbox_context()
    services = Services(lambda: FakeUnitOfWork(FakeDatabase()), RecordingComposer(),
                        {context.name: context})
    watch = Supervision(services, lambda: MONDAY)
    watch.database_failed(DatabaseTrouble("database is locked"))  # not stored: told later
    assert told == []

    database_down = False
    first = threading.Thread(target=watch.database_works)
    first.start()
    assert first_told.wait(5)
    watch.database_works()  # a second thread, while the first is telling
    second_done.set()
    first.join(5)

    assert told == ["database is locked", "recovered"]
    watch.database_failed(DatabaseTrouble("database is locked"))  # a new outage is told again
    assert told[2:] == ["database is locked"]
