"""The reference marker: a small file outside the database naming it and the highest case
reference issued from it, so a database that lost its cases is noticed.

An emptied, mistyped or restored database would otherwise start again at 0001, and replies
to old threads (matched by ``[REF]`` in the subject) would land on another child's case.
The file is JSON, written whole (temporary file, then rename) after every commit that
issued a reference. It holds references only, never a child's details.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import threading
from pathlib import Path

from mailbot.services.ports import KeptMarker

log = logging.getLogger(__name__)

FILE_NAME = "database-marker.json"
_REFERENCE = re.compile(r"^(?P<series>[A-Z]{2,10}-\d{4})-(?P<number>\d{4,6})$")


class FileReferenceMarker:
    """``database`` (the URL, password hidden) is written beside the identity for a person
    reading the file; only the identity is compared."""

    def __init__(self, path: Path, database: str = ""):
        self.path, self.database = path, database
        self._lock = threading.Lock()  # the worker's mailbox threads commit concurrently

    def read(self) -> KeptMarker | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return KeptMarker(str(data["database_id"]),
                              {str(k): int(v) for k, v in data["references"].items()})
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            log.warning("the database marker %s cannot be read (%s); it will be written afresh",
                        self.path, error)
            return None

    def write(self, marker: KeptMarker) -> None:
        with self._lock:
            self._write(marker)

    def note_issued(self, references: list[str]) -> None:
        """After a commit that issued these references. Never raises: the case is already
        stored, and a marker that cannot be written must not turn it into a failure."""
        issued = {}
        for reference in references:
            if match := _REFERENCE.match(reference):
                issued[match["series"]] = max(issued.get(match["series"], 0), int(match["number"]))
        with self._lock:
            kept = self.read()
            if kept is None:
                return  # no marker was made at start (a command that does not check)
            merged = {**kept.references}
            for series, number in issued.items():
                merged[series] = max(merged.get(series, 0), number)
            self._write(KeptMarker(kept.database_id, merged))

    def _write(self, marker: KeptMarker) -> None:
        text = json.dumps({"database_id": marker.database_id, "database": self.database,
                           "references": dict(sorted(marker.references.items())),
                           "note": "mailbot keeps this to notice a database that lost its cases;"
                                   " see README, 'Commands'."}, indent=2)
        temporary = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(text + "\n", encoding="utf-8")
            os.replace(temporary, self.path)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            log.warning("cannot write the database marker %s (%s): a database that loses its"
                        " cases will not be noticed", self.path, error)
