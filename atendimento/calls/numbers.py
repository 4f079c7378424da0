"""A caller's number matched to contacts (SPEC §2: "phone matched to contacts").

Channels store a contact's phone as WhatsApp does, digits only with the country code
(``5511987654321``); a softphone hands over whatever the PBX put in ``From``
(``sip:+55 11 98765-4321@pbx``, ``011987654321``). Both sides become digits, and the
few spellings of one Brazilian number are tried: with or without the country code 55,
with or without the mobile ninth digit (WhatsApp still names many older mobiles
without it). The database then matches the column as stored, through its index."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from ..extensions import db
from ..models import Contact, Ticket, User
from ..tickets.visibility import ticket_visible_clause

MIN_DIGITS = 8  # shorter is an extension (1002), never a customer
_NOT_DIGIT = re.compile(r"\D")


def digits(number: str | None) -> str:
    """The digits of a number, a ``tel:`` or the user part of a ``sip:`` URI."""
    value = (number or "").strip()
    if value.lower().startswith(("sip:", "sips:", "tel:")):
        value = value.split(":", 1)[1].split("@", 1)[0].split(";", 1)[0]
    return _NOT_DIGIT.sub("", value)


def spellings(number: str | None) -> list[str]:
    """The stored forms one number may have; empty for an extension or nothing."""
    value = digits(number)
    if len(value) < MIN_DIGITS:
        return []
    if value.startswith("0") and len(value) in (11, 12):  # a trunk prefix before the area code: 0 11 9…
        value = value[1:]
    national = value[2:] if value.startswith("55") and len(value) in (12, 13) else value
    forms = {value, national}
    if len(national) in (10, 11):  # a Brazilian area code and number
        forms.add("55" + national)
        area, rest = national[:2], national[2:]
        if len(rest) == 9 and rest[0] == "9":  # the ninth digit, and the older spelling without it
            forms.update({area + rest[1:], "55" + area + rest[1:]})
        elif len(rest) == 8 and rest[0] in "6789":  # an older mobile spelling: add the ninth digit
            forms.update({area + "9" + rest, "55" + area + "9" + rest})
    return sorted(forms | {"+" + form for form in forms})


def contact_for_number(user: User | None, number: str | None) -> Contact | None:
    """The contact with this number that ``user`` may see (any, for ``None``: the server
    itself, a webhook); of several, the one with the newest ticket."""
    forms = spellings(number)
    if not forms:
        return None
    newest = select(func.max(Ticket.id)).where(Ticket.contact_id == Contact.id)
    if user is not None:
        newest = newest.where(ticket_visible_clause(user))
    query = select(Contact).where(Contact.phone.in_(forms))
    if user is not None and not user.is_admin:
        query = query.where(newest.scalar_subquery().is_not(None))
    return db.session.scalar(query.order_by(newest.scalar_subquery().desc().nulls_last(), Contact.id.desc()).limit(1))


def display(number: str | None) -> str:
    """A number as people read it in a line of the conversation: +5511987654321."""
    value = digits(number)
    if len(value) < MIN_DIGITS:
        return (number or "").strip()
    if value.startswith("0") and len(value) in (11, 12):
        value = value[1:]
    if len(value) in (10, 11):  # national: the country code the channels store
        value = "55" + value
    return "+" + value

