"""The command line of the partnership's commands: `mailbot report`, `mailbot digest`,
`mailbot retention run`, and the `export` and `find` actions of `mailbot cases`.

Parsing only: what each command does is in ``partnership_reports``, imported when one of
them runs, so every other command starts without loading matplotlib and the report code.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

CASE_ACTIONS = ("export", "find")


def _run(name: str, app_of: Callable) -> Callable:
    def handler(args: argparse.Namespace, now) -> int:
        from mailbot.entrypoints import partnership_reports

        return getattr(partnership_reports, name)(app_of(args), args, now)
    return handler


def register(sub, common: argparse.ArgumentParser, app_of: Callable) -> None:
    """Adds `report`, `digest` and `retention`; ``app_of(args)`` bootstraps the app."""
    report = sub.add_parser("report", parents=[common],
                            help="the thematic report: a Word report with charts, and a CSV")
    report.add_argument("--from", dest="first_day", metavar="DATE", required=True)
    report.add_argument("--to", dest="last_day", metavar="DATE", required=True)
    report.add_argument("--partnership", metavar="NAME", help="one partnership (default: all)")
    report.add_argument("--out", metavar="DIR", type=Path, required=True)
    report.set_defaults(handler=_run("report", app_of))
    digest = sub.add_parser("digest", parents=[common],
                            help="queue and send each weekly digest that is due and not yet sent")
    digest.set_defaults(handler=_run("digest", app_of))
    retention = sub.add_parser("retention", parents=[common],
                               help="anonymise closed cases past their retention period")
    retention.add_argument("action", choices=["run"])
    retention.add_argument("--dry-run", action="store_true", help="list them, change nothing")
    retention.set_defaults(handler=_run("retention", app_of))


def add_case_actions(cases: argparse.ArgumentParser) -> None:
    """The options of `cases export REF --out FILE` and `cases find --child NAME [--dob DATE]`."""
    cases.add_argument("--out", metavar="FILE", type=Path, help="for export: the .docx to write")
    cases.add_argument("--child", metavar="NAME", help="for find: the child's name")
    cases.add_argument("--dob", metavar="DATE", help="for find: the child's date of birth")


def case_action(args: argparse.Namespace, now, app_of: Callable) -> int:
    return _run("case_action", app_of)(args, now)
