"""A user's SIP account for the softphone (SPEC §2), declared once: the profile page, the
admin's user form and the OpenAPI document read ``SipAccount``. The password is sealed
at rest (``sealed.py``, a key derived from SECRET_KEY) and leaves the server only in
``GET /softphone/config``, to the softphone of that same signed-in user."""
from __future__ import annotations

from flask_babel import gettext as _
from pydantic import Field

from ..errors import Conflict, NotFound
from ..extensions import db
from ..models import User
from ..schema import Schema, SipUri, Text, WebSocketUrl, invalid, sip_user
from ..sealed import seal, unseal

PURPOSE = "sip-password"


class SipAccount(Schema):
    ws_url: WebSocketUrl = Field(description="The PBX's WebSocket address (wss://; ws:// on loopback only).")
    sip_uri: SipUri
    authorization_user: Text(64, description="Blank: the SIP URI's user.") = ""
    password: Text(128, description="Blank keeps the stored one; never answered back.") = ""
    display_name: Text(80) = ""


def has_softphone(user: User) -> bool:
    account = getattr(user, "sip_account", None) or {}
    return bool(account.get("ws_url") and account.get("sip_uri"))


def save_sip_account(user: User, data) -> User:
    """Create or change; a blank password keeps the stored one (required the first time)."""
    values, errors = SipAccount.try_read(data)
    stored = user.sip_account or {}
    if not errors and not values.get("password") and not stored.get("password"):
        errors["password"] = _("Required.")
    if errors:
        raise invalid(errors)
    sealed = seal(values["password"], PURPOSE) if values["password"] else stored["password"]
    user.sip_account = {"ws_url": values["ws_url"], "sip_uri": values["sip_uri"],
                        "authorization_user": values["authorization_user"],
                        "display_name": values["display_name"], "password": sealed}
    db.session.commit()
    return user


def remove_sip_account(user: User) -> None:
    user.sip_account = None
    db.session.commit()


def form_values(user: User) -> dict:
    """What the forms show: never the password."""
    account = user.sip_account or {}
    return {key: account.get(key, "") for key in ("ws_url", "sip_uri", "authorization_user", "display_name")}


def softphone_config(user: User) -> dict:
    """The signed-in user's own account with the password in clear, for their softphone."""
    if not has_softphone(user):
        raise NotFound(_("You have no SIP account."))
    account = user.sip_account
    password = unseal(account.get("password"), PURPOSE)
    if password is None:
        raise Conflict(_("Your SIP password can no longer be read (the server's key changed); type it again "
                         "in your profile."))
    return {"ws_url": account["ws_url"], "sip_uri": account["sip_uri"],
            "authorization_user": account.get("authorization_user") or sip_user(account["sip_uri"]),
            "password": password, "display_name": account.get("display_name") or user.name}
