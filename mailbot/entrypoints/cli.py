"""The `mailbot` command (contract section 2): parses arguments, runs one use case, exits.

Exit codes: 0 success, 2 a configuration or usage error (the message names the file, the
key and the fix), 1 anything else. This and the worker are the only places that exit.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from mailbot import __version__
from mailbot.config import Settings, load_settings
from mailbot.domain.errors import ConfigError, DatabaseTrouble, MailbotError, PolicyError
from mailbot.entrypoints import admin, demo_commands, logs, partnership_cli, reports, upkeep_cli
from mailbot.entrypoints.clock import CommandClock

log = logging.getLogger("mailbot")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    # Protocol libraries log whole messages at DEBUG, httpx every Graph request, APScheduler
    # every job run: logs.configure holds them to warnings, -v or not.
    logs.configure(verbose=args.verbose, log_format=args.log_format)
    try:
        args.clock = now = CommandClock.parse(args.now)
        return args.handler(args, now)
    except (ConfigError, PolicyError) as error:
        print(f"mailbot: configuration error: {error}", file=sys.stderr)
        return 2
    except DatabaseTrouble as error:  # after start: the database went busy or away mid-command
        source = config_path(args) or "the embedded default"
        print(f"mailbot: {_one_line(error)}. The database (database.url in {source}) is busy or"
              " unreachable: nothing was lost; try again shortly.", file=sys.stderr)
        return 1
    except MailbotError as error:
        print(f"mailbot: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except Exception as error:  # noqa: BLE001 - never a raw traceback; -v logs it in full
        log.debug("unexpected error", exc_info=True)
        print(f"mailbot: unexpected error: {type(error).__name__}: {_one_line(error)}"
              " (run again with -v for the details)", file=sys.stderr)
        return 1


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:500]


def _common_options(suppress: bool) -> argparse.ArgumentParser:
    """The options every command takes, before or after the command's name. After it, they
    default to SUPPRESS so they never overwrite a value given before the command."""
    common = argparse.ArgumentParser(add_help=False)
    default = (lambda value: argparse.SUPPRESS) if suppress else (lambda value: value)
    common.add_argument("--config", type=Path, default=default(None),
                        help="config file (default ./config.toml, else the embedded default)")
    common.add_argument("--now", default=default(None),
                        help="pretend the clock reads this ISO-8601 time (in the config's timezone"
                             " unless an offset is given)")
    _log_options(common, default)
    return common


def _log_options(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument("-v", "--verbose", action="store_true", default=default(False))
    parser.add_argument("--log-format", choices=logs.FORMATS, default=default("text"),
                        help="text (default) or json, one object a line, for log shippers")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailbot", parents=[_common_options(False)],
                                     description="Escalation bot for resolving professional differences.")
    parser.add_argument("--version", action="version", version=f"mailbot {__version__}")
    common = _common_options(True)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, handler, text in (
        ("poll", _poll, "one intake pass over every mailbox, then send"),
        ("chase", _chase, "one deadline pass as of now, then send"),
        ("send", _send, "send queued mail"),
    ):
        command = sub.add_parser(name, parents=[common], help=text)
        _new_database_option(command)
        command.set_defaults(handler=handler)
    run = sub.add_parser("run", parents=[common], help="the worker: watch mailboxes, send mail, chase"
                         " deadlines (needs a config file)")
    _new_database_option(run)
    run.add_argument("--embedded-default", action="store_true",
                     help="run the demo set-up under var/demo when there is no config file")
    run.set_defaults(handler=_run)
    demo_commands.add_commands(sub, _demo_options())
    admin.add_commands(sub, common)
    upkeep_cli.add_commands(sub, common)
    cases = sub.add_parser("cases", parents=[common],
                           help="list cases, show or export one, or find those about a child")
    cases.add_argument("action", nargs="?", choices=["show", *partnership_cli.CASE_ACTIONS])
    cases.add_argument("reference", nargs="?")
    partnership_cli.add_case_actions(cases)
    cases.set_defaults(handler=_cases)
    policies = sub.add_parser("policies", parents=[common],
                              help="check or show policies, or start a new one (policies new NAME)")
    policies.add_argument("action", choices=["check", "show", "new"])
    policies.add_argument("name", nargs="?")
    policies.add_argument("--out", type=Path, help="for new: the file to write (default ./NAME.toml)")
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


def _new_database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--new-database", action="store_true",
                        help="use this database although it is not the one mailbot last used (a"
                             " restore, a fresh start); references carry on after those issued")


def _demo_options() -> argparse.ArgumentParser:
    """The demo's options: --now and logging, but no --config (it always runs the embedded default)."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--now", default=argparse.SUPPRESS,
                         help="pretend the clock reads this ISO-8601 time (Europe/London)")
    _log_options(options, lambda value: argparse.SUPPRESS)
    return options


