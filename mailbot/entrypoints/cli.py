"""The `mailbot` command (contract section 2): parses arguments, runs one use case, exits.

Exit codes: 0 success, 2 a configuration or usage error (the message names the file, the
key and the fix), 1 anything else. This and the worker are the only places that exit.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from mailbot.config import Settings, load_settings
from mailbot.domain.errors import ConfigError, MailbotError, PolicyError
from mailbot.domain.working_days import LONDON
from mailbot.entrypoints import partnership_cli, reports

log = logging.getLogger("mailbot")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Alembic narrates every start-up at INFO; only its warnings are worth a line.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # httpx and httpcore log every Graph request (URLs with mailbox addresses and message ids),
    # and msal every token request: one line per failure is what an operator needs.
    for noisy in ("httpx", "httpcore", "msal"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        now = _now_function(args.now)
        return args.handler(args, now)
    except (ConfigError, PolicyError) as error:
        print(f"mailbot: configuration error: {error}", file=sys.stderr)
        return 2
    except MailbotError as error:
        print(f"mailbot: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


def _common_options(suppress: bool) -> argparse.ArgumentParser:
    """The options every command takes, before or after the command's name. After it, they
    default to SUPPRESS so they never overwrite a value given before the command."""
    common = argparse.ArgumentParser(add_help=False)
    default = (lambda value: argparse.SUPPRESS) if suppress else (lambda value: value)
    common.add_argument("--config", type=Path, default=default(None),
                        help="config file (default ./config.toml, else the embedded default)")
    common.add_argument("--now", default=default(None),
                        help="pretend the clock reads this ISO-8601 time (Europe/London)")
    common.add_argument("-v", "--verbose", action="store_true", default=default(False))
    return common


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailbot", parents=[_common_options(False)],
                                     description="Escalation bot for resolving professional differences.")
    common = _common_options(True)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, handler, text in (
        ("run", _run, "the worker: watch mailboxes, send mail, chase deadlines"),
        ("poll", _poll, "one intake pass over every mailbox, then send"),
        ("chase", _chase, "one deadline pass as of now, then send"),
        ("send", _send, "send queued mail"),
        ("demo", _demo, "run the embedded default end to end with a sample referral"),
    ):
        sub.add_parser(name, parents=[common], help=text).set_defaults(handler=handler)
    cases = sub.add_parser("cases", parents=[common],
                           help="list cases, show or export one, or find those about a child")
    cases.add_argument("action", nargs="?", choices=["show", *partnership_cli.CASE_ACTIONS])
    cases.add_argument("reference", nargs="?")
    partnership_cli.add_case_actions(cases)
    cases.set_defaults(handler=_cases)
    policies = sub.add_parser("policies", parents=[common], help="check or show policies")
    policies.add_argument("action", choices=["check", "show"])
    policies.add_argument("name", nargs="?")
    policies.set_defaults(handler=_policies)
    mailboxes = sub.add_parser("mailboxes", parents=[common],
                               help="check that every mailbox can log in, read, fetch and send")
    mailboxes.add_argument("action", choices=["check"])
    mailboxes.add_argument("--mailbox", action="append", metavar="NAME",
                           help="check only this mailbox (may be repeated)")
    mailboxes.add_argument("--send-test", metavar="ADDRESS",
                           help="send one real test message to ADDRESS from each mailbox")
    mailboxes.set_defaults(handler=_mailboxes)
    partnership_cli.register(sub, common, _app)
    return parser


def _now_function(value: str | None) -> Callable[[], datetime]:
    if value is None:
        return lambda: datetime.now(LONDON)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError("--now", "--now", f"{value!r} is not an ISO-8601 time",
                          "Write it like 2026-12-01T09:30 or 2026-12-01T09:30+00:00.") from None
    fixed = moment if moment.tzinfo else moment.replace(tzinfo=LONDON)
    return lambda: fixed


def settings_from(args: argparse.Namespace) -> Settings:
    path = args.config
    if path is None and Path("config.toml").exists():
        path = Path("config.toml")
    return load_settings(path)


def _app(args):
    from mailbot.bootstrap import bootstrap

    return bootstrap(settings_from(args))


def _poll(args, now) -> int:
    from mailbot.entrypoints.passes import poll_all, send_all

    app = _app(args)
    failures = poll_all(app, now)
    send_all(app, now)
    return 1 if failures else 0


def _chase(args, now) -> int:
    from mailbot.entrypoints.passes import send_all
    from mailbot.services.deadlines import run_deadline_pass

    app = _app(args)
    run_deadline_pass(app.services, now())
    send_all(app, now)
    return 0


def _send(args, now) -> int:
    from mailbot.entrypoints.passes import send_all

    send_all(_app(args), now)
    return 0


def _run(args, now) -> int:
    from mailbot.entrypoints.worker import run_worker

    return run_worker(_app(args), now, fixed_clock=args.now is not None)


def _demo(args, now) -> int:
    from mailbot.entrypoints.demo import run_demo

    return run_demo(now)


def _cases(args, now) -> int:
    if args.action in partnership_cli.CASE_ACTIONS:
        return partnership_cli.case_action(args, now, _app)
    app = _app(args)
    if args.action == "show":
        if not args.reference:
            raise ConfigError("command line", "cases show", "needs a case reference",
                              "Run it as: mailbot cases show BSCP-2026-0001")
        text = reports.show_case(app.services, args.reference)
        if text is None:
            print(f"mailbot: no case {args.reference}", file=sys.stderr)
            return 1
        print(text)
        return 0
    print(reports.list_cases(app.services))
    return 0


def _policies(args, now) -> int:
    settings = settings_from(args)
    from mailbot.config import resolve_path

    directory = resolve_path(settings, settings.policies_dir)
    if args.action == "check":
        text, ok = reports.check_policies(directory)
        print(text)
        return 0 if ok else 2
    if not args.name:
        raise ConfigError("command line", "policies show", "needs a policy name",
                          "Run it as: mailbot policies show bury")
    print(reports.show_policy(directory, args.name))
    return 0


def _mailboxes(args, now) -> int:
    from mailbot.entrypoints.mailbox_check import check_mailboxes

    reports = check_mailboxes(settings_from(args), now(), send_test_to=args.send_test, only=args.mailbox)
    return 0 if all(report.works for report in reports) else 1
