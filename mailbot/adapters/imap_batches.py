"""Taking an IMAP backlog batch by batch: cutting a batch to the byte budget, and fetching its
bodies, either at once or asked for ahead while the batch before it is stored.

A backlog is taken as fetch, store, move, batch after batch (imap_mailbox). Storing a batch
leaves the session idle, and the server only starts gathering the next batch once asked. So
when a batch is handed out, the next batch's FETCH is sent at once and its answer read when
that batch is wanted (RFC 3501 5.5 lets a client send a command before the last is answered):
the server reads the messages and writes them into the socket's buffers while this process
compresses and stores the batch before. BODY.PEEK[] changes nothing on the server, so an
answer read and thrown away (the drain stopped, the session is closing) loses nothing. At most
one command is outstanding: the session reads its answer before sending any other.
"""

from __future__ import annotations

import imaplib
import re

from imapclient import IMAPClient
from imapclient.response_parser import parse_fetch_response

from mailbot.adapters.imap_marking import uid_set

Bodies = dict[int, bytes | None]  # a UID's message, or None where it left the folder meanwhile


class BatchFetch:
    """The bodies of a batch of UIDs: the FETCH is sent when this is made, read by ``bodies``."""

    def __init__(self, client: IMAPClient, uids: list[int]):
        self.uids = uids
        self._client = client
        self._bodies: Bodies | None = None
        # What imapclient's fetch sends, split so that the answer can be read later.
        self._tag = client._imap._command("UID", "FETCH", uid_set(sorted(uids)), "(BODY.PEEK[])")

    def bodies(self) -> Bodies:
        """Reads the answer the first time (raising as imapclient's fetch would), then keeps it."""
        if self._bodies is None:
            imap = self._client._imap
            status, data = imap._command_complete("FETCH", self._tag)
            if status != "OK":
                raise imaplib.IMAP4.error(f"FETCH answered {status}: {data}")
            _, data = imap._untagged_response(status, data, "FETCH")
            self._bodies = bodies_in(data, self.uids)
        return self._bodies


# One message's answer as imaplib hands it over when it is what we asked for and nothing else:
# (b"<seq> (UID <uid> BODY[] {<size>}", <body>) and then b")". Dovecot and most servers answer
# a UID FETCH of BODY.PEEK[] so.
_PLAIN_ANSWER = re.compile(rb"\d+ \(UID (\d+) BODY\[\] \{\d+\}")


def bodies_in(data: list, uids: list[int]) -> Bodies:
    """The bodies of ``uids`` in a FETCH answer's untagged data (as imaplib keeps it).

    The plain answer is read with one regular expression a message; anything else (other
    items, another order, BODY[] NIL for a message another session has just moved) goes to
    imapclient's parser. Its tokenizer had cost 11 us a message, a fifth of this process's
    time for a backlog of small mail.
    """
    fetched: dict[int, bytes] = {}
    items = iter(data)
    for item in items:
        head = _PLAIN_ANSWER.fullmatch(item[0]) if type(item) is tuple else None
        if head is None or next(items, None) != b")":
            return _parsed(data, uids)
        fetched[int(head[1])] = item[1]
    return {uid: fetched.get(uid) for uid in uids}


def _parsed(data: list, uids: list[int]) -> Bodies:
    fetched = parse_fetch_response(data, False, True)
    # A message another session has just moved comes back as BODY[] NIL (Dovecot).
    return {uid: fetched.get(uid, {}).get(b"BODY[]") for uid in uids}


def within_size(client: IMAPClient, uids: list[int], budget: int) -> list[int]:
    """The first of ``uids`` whose bodies stay under ``budget`` bytes (always at least one)."""
    if len(uids) <= 1:
        return uids
    # If none of them is larger than an equal share of the budget, all of them fit: one
    # cheap SEARCH instead of fetching every size, which costs as much as a third of the
    # bodies' own fetch for a backlog of small mail.
    share = budget // len(uids)
    if not client.search(["UID", uid_set(uids), "LARGER", str(share)]):
        return uids
    sizes = client.fetch(uids, ["RFC822.SIZE"])
    total, kept = 0, []
    for uid in uids:
        total += sizes.get(uid, {}).get(b"RFC822.SIZE", 0)
        if kept and total > budget:
            break
        kept.append(uid)
    return kept