def config_path(args: argparse.Namespace) -> Path | None:
    """--config, else ./config.toml if there is one, else None (the embedded default)."""
    if args.config is None and Path("config.toml").exists():
        return Path("config.toml")
    return args.config


def settings_from(args: argparse.Namespace) -> Settings:
    settings = load_settings(config_path(args))
    # From here on --now without an offset, and log times, are in the config's timezone.
    if getattr(args, "clock", None) is not None:
        args.clock.zone = settings.zone
    logs.use_zone(settings.zone)
    return settings


def _app(args, *, migrate: bool = False, settings: Settings | None = None):
    """The app on the config's database. Only the commands that do the work (run, poll, chase,
    send, demo) migrate the schema at start; the others stop and say when an upgrade is due."""
    from mailbot.bootstrap import bootstrap
    from mailbot.entrypoints.startup import require_known_database, warn_unsafe_files

    settings = settings or settings_from(args)
    app = bootstrap(settings, migrate_database=migrate)
    if migrate:
        warn_unsafe_files(settings)
        path = config_path(args)
        require_known_database(app, f"mailbot --config {path} poll --new-database" if path
                               else "mailbot poll --new-database",
                               accept=getattr(args, "new_database", False))
    return app


def _poll(args, now) -> int:
    from mailbot.entrypoints.passes import mail_stuck, poll_all, send_all
    from mailbot.entrypoints.single_worker import only_worker
    from mailbot.entrypoints.startup import settle_start_up

    settings = settings_from(args)
    with only_worker(settings.database.url, "poll"):  # SQLite: one worker at a time
        app = _app(args, migrate=True, settings=settings)
        settle_start_up()  # a backlog may take hours
        failures = poll_all(app, now)
        stuck = mail_stuck(send_all(app, now))
    return 1 if failures or stuck else 0


def _chase(args, now) -> int:
    from mailbot.entrypoints.passes import mail_stuck, send_all
    from mailbot.services.deadlines import run_deadline_pass
    from mailbot.services.health import record_deadline_pass

    app = _app(args, migrate=True)
    run_deadline_pass(app.services, now())
    record_deadline_pass(app.services, now())
    return 1 if mail_stuck(send_all(app, now)) else 0


def _send(args, now) -> int:
    from mailbot.entrypoints.passes import mail_stuck, send_all

    return 1 if mail_stuck(send_all(_app(args, migrate=True), now)) else 0


def _run(args, now) -> int:
    from mailbot.entrypoints.worker import run_worker

    if config_path(args) is None and not args.embedded_default:
        raise ConfigError("command line", "--config", "mailbot run needs a config file, and none was"
                          " given (there is no ./config.toml here)",
                          "Copy config.example.toml to /etc/mailbot/config.toml (or ./config.toml),"
                          " edit it, and run `mailbot --config /etc/mailbot/config.toml run`; to run"
                          " the demo set-up instead, say so: `mailbot run --embedded-default`.")
    from mailbot.entrypoints.single_worker import only_worker
    from mailbot.entrypoints.startup import settle_start_up

    settings = settings_from(args)
    with only_worker(settings.database.url, "run"):  # SQLite: one worker at a time
        app = _app(args, migrate=True, settings=settings)
        settle_start_up()
        return run_worker(app, now, fixed_clock=args.now is not None)


def _cases(args, now) -> int:
    if args.action in partnership_cli.CASE_ACTIONS:
        return partnership_cli.case_action(args, now, _app)
    from mailbot.entrypoints.store_view import store_view

    settings = settings_from(args)
    view = store_view(settings)  # the store and the policies only: this command just looks
    if args.action == "show":
        if not args.reference:
            raise ConfigError("command line", "cases show", "needs a case reference",
                              "Run it as: mailbot cases show BSCP-2026-0001")
        text = reports.show_case(view, args.reference, settings.zone)
        if text is None:
            print(f"mailbot: no case {args.reference}", file=sys.stderr)
            return 1
        print(text)
        return 0
    print(reports.list_cases(view, settings.zone))
    return 0


def _policies(args, now) -> int:
    settings = settings_from(args)
    from mailbot.config import resolve_path

    directory = resolve_path(settings, settings.policies_dir)
    if args.action == "new":
        from mailbot.entrypoints.policy_new import write_new_policy

        return write_new_policy(args.name, args.out)
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
