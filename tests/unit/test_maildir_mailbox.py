"""What is particular to the Maildir mailbox (the shared behaviour is in the contract suite)."""

from __future__ import annotations

import pytest

from mailbot.adapters.maildir_mailbox import MaildirMailbox
from mailbot.domain.errors import PermanentError
from mailbot.services.ports import RawMessage


def _put(path, sub: str, name: str, data: bytes = b"Subject: x\r\n\r\nx\r\n") -> None:
    (path / sub).mkdir(parents=True, exist_ok=True)
    (path / sub / name).write_bytes(data)


def test_a_folder_that_does_not_exist_yet_is_created(tmp_path):
    path = tmp_path / "not" / "yet"
    assert MaildirMailbox("bury", path).fetch_new() == []
    for sub in ("new", "cur", "tmp", ".processed/new", ".processed/cur", ".processed/tmp"):
        assert (path / sub).is_dir()


def test_uidvalidity_is_kept_in_the_folder_across_instances(tmp_path):
    _put(tmp_path, "new", "1700000000.M1P1.host")
    first = MaildirMailbox("bury", tmp_path).fetch_new()[0].uidvalidity
    again = MaildirMailbox("bury", tmp_path).fetch_new()[0].uidvalidity
    assert first == again > 0


def test_arrival_order_follows_the_delivery_time_in_the_names(tmp_path):
    for name in ("1700000001.M5P1.host", "1699999999.M9P1.host", "1700000001.M40P1.host"):
        _put(tmp_path, "new", name, name.encode())
    _put(tmp_path, "cur", "1700000000.M1P1.host:2,S", b"read by someone")
    keys = [m.uid for m in MaildirMailbox("bury", tmp_path).fetch_new()]
    assert keys == ["1699999999.M9P1.host", "1700000000.M1P1.host", "1700000001.M5P1.host",
                    "1700000001.M40P1.host"]


def test_trashed_and_hidden_files_are_not_offered(tmp_path):
    _put(tmp_path, "cur", "1700000000.M1P1.host:2,ST")
    _put(tmp_path, "new", ".nfs-leftover")
    assert MaildirMailbox("bury", tmp_path).fetch_new() == []


def test_processing_keeps_the_flags_and_marks_new_mail_as_seen_by_a_client(tmp_path):
    _put(tmp_path, "new", "1700000000.M1P1.host")
    _put(tmp_path, "cur", "1700000001.M1P1.host:2,F")
    adapter = MaildirMailbox("bury", tmp_path)
    for raw in adapter.fetch_new():
        adapter.mark_processed(raw)
    moved = sorted(p.name for p in (tmp_path / ".processed" / "cur").iterdir())
    assert moved == ["1700000000.M1P1.host:2,", "1700000001.M1P1.host:2,F"]


@pytest.mark.parametrize("key", ["../escape", "a/b", "..", "."])
def test_a_key_with_a_path_in_it_is_refused(tmp_path, key):
    with pytest.raises(PermanentError):
        MaildirMailbox("bury", tmp_path).mark_processed(RawMessage("bury", 1, key, b""))


def test_a_message_of_another_mailbox_is_refused(tmp_path):
    with pytest.raises(PermanentError):
        MaildirMailbox("bury", tmp_path).mark_processed(RawMessage("hackney", 1, "k", b""))
