"""The softphone's SIP account (SPEC §2), declared once: the profile page, the admin's user
form, the admin's connection form (a team line) and the OpenAPI document read ``SipAccount``.
Passwords are sealed at rest (``sealed.py``, a key derived from SECRET_KEY) and leave the
server only in ``GET /softphone/config``, to the softphone of that same signed-in user.

Whose account a softphone registers with: the user's own; else the **team line** of the
first enabled connection (by id) serving one of the user's sectors (any connection, for an
admin). Every softphone on a team line registers the same SIP address, so the PBX rings all
of them; the first to answer takes the call (the PBX cancels the others, and the database
decides the record: ``service.answer_call``)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import has_request_context, request
from flask_babel import gettext as _
from pydantic import Field
from sqlalchemy import select

from ..errors import Conflict, NotFound
from ..extensions import db
from ..models import Connection, User, connection_sectors, user_sectors
from ..schema import Schema, SipUri, Text, WebSocketUrl, invalid, sip_user
from ..sealed import seal, unseal

PURPOSE = "sip-password"
FIELDS = ("ws_url", "sip_uri", "authorization_user", "display_name")


class SipAccount(Schema):
    ws_url: WebSocketUrl = Field(description="The PBX's WebSocket address (wss://; ws:// on loopback only).")
    sip_uri: SipUri
    authorization_user: Text(64, description="Blank: the SIP URI's user.") = ""
    password: Text(128, description="Blank keeps the stored one; never answered back.") = ""
    display_name: Text(80) = ""


@dataclass(frozen=True)
class TeamLine:
    """A connection's team line, as much of the connection as the softphone needs."""
    id: int
    name: str
    sip_line: dict


@dataclass(frozen=True)
class Line:
    """The account a user's softphone uses: their own (``connection`` None) or a team line."""
    account: dict
    connection: TeamLine | None = None

    @property
    def is_team(self) -> bool:
        return self.connection is not None


def _complete(account) -> bool:
    return bool(account and account.get("ws_url") and account.get("sip_uri"))


def _request_cache() -> dict:
    """This request's answers: on the request itself, not ``g``, whose app context a test (or
    a CLI command) can keep across several requests."""
    if not has_request_context():
        return {}
    return request.__dict__.setdefault("_team_lines", {})


def connections_of(user: User):
    """The ids of the connections serving one of ``user``'s sectors, as a subquery."""
    return (select(connection_sectors.c.connection_id)
            .join(user_sectors, user_sectors.c.sector_id == connection_sectors.c.sector_id)
            .where(user_sectors.c.user_id == user.id))


def team_line_for(user: User) -> TeamLine | None:
    """The connection whose team line ``user`` shares, if any: one query of three columns (every
    page asks, for the softphone and the Content-Security-Policy), cached for the request."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    cache = _request_cache()
    if user.id not in cache:
        query = (select(Connection.id, Connection.name, Connection.sip_line)
                 .where(Connection.enabled.is_(True), Connection.sip_line.is_not(None)))
        if not user.is_admin:
            query = query.where(Connection.id.in_(connections_of(user)))
        found = [TeamLine(*row) for row in db.session.execute(query.order_by(Connection.id)) if _complete(row[2])]
        cache[user.id] = found[0] if found else None
    return cache[user.id]


def line_for(user: User) -> Line | None:
    own = getattr(user, "sip_account", None)
    if _complete(own):
        return Line(own)
    connection = team_line_for(user)
    if connection is None or not _complete(connection.sip_line):  # removed since, in this request
        return None
    return Line(connection.sip_line, connection)


def has_softphone(user: User) -> bool:
    return line_for(user) is not None


def has_own_account(user: User) -> bool:
    return _complete(getattr(user, "sip_account", None))


def _sealed_account(data, stored: dict | None) -> dict:
    """The account to store: validated, the password sealed; a blank password keeps the
    stored one (required the first time)."""
    values, errors = SipAccount.try_read(data)
    stored = stored or {}
    if not errors and not values.get("password") and not stored.get("password"):
        errors["password"] = _("Required.")
    if errors:
        raise invalid(errors)
    sealed = seal(values["password"], PURPOSE) if values["password"] else stored["password"]
    return {**{key: values[key] for key in FIELDS}, "password": sealed}


def save_sip_account(user: User, data) -> User:
    user.sip_account = _sealed_account(data, user.sip_account)
    db.session.commit()
    return user


def remove_sip_account(user: User) -> None:
    user.sip_account = None
    db.session.commit()


def save_team_line(connection: Connection, data) -> Connection:
    connection.sip_line = _sealed_account(data, connection.sip_line)
    db.session.commit()
    _request_cache().clear()
    return connection


def remove_team_line(connection: Connection) -> None:
    connection.sip_line = None
    db.session.commit()
    _request_cache().clear()


def form_values(owner) -> dict:
    """What the forms show of a user's account or a connection's team line: never the password."""
    account = (owner.sip_line if isinstance(owner, Connection) else owner.sip_account) or {}
    return {key: account.get(key, "") for key in FIELDS}


def starting_values(user: User) -> dict:
    """A user's form: their account, else one that starts from their team line's server."""
    if has_own_account(user):
        return form_values(user)
    team = team_line_for(user)
    return {key: "" for key in FIELDS} | ({"ws_url": team.sip_line["ws_url"]} if team is not None else {})


def softphone_config(user: User) -> dict:
    """The signed-in user's line with the password in clear, for their softphone."""
    line = line_for(user)
    if line is None:
        raise NotFound(_("You have no SIP account."))
    account = line.account
    password = unseal(account.get("password"), PURPOSE)
    if password is None:
        raise Conflict(_("The team line's SIP password can no longer be read (the server's key changed); an "
                         "admin must type it again on the connection's page.") if line.is_team else
                       _("Your SIP password can no longer be read (the server's key changed); type it again "
                         "in your profile."))
    config = {"ws_url": account["ws_url"], "sip_uri": account["sip_uri"],
              "authorization_user": account.get("authorization_user") or sip_user(account["sip_uri"]),
              "password": password, "display_name": account.get("display_name") or user.name, "line": None}
    if line.is_team:
        config["line"] = {"connection_id": line.connection.id, "name": line.connection.name}
    return config
