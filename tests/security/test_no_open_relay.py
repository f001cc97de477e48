"""Finding 8: the partnership address relays nobody's text to strangers. Mail to the people a
referral names, at addresses the partnership has not seen before, waits for a business
manager's ACCEPT; the business managers are shown whom it waits for."""

from __future__ import annotations

from tests.e2e.harness import only
from tests.security.world import World, form

PHISH = "Urgent: confirm your account at http://phish.example/login before 5pm."
VICTIMS = {"victim.one@agency.test", "victim.two@agency.test", "victim.three@agency.test"}


def _named_strangers() -> dict:
    return form(referrer_email="victim.one@agency.test",
                other_agency_contact_email="victim.two@agency.test",
                safeguarding_lead_email="victim.three@agency.test", summary=PHISH)


def test_a_referral_naming_strangers_mails_them_nothing_until_a_manager_accepts(world: World):
    reference, mails = world.open_case(referrer="Mallory <mallory@attacker.test>",
                                       fields=_named_strangers())
    assert not {m.recipient for m in mails} & VICTIMS
    assert not any(PHISH in m.text() for m in mails if m.recipient not in
                   {"manager@bury.test", "mallory@attacker.test"})
    notice = world.new_case_notice(mails)
    assert all(address in notice.text() for address in VICTIMS)
    assert "ACCEPT" in notice.text()

    # The deadline pass does not leak it either.
    world.run("chase")
    assert not {m.recipient for m in world.sent()} & VICTIMS

    released = world.deliver("bury", world.reply(notice, "ACCEPT"))
    assert only(released, "command_confirmation", "manager@bury.test")
    # The referrer and the other agency act at Bury's level 1 (its lead hears nothing yet).
    assert {m.recipient for m in released} >= VICTIMS - {"victim.three@agency.test"}
    assert "CaseAccepted" in world.case_text(reference)


def test_an_address_accepted_once_is_not_held_the_next_time(world: World):
    _, mails = world.open_case()
    world.deliver("bury", world.reply(world.new_case_notice(mails), "ACCEPT"))
    _, again = world.open_case()
    assert "alex.morgan@csc.test" in {m.recipient for m in again}
