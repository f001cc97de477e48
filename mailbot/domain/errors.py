"""The typed error family every layer raises and the entry points translate.

Adapters translate third-party failures into these with ``raise ... from``; the worker
only needs to know whether to retry (transient) or give up and report (permanent).
"""


class MailbotError(Exception):
    """Base of every error mailbot raises on purpose."""


class TransientError(MailbotError):
    """Worth retrying later: a dropped connection, a 4xx SMTP answer, a locked row."""


class DatabaseTrouble(TransientError):
    """The database is busy, locked or unreachable: nothing is wrong with the work itself."""


class PermanentError(MailbotError):
    """Retrying will not help: a 5xx SMTP answer, a refused login, a malformed message."""


class ConfigError(PermanentError):
    """The configuration is wrong. Carries the file, the key and the fix."""

    def __init__(self, file: str, key: str, problem: str, fix: str = ""):
        self.file, self.key, self.problem, self.fix = file, key, problem, fix
        text = f"{file}: {key}: {problem}"
        super().__init__(f"{text}. {fix}" if fix else text)


class PolicyError(PermanentError):
    """A policy file is invalid. Carries the file, the key, the problem and, where one can be
    said, the fix."""

    def __init__(self, file: str, key: str, problem: str, fix: str = ""):
        self.file, self.key, self.problem, self.fix = file, key, problem, fix
        text = f"{file}: {key}: {problem}"
        super().__init__(f"{text}. {fix}" if fix else text)


class PolicyProblems(PolicyError):
    """Every problem found in one policy file: reads as the first, and lists them all, so a
    business manager fixes a file in one pass rather than one error a run."""

    def __init__(self, problems: list[PolicyError]):
        first = problems[0]
        super().__init__(first.file, first.key, first.problem, first.fix)
        self.problems = problems
        if len(problems) > 1:
            self.args = ("\n".join(str(problem) for problem in problems),)


class FormError(PermanentError):
    """An attachment or form cannot be read. ``reply_text`` tells the sender what to fix."""

    def __init__(self, reply_text: str, *, code: str = "unreadable"):
        self.reply_text, self.code = reply_text, code
        super().__init__(reply_text)


class CaseRuleRefused(MailbotError):
    """The policy does not allow this change to this case; ``reason`` is for a person."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class AuthenticationFailed(PermanentError):
    """A mail service refused our credentials; ``reason`` says which and ``fix`` what to do.

    Raised for an expired client secret, a missing permission, a wrong tenant, a refused
    password. The worker reports it to the mailbox's business managers once and carries on
    with the other mailboxes.
    """

    def __init__(self, reason: str, fix: str = ""):
        self.reason, self.fix = reason, fix
        super().__init__(f"{reason}. {fix}" if fix else reason)


# The database driver's own names for "busy or gone", should one arrive untranslated (the
# adapters translate what they can into DatabaseTrouble; the domain imports no driver).
_DATABASE_TROUBLE_NAMES = {"OperationalError", "InterfaceError"}


def is_database_trouble(error: BaseException | None) -> bool:
    """The database busy, locked or disconnected, however it surfaced (walks the causes)."""
    for _ in range(20):  # a cause chain is short; this bounds a pathological one
        if error is None:
            return False
        if isinstance(error, DatabaseTrouble) or type(error).__name__ in _DATABASE_TROUBLE_NAMES:
            return True
        if getattr(error, "connection_invalidated", False) or "database is locked" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False
