"""Finding (and, for the processed folder, creating) mail folders by path, as config names them.

Config speaks IMAP: ``INBOX``, ``Referrals``, ``mailbot/processed``. In Graph a path starts at
the well-known folder ``inbox`` when its first part is INBOX, else at ``msgfolderroot`` (where
IMAP's top-level folders live), and each further part is a child folder found by display name,
case-insensitively as Exchange compares them.
"""

from __future__ import annotations

import hashlib

from mailbot.adapters.microsoft.graph_client import GraphClient, GraphRefused

_PAGE = {"$select": "id,displayName", "$top": "100"}


def folder_uidvalidity(folder_id: str) -> int:
    """A stable, positive 31-bit number for a folder id: a recreated folder gets another one."""
    number = int.from_bytes(hashlib.sha256(folder_id.encode()).digest()[:4], "big") & 0x7FFFFFFF
    return number or 1


class FolderPaths:
    def __init__(self, client: GraphClient):
        self._client = client

    def find(self, path: str) -> str | None:
        """The folder's id, or None if some part of the path does not exist."""
        current, parts = self._start(path)
        current = self._id_of(current)
        for part in parts:
            found = self._child(current, part)
            if found is None:
                return None
            current = found
        return current

    def ensure(self, path: str) -> str:
        """The folder's id, creating whatever parts are missing."""
        current, parts = self._start(path)
        current = self._id_of(current)
        for part in parts:
            current = self._child(current, part) or self._create(current, part)
        return current

    def _start(self, path: str) -> tuple[str, list[str]]:
        parts = [part for part in path.replace("\\", "/").split("/") if part]
        if parts and parts[0].upper() == "INBOX":
            return "inbox", parts[1:]
        return "msgfolderroot", parts

    def _id_of(self, well_known: str) -> str:
        folder = self._client.get_json(self._client.user_path("mailFolders", well_known),
                                       doing=f"opening the {well_known} folder", params={"$select": "id"})
        return str(folder["id"])

    def _child(self, parent_id: str, name: str) -> str | None:
        path = self._client.user_path("mailFolders", parent_id, "childFolders")
        for page in self._client.pages(path, doing=f"looking for folder {name!r}", params=_PAGE):
            for folder in page.get("value", []):
                if str(folder.get("displayName", "")).casefold() == name.casefold():
                    return str(folder["id"])
        return None

    def _create(self, parent_id: str, name: str) -> str:
        path = self._client.user_path("mailFolders", parent_id, "childFolders")
        try:
            response = self._client.request("POST", path, doing=f"creating folder {name!r}",
                                            json={"displayName": name, "isHidden": False},
                                            expect=(200, 201))
        except GraphRefused as error:
            if error.status != 409:  # 409 ErrorFolderExists: another worker made it just now
                raise
            found = self._child(parent_id, name)
            if found is None:
                raise
            return found
        return str(response.json()["id"])
