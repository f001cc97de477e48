"""A FETCH answer's bodies are read the same whether the plain answer's quick reading or
imapclient's parser takes them: the quick reading must never answer differently."""

from __future__ import annotations

from imapclient.response_parser import parse_fetch_response

from mailbot.adapters.imap_batches import bodies_in

FIRST, SECOND = b"Message-ID: <a@x>\r\n\r\nfirst\r\n", b"Message-ID: <b@x>\r\n\r\n)second\r\n"


def plain(seq: int, uid: int, body: bytes) -> list:
    """One message's answer as imaplib keeps it: the line up to the literal, the literal, ')'."""
    return [(b"%d (UID %d BODY[] {%d}" % (seq, uid, len(body)), body), b")"]


def by_imapclient(data: list, uids: list[int]) -> dict[int, bytes | None]:
    fetched = parse_fetch_response(data, False, True)
    return {uid: fetched.get(uid, {}).get(b"BODY[]") for uid in uids}


def test_plain_answers_give_each_uid_its_body():
    data = plain(1, 40, FIRST) + plain(2, 41, SECOND)
    assert bodies_in(data, [40, 41]) == {40: FIRST, 41: SECOND} == by_imapclient(data, [40, 41])


def test_a_uid_the_server_did_not_answer_for_has_no_body():
    data = plain(1, 40, FIRST)
    assert bodies_in(data, [40, 41]) == {40: FIRST, 41: None} == by_imapclient(data, [40, 41])


def test_a_message_moved_meanwhile_comes_back_without_a_body():
    data = [*plain(1, 40, FIRST), b"2 (UID 41 BODY[] NIL)"]
    assert bodies_in(data, [40, 41]) == {40: FIRST, 41: None} == by_imapclient(data, [40, 41])


def test_answers_in_another_shape_are_read_by_the_full_parser():
    shapes = [
        [(b"1 (BODY[] {%d}" % len(FIRST), FIRST), b" UID 40)"],  # the items the other way round
        [(b"1 (UID 40 FLAGS (\\Seen) BODY[] {%d}" % len(FIRST), FIRST), b")"],  # more items
        [b"3 (FLAGS (\\Seen) UID 99)", *plain(1, 40, FIRST)],  # news of another message first
    ]
    for data in shapes:
        assert bodies_in(data, [40]) == {40: FIRST} == by_imapclient(data, [40])


def test_an_answer_with_no_message_at_all_has_no_bodies():
    assert bodies_in([None], [40]) == {40: None} == by_imapclient([None], [40])
