"""The weekly digest against real SQLite and PostgreSQL: queued once per partnership per week
whoever runs it and however often, skipped in a week with nothing open, and counting what
opened and closed since the last one."""

from __future__ import annotations

import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select

from mailbot.adapters.jinja_renderer import JinjaRenderer
from mailbot.adapters.mail_composer import MailComposer
from mailbot.adapters.sqlalchemy_store.orm import OutboxMessageRow, StateRow
from mailbot.domain.digest import DigestSchedule
from mailbot.domain.notices import Partnership, Template
from mailbot.domain.referral import Person
from mailbot.domain.working_days import LONDON
from mailbot.services.context import MailboxContext, Services
from mailbot.services.digest import queue_digest, queue_weekly_digests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from case_strategies import engine_for  # noqa: E402
from rendering_cases import referral  # noqa: E402

pytest_plugins = ["tests.integration.db_fixtures"]
MANAGERS = (Person("Bea Manager", "bea@bury.example"), Person("", "ben@bury.example"))
MONDAY = datetime(2027, 1, 4, 9, 30, tzinfo=LONDON)


def services_for(uow_factory) -> Services:
    bury = engine_for("bury")
    bury.partnership = Partnership("bsp@bury.example", MANAGERS)
    hackney = engine_for("hackney")
    return Services(uow_factory=uow_factory, composer=MailComposer(JinjaRenderer()), mailboxes={
        "bury": MailboxContext("bury", "bsp@bury.example", bury.policy, bury),
        "hackney": MailboxContext("hackney", "chscp@hackney.example", hackney.policy, hackney)})


def open_cases(uow_factory, services: Services, *moments: datetime, policy: str = "bury") -> list:
    engine = services.mailboxes[policy].engine
    made = []
    with uow_factory() as uow:
        for moment in moments:
            reference = uow.cases.next_reference(engine.policy.reference_prefix, moment.year)
            case, _ = engine.open_case(referral(), reference, moment)
            uow.cases.add(case)
            made.append(case)
        uow.commit()
    return made


def digests(uow_factory) -> list[tuple[str, str]]:
    with uow_factory() as uow:
        return sorted(uow.session.execute(
            select(OutboxMessageRow.key, OutboxMessageRow.recipient)
            .where(OutboxMessageRow.template == Template.WEEKLY_DIGEST)).all())


def test_each_partnership_gets_one_digest_a_week_however_often_it_is_asked(uow_factory):
    services = services_for(uow_factory)
    open_cases(uow_factory, services, MONDAY - timedelta(days=20), MONDAY - timedelta(days=2))
    open_cases(uow_factory, services, MONDAY - timedelta(days=3), policy="hackney")
    schedules = {"bury": DigestSchedule(), "hackney": DigestSchedule(weekday=2, hour=14)}
    assert queue_weekly_digests(services, schedules, MONDAY - timedelta(minutes=31)) == 0  # 08:59
    assert queue_weekly_digests(services, schedules, MONDAY) == 2
    assert queue_weekly_digests(services, schedules, MONDAY + timedelta(minutes=10)) == 0
    # A restarted worker: new services over the same database.
    assert queue_weekly_digests(services_for(uow_factory), schedules, MONDAY + timedelta(hours=3)) == 0
    assert digests(uow_factory) == [("bury:2027-W01", "bea@bury.example"),
                                    ("bury:2027-W01", "ben@bury.example")]
    # Hackney's is on Wednesdays at 14:00, to its one business manager.
    assert queue_weekly_digests(services, schedules, MONDAY + timedelta(days=2, hours=5)) == 1
    assert queue_weekly_digests(services, schedules, MONDAY + timedelta(days=7)) == 2  # next week
    assert len(digests(uow_factory)) == 5


def test_a_worker_that_missed_the_other_ones_commit_still_queues_nothing(uow_factory):
    services = services_for(uow_factory)
    open_cases(uow_factory, services, MONDAY - timedelta(days=2))
    bury = services.mailboxes["bury"]
    assert queue_digest(services, bury, DigestSchedule(), MONDAY) == 2
    # As if a second worker had read the state before the first committed: the outbox's
    # unique key (mailbox and ISO week) is what refuses the second copy.
    with uow_factory() as uow:
        uow.session.execute(delete(StateRow))
        uow.commit()
    assert queue_digest(services, bury, DigestSchedule(), MONDAY + timedelta(minutes=1)) == 0
    assert len(digests(uow_factory)) == 2


def test_two_workers_at_once_queue_it_once(uow_factory):
    services = [services_for(uow_factory), services_for(uow_factory)]
    open_cases(uow_factory, services[0], MONDAY - timedelta(days=2))
    start, results = threading.Barrier(2), []

    def worker(mine: Services) -> None:
        start.wait()
        results.append(queue_digest(mine, mine.mailboxes["bury"], DigestSchedule(), MONDAY))

    threads = [threading.Thread(target=worker, args=(s,)) for s in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [0, 2] and len(digests(uow_factory)) == 2


def test_a_week_with_nothing_open_sends_nothing_even_if_a_case_opens_later(uow_factory):
    services = services_for(uow_factory)
    bury = services.mailboxes["bury"]
    assert queue_digest(services, bury, DigestSchedule(), MONDAY) == 0
    open_cases(uow_factory, services, MONDAY + timedelta(hours=1))
    assert queue_digest(services, bury, DigestSchedule(), MONDAY + timedelta(hours=2)) == 0
    assert digests(uow_factory) == []
    assert queue_digest(services, bury, DigestSchedule(), MONDAY + timedelta(days=7)) == 2


def test_the_digest_counts_what_opened_and_closed_since_the_last_one(uow_factory):
    services = services_for(uow_factory)
    engine = services.mailboxes["bury"].engine
    old, closing = open_cases(uow_factory, services, MONDAY - timedelta(days=30),
                              MONDAY - timedelta(days=29))
    assert queue_digest(services, services.mailboxes["bury"], DigestSchedule(), MONDAY) == 2
    new, = open_cases(uow_factory, services, MONDAY + timedelta(days=3))
    with uow_factory() as uow:
        case = uow.cases.get(closing.reference)
        engine.record_outcome(case, "Agreed.", MONDAY + timedelta(days=4), MANAGERS[0].email)
        uow.commit()
    with uow_factory() as uow:
        open_now = uow.records.open_cases("bury")
        changes = uow.records.opened_or_closed("bury", MONDAY, MONDAY + timedelta(days=7))
    assert sorted(c.reference for c in open_now) == sorted([old.reference, new.reference])
    assert {(c.reference, c.status.value) for c in changes} == {
        (new.reference, "open"), (closing.reference, "resolved")}
    assert queue_digest(services, services.mailboxes["bury"], DigestSchedule(),
                        MONDAY + timedelta(days=7)) == 2
    with uow_factory() as uow:
        data = uow.session.scalars(select(OutboxMessageRow.data).where(
            OutboxMessageRow.key == "bury:2027-W02")).first()
    text = data.decode("ascii", "replace")
    assert f"- {new.reference} on Thursday 7 January 2027" in text
    assert f"- {closing.reference} on Friday 8 January 2027, resolved at Level 1" in text  # Bury says "Level"
    assert "Opened since Monday 4 January 2027" in text  # since the last digest went
