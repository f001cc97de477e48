"""The routing mailer sends each message through the mailer of its envelope sender."""

from __future__ import annotations

import pytest

from mailbot.adapters.routing_mailer import RoutingMailer
from mailbot.domain.errors import TransientError
from mailbot.services.ports import OutgoingEmail


class RecordingMailer:
    def __init__(self, fail_with: Exception | None = None):
        self.sent: list[OutgoingEmail] = []
        self.closed = 0
        self.fail_with = fail_with

    def send(self, email: OutgoingEmail) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(email)

    def close(self) -> None:
        self.closed += 1


def _email(sender: str) -> OutgoingEmail:
    return OutgoingEmail("<id@x>", sender, ("someone@example.org",), b"Subject: x\r\n\r\nx\r\n")


def test_a_mailbox_sending_through_its_own_account_uses_that_mailer():
    outgoing, graph = RecordingMailer(), RecordingMailer()
    router = RoutingMailer(outgoing, {"bsp@bury.gov.uk": graph})
    router.send(_email("bsp@bury.gov.uk"))
    assert len(graph.sent) == 1 and not outgoing.sent


def test_every_other_sender_goes_through_the_outgoing_mailer():
    outgoing, graph = RecordingMailer(), RecordingMailer()
    router = RoutingMailer(outgoing, {"bsp@bury.gov.uk": graph})
    router.send(_email("chscp@hackney.example"))
    assert len(outgoing.sent) == 1 and not graph.sent


def test_the_sender_is_matched_whatever_its_case():
    outgoing, ews = RecordingMailer(), RecordingMailer()
    router = RoutingMailer(outgoing, {"BSP@Bury.gov.uk": ews})
    router.send(_email("bsp@BURY.gov.uk "))
    assert len(ews.sent) == 1


def test_errors_reach_the_outbox_unchanged_so_it_can_retry():
    error = TransientError("throttled")
    router = RoutingMailer(RecordingMailer(), {"bsp@bury.gov.uk": RecordingMailer(fail_with=error)})
    with pytest.raises(TransientError) as caught:
        router.send(_email("bsp@bury.gov.uk"))
    assert caught.value is error


def test_closing_closes_each_mailer_once_even_when_shared():
    outgoing, shared = RecordingMailer(), RecordingMailer()
    router = RoutingMailer(outgoing, {"a@x.org": shared, "b@x.org": shared})
    router.close()
    assert outgoing.closed == 1 and shared.closed == 1
