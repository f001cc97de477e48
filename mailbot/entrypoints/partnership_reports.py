"""What the partnership's commands do: `mailbot report`, `mailbot digest`, `mailbot
retention run`, `mailbot cases export` and `mailbot cases find` (contract section 2).

``partnership_cli`` parses them and imports this module only when one runs. Each handler
returns the exit code. A bad date, an unknown partnership or a missing option is a usage
error (exit 2) that says how to write it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date, datetime

from mailbot.adapters.case_record_docx import build_case_record, when
from mailbot.adapters.policy_files import calendar_for, load_policy_file, policy_paths
from mailbot.bootstrap import App
from mailbot.config import resolve_path
from mailbot.domain.errors import ConfigError, PolicyError
from mailbot.domain.policy import Policy
from mailbot.domain.reporting import PolicyCalendar
from mailbot.entrypoints.partnership_jobs import digest_schedules, retention_periods
from mailbot.entrypoints.passes import send_all
from mailbot.intake.field_values import parse_uk_date
from mailbot.services import records
from mailbot.services.digest import queue_weekly_digests
from mailbot.services.reporting import period_of, thematic_report
from mailbot.services.retention import anonymise_expired, erase_unlinked_mail

Now = Callable[[], datetime]


def case_action(app: App, args: argparse.Namespace, now: Now) -> int:
    if args.action == "export":
        return _export(app, args)
    return _find(app, args)


# --- report -----------------------------------------------------------------------------

def report(app: App, args: argparse.Namespace, now: Now) -> int:
    first, last = _date(args.first_day, "--from"), _date(args.last_day, "--to")
    try:
        period = period_of(first, last)
    except ValueError as error:
        raise ConfigError("command line", "report --to", str(error),
                          "Give a --to date on or after --from.") from None
    policies = _policies(app)
    keys = [_partnership(app, policies, args.partnership)] if args.partnership else None
    tables = thematic_report(app.services, period, policies, keys)
    from mailbot.adapters.report_files import write_report  # matplotlib: only when reporting

    title = "Resolving professional differences: thematic report"
    if keys:
        title += f" for {policies[keys[0]].policy.name}"
    files = write_report(tables, args.out, title)
    print(f"{tables.cases} case(s) in the period; wrote {files.docx}, {files.csv} and"
          f" {len(files.charts)} chart(s)")
    return 0


def _policies(app: App) -> dict[str, PolicyCalendar]:
    """Every policy a case may name: the configured mailboxes', then any other valid file in
    the policies folder (a partnership no longer configured still has cases to count)."""
    found = {c.policy.key: PolicyCalendar(c.policy, c.engine.calendar)
             for c in app.services.mailboxes.values()}
    for path in policy_paths(resolve_path(app.settings, app.settings.policies_dir)):
        if path.stem not in found:
            try:
                policy = load_policy_file(path)
            except PolicyError:
                continue  # `mailbot policies check` reports it; a report can do without it
            found[policy.key] = PolicyCalendar(policy, calendar_for(policy))
    return found


def _partnership(app: App, policies: dict[str, PolicyCalendar], name: str) -> str:
    wanted = name.strip().casefold()
    for mailbox in app.services.mailboxes.values():
        if wanted in (mailbox.name.casefold(), mailbox.policy.key.casefold()):
            return mailbox.policy.key
    for key, known in policies.items():
        if wanted in (key.casefold(), known.policy.name.casefold()):
            return key
    raise ConfigError("command line", "report --partnership", f"no partnership {name!r}",
                      f"Use one of: {', '.join(sorted(policies))}.")


def _date(text: str, option: str) -> date:
    try:
        return parse_uk_date(text)
    except ValueError as error:
        raise ConfigError("command line", option, str(error),
                          "Write the date like 2026-04-01 or 01/04/2026.") from None


# --- digest and retention ---------------------------------------------------------------

def digest(app: App, args: argparse.Namespace, now: Now) -> int:
    queued = queue_weekly_digests(app.services, digest_schedules(app), now())
    send_all(app, now)
    print(f"{queued} digest email(s) queued")
    return 0


def retention(app: App, args: argparse.Namespace, now: Now) -> int:
    done = anonymise_expired(app.services, retention_periods(app), now(), dry_run=args.dry_run)
    verb = "would be anonymised" if args.dry_run else "anonymised"
    for item in done:
        print(f"{item.reference}  closed {when(item.closed_at)}  retention {item.years} years  {verb}")
    print(f"{len(done)} case(s) {verb}")
    days = app.settings.retention.unlinked_mail_days
    erased = erase_unlinked_mail(app.services, days, now(), dry_run=args.dry_run)
    print(f"{erased.inbound} incoming and {erased.outbox} outgoing message(s) linked to no case"
          f" and over {days} days old {'would be emptied' if args.dry_run else 'emptied'}")
    return 0


# --- cases export and find --------------------------------------------------------------

def _export(app: App, args: argparse.Namespace) -> int:
    if not args.reference or args.out is None:
        raise ConfigError("command line", "cases export", "needs a case reference and --out",
                          "Run it as: mailbot cases export BSCP-2026-0001 --out record.docx")
    case = records.load_case(app.services, args.reference)
    if case is None:
        print(f"mailbot: no case {args.reference}", file=sys.stderr)
        return 1
    policy = _policy_of(app, case.policy_key)
    data = build_case_record(case, policy, calendar_for(policy), policy.name)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"wrote the record of {case.reference} to {args.out}")
    return 0


def _policy_of(app: App, key: str) -> Policy:
    try:
        return app.services.for_policy(key).policy
    except LookupError:
        return load_policy_file(resolve_path(app.settings, app.settings.policies_dir) / f"{key}.toml")


def _find(app: App, args: argparse.Namespace) -> int:
    if not args.child:
        raise ConfigError("command line", "cases find", "needs --child NAME",
                          'Run it as: mailbot cases find --child "Sam Sample" [--dob 2015-03-14]')
    dob = _date(args.dob, "--dob") if args.dob else None
    try:
        found = records.cases_about_child(app.services, args.child, dob)
    except ValueError as error:
        raise ConfigError("command line", "cases find --child", str(error),
                          'Give the name to search for, e.g. --child "Sam Sample".') from None
    print(f"{'REFERENCE':<16} {'PARTNERSHIP':<12} {'STATUS':<10} {'OPENED':<17} CHILD (DATE OF BIRTH)")
    for child in found:
        print(f"{child.reference:<16} {child.policy_key:<12} {child.status.value:<10}"
              f" {when(child.opened_at):<17} {child.child_name} ({child.child_dob or 'not given'})")
    print(f"{len(found)} case(s). Export each record with: mailbot cases export REF --out FILE.docx")
    return 0
