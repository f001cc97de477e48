"""Two workers' send passes read the same due rows: the claim lets exactly one send each,
on SQLite and PostgreSQL, and a pass that died holding a claim lets it go when it runs out."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from mailbot.services.stored import OutboxItem

pytest_plugins = ["tests.integration.db_fixtures"]
NOW = datetime(2026, 12, 7, 9, 5, tzinfo=UTC)


def _queued(uow_factory) -> int:
    with uow_factory() as uow:
        uow.outbox.enqueue(OutboxItem(
            case_reference="", template="weekly_digest", stage=0, key="bury:2026-W50",
            recipient="bea@bury.example", message_id="mailbot.d1@bury.example",
            envelope_from="bsp@bury.example", data=b"Subject: digest\r\n\r\nHi"))
        [row] = uow.outbox.due(NOW)
        uow.commit()
    return row.id


def test_only_one_pass_claims_a_row_and_others_see_it_no_longer_due(uow_factory):
    row_id = _queued(uow_factory)
    with uow_factory() as uow:
        assert uow.outbox.claim([row_id, 999], NOW, NOW + timedelta(minutes=5)) == {row_id}
        uow.commit()
    with uow_factory() as uow:
        assert uow.outbox.claim([row_id], NOW, NOW + timedelta(minutes=5)) == set()
        assert uow.outbox.due(NOW) == []
        assert [r.id for r in uow.outbox.due(NOW + timedelta(minutes=6))] == [row_id]


def test_two_passes_racing_for_a_row_get_it_once(uow_factory):
    row_id = _queued(uow_factory)
    start, results = threading.Barrier(2), []

    def send_pass() -> None:
        with uow_factory() as uow:
            start.wait()
            results.append(bool(uow.outbox.claim([row_id], NOW, NOW + timedelta(minutes=5))))
            uow.commit()

    threads = [threading.Thread(target=send_pass) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [False, True]


def test_a_claim_runs_out_by_the_real_clock_even_when_the_pass_pretends_the_time(uow_factory):
    """`mailbot run --now` fixes when mail is due, not when a dead pass's claims run out."""
    row_id = _queued(uow_factory)
    real = NOW + timedelta(days=3)
    with uow_factory() as uow:
        assert uow.outbox.claim([row_id], NOW, real + timedelta(minutes=1), claims_at=real) == {row_id}
        uow.commit()
    with uow_factory() as uow:
        assert uow.outbox.due(NOW, claims_at=real + timedelta(seconds=30)) == []
        assert [r.id for r in uow.outbox.due(NOW, claims_at=real + timedelta(minutes=2))] == [row_id]
        assert uow.outbox.claim([row_id], NOW, real + timedelta(minutes=3),
                                claims_at=real + timedelta(minutes=2)) == {row_id}
