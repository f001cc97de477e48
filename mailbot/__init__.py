"""mailbot: runs "resolving professional differences" escalation cases by email."""

__version__ = "0.1.0"
