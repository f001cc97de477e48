"""Which hosts may be reached in plain text: loopback only."""

from __future__ import annotations

import pytest

from mailbot.adapters.connection_security import check_security, is_loopback
from mailbot.domain.errors import ConfigError


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost",
                                  "LOCALHOST."])
def test_loopback_hosts_are_recognised(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["10.0.0.1", "0.0.0.0", "localhost.example.org",
                                  "127.0.0.1.nip.io", "mail.bury.gov.uk", ""])
def test_other_hosts_are_not_loopback(host):
    assert not is_loopback(host)


def test_plain_text_is_refused_off_loopback_with_the_key_and_the_fix():
    with pytest.raises(ConfigError) as caught:
        check_security("mail.bury.gov.uk", "none", "mailbox.bury.security")
    assert caught.value.key == "mailbox.bury.security"
    assert "starttls" in caught.value.fix


def test_tls_anywhere_and_plain_on_loopback_pass():
    check_security("mail.bury.gov.uk", "tls", "k")
    check_security("mail.bury.gov.uk", "starttls", "k")
    check_security("127.0.0.1", "none", "k")
