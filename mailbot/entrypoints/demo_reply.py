"""`mailbot demo reply REF TEXT`: a reply from the demo's business manager, without
hand-writing headers.

It finds the last email mailbot wrote to the business manager about the case (the .eml files
in the demo's outbox), and delivers an answer threaded to it (In-Reply-To, References,
``RE: [REF] ...``) into the demo Maildir, the way a mail server would. Whoever takes the
demo mailbox in next (the running demo, or `mailbot poll`) acts on it.
"""

from __future__ import annotations

import email
import mailbox
from datetime import datetime
from email.message import EmailMessage, Message
from email.policy import default
from email.utils import format_datetime, getaddresses, make_msgid
from pathlib import Path

from mailbot.config import embedded_default, resolve_path
from mailbot.domain.errors import MailbotError


def write_reply(reference: str, text: str, now: datetime) -> int:
    settings = embedded_default()
    box = settings.mailbox[0]
    manager = getaddresses(box.business_managers)[0][1]
    outbox = resolve_path(settings, settings.outgoing.directory)
    original = _last_mail_to(outbox, manager, reference.strip().upper())
    maildir = resolve_path(settings, box.path)
    mailbox.Maildir(maildir, create=True).add(_reply(original, manager, box.address, text, now))
    print(f"Wrote a reply from {manager} to {original['Subject']!r} into {maildir}/new.\n"
          "A running `mailbot demo` takes it in within seconds; otherwise run:\n"
          f"  mailbot --config {Path(settings.var_dir) / 'config.toml'} poll")
    return 0


def _last_mail_to(outbox: Path, recipient: str, reference: str) -> Message:
    found = None
    for path in sorted(outbox.glob("*.eml")):  # the file names sort by the time they were sent
        message = email.message_from_bytes(path.read_bytes(), policy=default)
        to = {address.lower() for _, address in getaddresses([str(message["To"] or "")])}
        if str(message["X-Mailbot-Case"] or "").upper() == reference and recipient.lower() in to:
            found = message
    if found is None:
        raise MailbotError(f"no email from mailbot to {recipient} about {reference} in {outbox};"
                           " run `mailbot demo` first, and give a reference it printed")
    return found


def _reply(original: Message, sender: str, partnership: str, text: str, now: datetime) -> bytes:
    message = EmailMessage()
    message["From"] = f"Business Manager <{sender}>"
    message["To"] = partnership
    message["Subject"] = f"RE: {original['Subject']}"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    message["In-Reply-To"] = str(original["Message-ID"])
    message["References"] = str(original["Message-ID"])
    body = original.get_body(("plain",))
    quoted = "\n".join("> " + line for line in (body.get_content() if body else "").splitlines())
    message.set_content(f"{text}\n\nOn {original['Date']}, {partnership} wrote:\n{quoted}\n")
    return bytes(message)
