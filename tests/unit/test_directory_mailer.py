"""The directory mailer: whole files, safe names, nothing left half-written."""

from __future__ import annotations

import datetime
import re
import stat

import pytest

from mailbot.adapters.directory_mailer import DirectoryMailer, file_name
from mailbot.domain.errors import TransientError
from mailbot.services.ports import OutgoingEmail

NAME = re.compile(r"^\d{8}T\d{12}Z-[A-Za-z0-9._@+=-]+\.eml$")


def _email(message_id: str = "<ack1@bury.example>", body: bytes = b"Hello.\r\n"):
    data = b"Subject: [BSCP-2026-0001] Acknowledgement\r\n\r\n" + body
    return OutgoingEmail(message_id, "bsp@bury.example", ("referrer@school.example",), data)


def test_each_message_becomes_one_eml_file_with_its_exact_bytes(tmp_path):
    mailer = DirectoryMailer(tmp_path / "outbox")  # created on first use
    mailer.send(_email("<a@bury.example>", b"first\r\n"))
    mailer.send(_email("<b@bury.example>", b"second\r\n"))
    files = sorted((tmp_path / "outbox").iterdir())
    assert [f.name.split("-", 1)[1] for f in files] == ["a@bury.example.eml", "b@bury.example.eml"]
    assert all(NAME.match(f.name) for f in files)
    assert files[0].read_bytes() == _email("<a@bury.example>", b"first\r\n").data
    assert files[1].read_bytes().endswith(b"second\r\n")


def test_no_temporary_file_is_left_and_files_are_private(tmp_path):
    DirectoryMailer(tmp_path).send(_email())
    (written,) = list(tmp_path.iterdir())
    assert not written.name.startswith(".")
    assert stat.S_IMODE(written.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "hostile",
    ["<../../etc/passwd@x>", "<a/b\\c@x>", "<x\r\nBcc: all@x>", "<..>", "<>", "", "<\x00@x>",
     "<" + "a" * 5000 + "@x>"],
)
def test_a_hostile_message_id_cannot_steer_the_file_name(tmp_path, hostile):
    outbox = tmp_path / "outbox"
    DirectoryMailer(outbox).send(_email(hostile))
    (written,) = list(outbox.iterdir())
    assert NAME.match(written.name), written.name
    assert len(written.name) < 150
    assert list(tmp_path.iterdir()) == [outbox]


def test_file_names_sort_by_time_in_utc():
    london_summer = datetime.timezone(datetime.timedelta(hours=1))
    summer = datetime.datetime(2026, 7, 1, 12, 0, 0, 5, tzinfo=london_summer)
    assert file_name("<id@x>", summer) == "20260701T110000000005Z-id@x.eml"
    assert file_name("", summer).endswith("-message.eml")


def test_an_unwritable_folder_is_a_transient_failure(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(TransientError):
        DirectoryMailer(blocker / "outbox").send(_email())


def test_a_temporary_file_a_killed_pass_left_is_removed_by_the_next_pass(tmp_path):
    # What SIGKILL between the write and the rename leaves: a hidden file with a whole message.
    import os
    import time

    stale = tmp_path / ".tmp-0123456789abcdef"
    stale.write_bytes(_email().data)
    old = time.time() - 3600
    os.utime(stale, (old, old))
    in_progress = tmp_path / ".tmp-fedcba9876543210"  # another process, writing right now
    in_progress.write_bytes(b"Subject: half")
    DirectoryMailer(tmp_path).send(_email("<next@bury.example>"))
    assert not stale.exists(), "no whole message is left under a temporary name"
    assert in_progress.exists(), "a write still under way is left alone"

def test_the_mailer_tells_which_message_ids_it_has_delivered(tmp_path):
    """A send pass killed after writing a file, before the store marked it sent, is followed by
    a resend: the directory mailer can tell it was delivered, so it is not written twice."""
    mailer = DirectoryMailer(tmp_path / "outbox")
    assert not mailer.delivered("<a@bury.example>")
    mailer.send(_email("<a@bury.example>"))
    mailer.send(_email("<x-a@bury.example>"))
    assert mailer.delivered("<a@bury.example>") and mailer.delivered("x-a@bury.example")
    assert not mailer.delivered("<b@bury.example>") and not mailer.delivered("<-a@bury.example>")
