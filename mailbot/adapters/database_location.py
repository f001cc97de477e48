"""Where the database is: ``database.url``, a relative SQLite path taken from the config file's
folder like every other path. Apart from bootstrap, so a command can open the store alone."""

from __future__ import annotations

from mailbot.config import Settings, resolve_path


def database_url(settings: Settings) -> str:
    """SQLite paths in a config file are relative to that file, like every other path."""
    url = settings.database.url
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str(resolve_path(settings, url[len(prefix):]))
    return url
