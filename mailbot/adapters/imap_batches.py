"""Taking an IMAP backlog batch by batch: the list of UIDs still to take, cutting a batch to
the byte budget, and fetching its bodies, either at once or asked for ahead while the batch
before it is stored.

A backlog is searched once and taken from that list (a SEARCH per batch had made storing
10,000 messages cost 4.4 times a bare fetch, issue 19), as fetch, store, move, batch after batch
(imap_mailbox). Storing a batch leaves the session idle, and the server only starts gathering
the next batch once asked. So when a batch is handed out, the next batch's FETCH is sent at
once and its answer read when that batch is wanted (RFC 3501 5.5 lets a client send a command
before the last is answered): the server reads the messages and writes them into the socket's
buffers while this process compresses and stores the batch before. BODY.PEEK[] changes nothing
on the server, so an answer read and thrown away (the drain stopped, the session is closing)
loses nothing. At most one command is outstanding: the session reads its answer before sending
any other.
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


class Backlog:
    """The UIDs one SEARCH found that no fetch has taken yet, and the next batch asked for
    ahead. Forgotten whenever the list may be stale (the session dropped, UIDVALIDITY changed,
    a batch found gone)."""

    def __init__(self, max_batch_bytes: int):
        self.uids: list[int] = []
        self.ahead: BatchFetch | None = None
        self._max_batch_bytes = max_batch_bytes
        self._large = Large()

    def forget(self) -> None:
        self.uids, self.ahead = [], None
        self._large = Large()

    def take_ahead(self, limit: int) -> BatchFetch | None:
        """The batch asked for ahead, if any, cut to ``limit`` (the rest goes back to the list)."""
        ahead, self.ahead = self.ahead, None
        if ahead is not None:
            self.uids[:0] = ahead.uids[limit:]  # fewer asked for this time
            ahead.uids = ahead.uids[:limit]
        return ahead

    def next_uids(self, client: IMAPClient, limit: int) -> list[int]:
        """Takes the list's next batch: at most ``limit`` UIDs within the byte budget."""
        uids = self.uids[:limit]
        if len(uids) > 1 and self._large.among(client, uids, self._max_batch_bytes, self.uids):
            uids = cut_to_size(client, uids, self._max_batch_bytes)
        del self.uids[:len(uids)]
        return uids

    def ask_ahead(self, client: IMAPClient, limit: int) -> None:
        """Sends the FETCH of the list's next batch, if any is left, for the next fetch to read."""
        if self.uids:
            self.ahead = BatchFetch(client, self.next_uids(client, limit))

    def drop_ahead(self) -> None:
        """Reads and drops the answer to a batch asked for ahead (raising as the session would):
        its mail stays in the folder for the next look. Before anything else is said."""
        ahead, self.ahead = self.ahead, None
        if ahead is not None:
            ahead.bodies()


class Large:
    """Which UIDs of a backlog are larger than an equal share of the byte budget, found by one
    SEARCH for the whole list rather than one a batch.

    A batch none of whose messages is larger than its share fits whole, and a backlog of small
    mail is all such batches; a SEARCH a batch had cost a round trip, and the server a sync,
    before each batch's FETCH could be sent (issue 19). Sizes never change, so the answer holds
    for as long as the list (it is forgotten with it), and for any batch of these UIDs whose
    share is no smaller.
    """

    def __init__(self) -> None:
        self._share = 0  # the share the SEARCH asked about; 0: not asked yet
        self._searched: set[int] = set()
        self._found: set[int] = set()

    def among(self, client: IMAPClient, uids: list[int], budget: int,
              backlog: list[int]) -> bool:
        """Whether any of ``uids`` (a batch of ``backlog``) is larger than its share."""
        share = budget // len(uids)
        if share < self._share or not self._searched.issuperset(uids):
            self._share, self._searched = share, set(backlog)
            self._found = set(client.search(["UID", uid_set(backlog), "LARGER", str(share)]))
        return not self._found.isdisjoint(uids)


def cut_to_size(client: IMAPClient, uids: list[int], budget: int) -> list[int]:
    """The first of ``uids`` whose bodies stay under ``budget`` bytes (always at least one)."""
    sizes = client.fetch(uids, ["RFC822.SIZE"])
    total, kept = 0, []
    for uid in uids:
        total += sizes.get(uid, {}).get(b"RFC822.SIZE", 0)
        if kept and total > budget:
            break
        kept.append(uid)
    return kept
