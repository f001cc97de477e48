"""The plain-address shortcut reads an address header exactly as the header registry does.

``intake.headers`` answers the commonest shapes (``Name Words <local@domain>``, a bare
``local@domain``) without the standard library's header registry, and says a plain dot-atom
address is mailable without asking its parser. The registry stays the oracle: for every
header the shortcut takes, generated and from the shared corpora, the answers must be the
same, so a sender's address is never read differently for having taken it.
"""

from __future__ import annotations

from email import message_from_bytes
from email.policy import compat32

from hypothesis import example, given, settings
from hypothesis import strategies as st
from mail_corpora import corpus

from mailbot.intake import headers
from mailbot.intake.headers import RawHeaders

ATEXT = "abcxyzABCXYZ0189!#$%&'*+/=?^_`{|}~-"
# Near misses too: quotes, dots, commas, angle brackets, at signs, comments, encoded words,
# non-ASCII and doubled spaces, which must fall through to the registry.
AWKWARD = ATEXT + ' ."(),:;<>@[]\\é'

word = st.text(ATEXT, min_size=1, max_size=6)
dot_atom = st.lists(word, min_size=1, max_size=3).map(".".join)
addr_spec = st.tuples(dot_atom, dot_atom).map("@".join)
name = st.lists(word, min_size=1, max_size=3).map(" ".join)
plain = st.one_of(addr_spec, st.tuples(name, addr_spec).map(lambda p: f"{p[0]} <{p[1]}>"))
awkward = st.text(AWKWARD, min_size=1, max_size=30)


def _same_as_the_registry(raw: str) -> None:
    raw = headers.single_line(raw)
    if headers._PLAIN_ADDRESS.fullmatch(raw):
        assert headers._addresses_from.__wrapped__(raw) == headers._read_by_registry(raw)
    if headers._PLAIN_ADDR_SPEC.fullmatch(raw):
        assert headers._mailable_by_registry(raw)


@settings(max_examples=600, deadline=None)
@given(st.one_of(plain, awkward, st.tuples(plain, awkward).map("".join),
                 st.tuples(awkward, plain).map("".join)))
@example("Referrer 12 <referrer12@agency.test>")
@example("=?utf-8?q?J=C3=B6rg?= <j@x.test>")
@example("=?utf-8?q?j?=@x.test")
@example("alice@a.example <bob@b.example>")
@example("a.b@c")
@example("-@-")
def test_a_header_the_shortcut_takes_reads_as_the_registry_reads_it(raw):
    _same_as_the_registry(raw)


def test_the_shortcut_takes_the_plain_shapes_it_is_for():
    assert headers._PLAIN_ADDRESS.fullmatch("Priya Shah <priya.shah@school.test>")
    assert headers._PLAIN_ADDRESS.fullmatch("priya.shah@school.test")
    assert headers._PLAIN_ADDR_SPEC.fullmatch("priya.shah@school.test")
    for other in ('"Shah, Priya" <p@s.test>', "P. Shah <p@s.test>", "p@s.test (Priya)",
                  "=?utf-8?q?Priya?= <p@s.test>", "a <b@c>, d <e@f>", "x <tom..reid@s.test>"):
        assert not headers._PLAIN_ADDRESS.fullmatch(other)


def test_every_address_header_in_the_corpora_reads_as_the_registry_reads_it():
    checked = 0
    for path in sorted(p for p in corpus().rglob("*") if p.is_file()):
        data = path.read_bytes()
        if len(data) > 2_000_000 or b"\n" not in data[:2000]:
            continue
        found = RawHeaders(message_from_bytes(data, policy=compat32))
        for field in ("from", "to", "cc", "reply-to", "sender"):
            for raw in found.values(field):
                _same_as_the_registry(raw)
                checked += 1
    assert checked > 500
