"""What a user changes about themselves: preferences and password."""
from __future__ import annotations

from flask_babel import gettext as _
from pydantic_core import PydanticCustomError

from ..auth.service import credentials_changed, keep_this_session
from ..errors import InvalidInput
from ..extensions import db
from ..models import User
from ..schema import LANGUAGES, Boolean, Choice, Schema, TimeZone, check_password, invalid, personal_words


class Preferences(Schema):
    language: Choice(LANGUAGES) = "pt_BR"
    timezone: TimeZone = None
    signature: Boolean = False


def update_preferences(user: User, data) -> User:
    """Language, time zone and signature; blank time zone means the installation's default."""
    values = Preferences.read(data)
    user.language = values["language"]
    user.timezone = values["timezone"]
    user.signature = values["signature"]
    db.session.commit()
    return user


def change_password(user: User, current: str, new: str, confirmation: str) -> None:
    """The current password proves it is them; the new one is typed twice. Their other
    sessions and their API tokens end; the browser that changed it stays signed in."""
    if not isinstance(current, str) or not user.check_password(current):
        message = _("This is not your current password.")
        raise InvalidInput(message, fields={"current_password": message})
    try:
        check_password(new, personal_words(user.name, user.email))
    except PydanticCustomError as refusal:
        raise invalid({"new_password": str(refusal)}) from None
    if new != confirmation:
        raise invalid({"confirm_password": _("The two passwords differ.")})
    user.set_password(new)
    credentials_changed(user)
    db.session.commit()
    keep_this_session(user)
