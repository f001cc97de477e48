"""`mailbot status`, `mailbot quarantine list|show|release ID` and `mailbot outbox list|retry
ID`: looking after the worker (Mailman's shunt and unshunt).

`status` exits 1 when anything needs a person: a mailbox failing, a message quarantined,
outgoing mail given up, a failing job, or a deadline pass that has not run for twice its
interval; a monitoring system can run it. `quarantine show` prints the message to the
operator's terminal only, never to the log: it may name a child.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta

from mailbot.domain.errors import ConfigError, MailbotError


def add_commands(sub, common: argparse.ArgumentParser) -> None:
    status = sub.add_parser("status", parents=[common], help="each mailbox's last good poll, mail"
                            " waiting, quarantined, outgoing queued and failed, last deadline"
                            " pass; exit 1 when anything is unhealthy")
    status.set_defaults(handler=_status)
    quarantine = sub.add_parser("quarantine", parents=[common], help="messages set aside: list,"
                                " show ID, or release ID (runs it through intake once more)")
    quarantine.add_argument("action", choices=["list", "show", "release"])
    quarantine.add_argument("id", nargs="?", type=int)
    quarantine.set_defaults(handler=_quarantine)
    outbox = sub.add_parser("outbox", parents=[common], help="outgoing mail queued or given up:"
                            " list, or retry ID (sends it once more)")
    outbox.add_argument("action", choices=["list", "retry"])
    outbox.add_argument("id", nargs="?", type=int)
    outbox.set_defaults(handler=_outbox)


def _app(args, migrate: bool = False):
    from mailbot.entrypoints.cli import _app

    return _app(args, migrate=migrate)


def _when(value: datetime | None, zone) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else "never"


def _status(args, now) -> int:
    from mailbot.services.health import read_status

    app = _app(args)
    zone = app.settings.zone
    every = timedelta(minutes=app.settings.worker.chase_every_minutes)
    status = read_status(app.services, now(), every)
    for m in status.mailboxes:
        state = "UNHEALTHY: " + "; ".join(m.problems) if m.problems else "ok"
        print(f"mailbox {m.name}: {state}\n  last good poll:  {_when(m.last_poll, zone)}\n"
              f"  mail waiting:    {m.waiting}\n  quarantined:     {m.quarantined}\n"
              f"  outgoing queued: {m.queued}\n  outgoing failed: {m.failed}")
    late = f" (UNHEALTHY: not run for more than {2 * every})" if status.deadline_pass_late else ""
    print(f"deadline pass last ran: {_when(status.deadline_pass, zone)}{late}")
    for job, problem in status.jobs.items():
        print(f"job {job}: UNHEALTHY: {problem}")
    print("healthy" if status.healthy else "unhealthy")
    return 0 if status.healthy else 1


def _need_id(args, command: str) -> int:
    if args.id is None:
        raise ConfigError("command line", command, "needs a message id",
                          f"Run it as: mailbot {command} ID (the ids are in the list command)")
    return args.id


def _quarantine(args, now) -> int:
    app = _app(args, migrate=args.action == "release")
    zone = app.settings.zone
    if args.action == "list":
        with app.services.uow_factory() as uow:
            messages = uow.upkeep.stored("quarantined")
        for m in messages:
            why = " ".join(m.error.split())[:100]
            print(f"{m.id:>6}  {_when(m.received_at, zone)}  {m.mailbox}  <{m.message_id}>  {why}")
        print(f"{len(messages)} quarantined message(s)")
        return 0
    record_id = _need_id(args, f"quarantine {args.action}")
    if args.action == "show":
        return _show(app, record_id, zone)
    return _release(app, record_id, now)


def _show(app, record_id: int, zone) -> int:
    with app.services.uow_factory() as uow:
        stored = uow.upkeep.stored_one(record_id)
        data = uow.inbound.raw(record_id) if stored else b""
    if stored is None:
        print(f"mailbot: no stored message {record_id}", file=sys.stderr)
        return 1
    import email  # here, not at the top: every command builds this parser
    from email.policy import default

    message = email.message_from_bytes(data, policy=default)
    print(f"Message {stored.id} ({stored.status}) to mailbox {stored.mailbox},"
          f" received {_when(stored.received_at, zone)}")
    for header in ("From", "To", "Date", "Subject", "Message-ID"):
        print(f"{header}: {message.get(header, '')}")
    print(f"Why set aside: {stored.error or '-'}")
    names = [part.get_filename() for part in message.walk() if part.get_filename()]
    if names:
        print("Attachments: " + ", ".join(names))
    body = message.get_body(("plain", "html"))
    print("\n" + (body.get_content() if body is not None else "(no text part)"))
    return 0


def _release(app, record_id: int, now) -> int:
    from mailbot.entrypoints.passes import send_all
    from mailbot.services.quarantine import release_quarantined

    try:
        handled = release_quarantined(app.services, record_id, now())
    except LookupError as error:
        print(f"mailbot: {error.args[0]}", file=sys.stderr)
        return 1
    except MailbotError:
        raise
    except Exception as error:  # noqa: BLE001 - the message is still quarantined; say why
        print(f"mailbot: message {record_id} is still quarantined: {type(error).__name__}: {error}",
              file=sys.stderr)
        return 1
    send_all(app, now)
    case = f", case {handled.case_reference}" if handled.case_reference else ""
    print(f"message {record_id} released: {handled.status}{case}"
          f"{' (' + handled.note + ')' if handled.note else ''}")
    return 0


def _outbox(args, now) -> int:
    app = _app(args, migrate=args.action == "retry")
    zone = app.settings.zone
    if args.action == "list":
        with app.services.uow_factory() as uow:
            rows = uow.upkeep.outgoing()
        for r in rows:
            why = " ".join(r.last_error.split())[:80]
            when = ("given up" if r.status == "failed" else "due now" if r.next_attempt_at <= now()
                    else "next try " + _when(r.next_attempt_at, zone))
            print(f"{r.id:>6}  {r.status:<6}  {r.template:<20}  {r.recipient}  {r.case_reference or '-'}"
                  f"  attempts {r.attempts}, {when}  {why}".rstrip())
        print(f"{sum(r.status == 'queued' for r in rows)} queued, {sum(r.status == 'failed' for r in rows)}"
              " failed")
        return 0
    row_id = _need_id(args, "outbox retry")
    with app.services.uow_factory() as uow:
        retried = uow.upkeep.retry(row_id)
        uow.commit()
    if not retried:
        print(f"mailbot: no queued or failed outgoing message {row_id} (sent already, held"
              " until its case is accepted, or no such id)", file=sys.stderr)
        return 1
    from mailbot.entrypoints.passes import send_all

    send_all(app, now)
    with app.services.uow_factory() as uow:
        after = uow.upkeep.outgoing_one(row_id)
    state = after.status if after else "unknown"
    print(f"outgoing message {row_id}: {state}"
          + (f" ({after.last_error})" if after and state != "sent" and after.last_error else ""))
    return 0 if state == "sent" else 1
