"""`python -m mailbot`: the same entry point as the `mailbot` command."""

from mailbot.entrypoints.cli import main

raise SystemExit(main())
