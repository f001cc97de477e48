"""Use cases: anonymise the closed cases whose retention period has ended, and empty the
mail linked to no case once it is old.

Run once a day by the worker and by `mailbot retention run [--dry-run]`. Each case is done
in its own transaction: its personal data removed (``domain.retention.anonymise``), the
removal recorded as an event, and its raw emails, in and out, emptied; a case that fails is
logged and left for the next run, and never holds back the others. Mail no case holds (a
referral refused for what it lacked, an automatic reply, a bounce, the reply that told a
sender what to fix) can still name a child; its text is emptied ``[retention]
unlinked_mail_days`` after it came or went. A dry run lists what would be done and changes
nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from mailbot.domain.retention import DEFAULT_YEARS, anonymise, is_due, retention_ends
from mailbot.services.context import Services
from mailbot.services.stored import MailErased

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionPeriods:
    """Years per policy key; ``default`` for a policy no mailbox names any more."""

    by_policy: Mapping[str, int]
    default: int = DEFAULT_YEARS

    def years(self, policy_key: str) -> int:
        return self.by_policy.get(policy_key, self.default)

    @property
    def shortest(self) -> int:
        return min([self.default, *self.by_policy.values()])


@dataclass(frozen=True)
class Anonymised:
    reference: str
    closed_at: datetime
    years: int
    mail: MailErased | None = None  # None on a dry run


def anonymise_expired(services: Services, periods: RetentionPeriods, now: datetime,
                      dry_run: bool = False) -> list[Anonymised]:
    """Every closed case past its period, anonymised (or, on a dry run, only listed)."""
    cutoff = _years_before(now, periods.shortest)
    with services.uow_factory() as uow:
        candidates = uow.records.closed_before(cutoff)
    done: list[Anonymised] = []
    for reference, policy_key, closed_at in candidates:
        years = periods.years(policy_key)
        if not is_due(closed_at, years, now):
            continue
        if dry_run:
            done.append(Anonymised(reference, closed_at, years))
            continue
        try:
            result = _anonymise_one(services, reference, years, now)
        except Exception:  # one case must not keep the others' data beyond their period
            log.exception("retention: case %s could not be anonymised", reference)
            continue
        if result is not None:
            done.append(result)
    log.info("retention as of %s: %d case(s) %s", now.isoformat(), len(done),
             "due (dry run, nothing changed)" if dry_run else "anonymised")
    return done


def erase_unlinked_mail(services: Services, days: int, now: datetime,
                        dry_run: bool = False) -> MailErased:
    """The text of mail linked to no case, emptied (or, on a dry run, counted) once it is
    ``days`` old; mail quarantined or still to send is kept whatever its age."""
    note = f"removed on {now:%Y-%m-%d}, {days} days on, linked to no case"
    with services.uow_factory() as uow:
        erased = uow.records.erase_unlinked_mail(now - timedelta(days=days), note, dry_run)
        if not dry_run:
            uow.commit()
    log.info("retention as of %s: %d inbound and %d outgoing message(s) linked to no case %s",
             now.isoformat(), erased.inbound, erased.outbox,
             "due (dry run, nothing changed)" if dry_run else "emptied")
    return erased


def _anonymise_one(services: Services, reference: str, years: int,
                   now: datetime) -> Anonymised | None:
    with services.uow_factory() as uow:
        case = uow.records.get_for_update(reference)
        if case is None or case.anonymised_at is not None or case.closed_at is None:
            return None  # another worker got there first
        uow.records.replace_anonymised(anonymise(case, now, years))
        mail = uow.records.erase_mail(
            reference, f"removed on {now:%Y-%m-%d} at the end of the retention period")
        uow.commit()
    log.info("retention: case %s anonymised (closed %s, %d years); %d inbound and %d outgoing"
             " message(s) emptied", reference, f"{case.closed_at:%Y-%m-%d}", years, mail.inbound,
             mail.outbox)
    return Anonymised(reference, case.closed_at, years, mail)


def _years_before(now: datetime, years: int) -> datetime:
    """A closing time later than any that can be past a period of ``years`` at ``now``
    (a day's margin for 29 February); ``is_due`` decides each case exactly."""
    return retention_ends(now, -years) + timedelta(days=1)
