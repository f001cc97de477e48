"""Reads typed values from one table of a parsed policy file, naming the dotted key on error.

``policy_schema`` walks a policy file with one ``TableReader`` per table, so every problem it
finds names the file, the full dotted key (``stages[1].notify[0].roles``) and what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from typing import Any

from mailbot.domain.errors import PolicyError


class TableReader:
    """Reads typed values from one table, naming the dotted key on any problem."""

    def __init__(self, file: str, data: Mapping[str, Any], path: str = ""):
        self.file, self.data, self.path = file, data, path

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def fail(self, name: str, problem: str, fix: str = "") -> PolicyError:
        return PolicyError(self.file, self.key(name), problem, fix)

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if name not in self.data:
            if default is ...:
                raise self.fail(name, "is required but missing",
                                "Add it; policies/README.md says what it holds.")
            return default
        value = self.data[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(name, f"must be {_kind_name(kind)}, not {type(value).__name__}",
                            f"Write it as {_kind_name(kind)}.")
        return value

    def text(self, name: str, default: Any = ...) -> str:
        value = self.get(name, str, default)
        if default is ... and not value.strip():
            raise self.fail(name, "must not be empty")
        return value

    def strings(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        values = self.get(name, list, list(default))
        for i, value in enumerate(values):
            if not isinstance(value, str):
                raise self.fail(f"{name}[{i}]", "must be a string")
        return tuple(values)

    def table(self, name: str, default: Any = ...) -> TableReader:
        return TableReader(self.file, self.get(name, dict, default), self.key(name))

    def tables(self, name: str, required: bool = False) -> list[TableReader]:
        items = self.get(name, list, ... if required else [])
        readers = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise self.fail(f"{name}[{i}]", "must be a table")
            readers.append(TableReader(self.file, item, f"{self.key(name)}[{i}]"))
        return readers

    def clock(self, name: str, default: str) -> time:
        value = self.text(name, default)
        try:
            return time.fromisoformat(value)
        except ValueError:
            raise self.fail(name, f"must be a time like 17:00, not {value!r}") from None

    def unknown_keys(self, allowed: set[str]) -> None:
        extra = sorted(set(self.data) - allowed)
        if extra:
            raise self.fail(extra[0], f"is not a known key here (known: {', '.join(sorted(allowed))})",
                            "Remove it or correct its spelling; a key written below a [table]"
                            " header belongs to that table, so top-level keys go above the first one.")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "text", int: "a whole number", list: "a list", dict: "a table", bool: "true/false"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)
