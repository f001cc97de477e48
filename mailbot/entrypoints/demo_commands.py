"""`mailbot demo` and `mailbot demo reply`: registered here so the CLI's table stays short.

The demo runs the embedded default only, so its help offers no --config, and a --config given
before `demo` is refused rather than silently ignored.
"""

from __future__ import annotations

import argparse

from mailbot.domain.errors import ConfigError


def add_commands(sub, options: argparse.ArgumentParser) -> None:
    demo = sub.add_parser("demo", parents=[options],
                          help="run the embedded default end to end with a sample referral",
                          description="Runs a sample referral through the embedded default under"
                                      " var/demo, prints the commands to look at the case and to"
                                      " answer it, then keeps the worker running until Ctrl-C.")
    demo.add_argument("--once", action="store_true",
                      help="stop once the referral is through, instead of keeping the worker running")
    demo.set_defaults(handler=_demo)
    actions = demo.add_subparsers(dest="demo_action", metavar="reply")
    reply = actions.add_parser("reply", parents=[options],
                               help="write a reply from the business manager into the demo mailbox",
                               description="Writes a reply from the demo's business manager, threaded"
                                           " to the last email mailbot sent them about REF, into the"
                                           " demo's Maildir; a running demo (or `mailbot poll` on"
                                           " var/demo/config.toml) takes it in.")
    reply.add_argument("reference", metavar="REF", help="the case reference, e.g. BSCP-2026-0001")
    reply.add_argument("text", metavar="TEXT", help='what the reply says, e.g. "ESCALATE" or'
                       ' "RESOLVED: agreed to assess"')
    reply.set_defaults(handler=_reply)


def _refuse_config(args) -> None:
    if args.config is not None:
        raise ConfigError("command line", "--config", "mailbot demo always runs the embedded"
                          " default, so it does not read a config file",
                          "Leave --config out, or use `mailbot --config FILE run` for your own set-up.")


def _demo(args, now) -> int:
    from mailbot.entrypoints.demo import run_demo

    _refuse_config(args)
    return run_demo(now, once=args.once)


def _reply(args, now) -> int:
    from mailbot.entrypoints.demo_reply import write_reply

    _refuse_config(args)
    return write_reply(args.reference, args.text, now())
