"""What a user changes about themselves: preferences and password."""
from __future__ import annotations

from flask_babel import gettext as _

from ..admin.fields import LANGUAGES, Fields
from ..errors import InvalidInput
from ..extensions import db
from ..models import User


def update_preferences(user: User, data) -> User:
    """Language and time zone; blank time zone means the installation's default."""
    fields = Fields(data)
    fields.choice("language", LANGUAGES, default="pt_BR")
    fields.timezone("timezone")
    values = fields.check()
    user.language = values["language"]
    user.timezone = values["timezone"]
    db.session.commit()
    return user


def change_password(user: User, current: str, new: str, confirmation: str) -> None:
    """The current password proves it is them; the new one is typed twice."""
    if not isinstance(current, str) or not user.check_password(current):
        message = _("This is not your current password.")
        raise InvalidInput(message, fields={"current_password": message})
    fields = Fields({"new_password": new})
    fields.password("new_password", required=True)
    if "new_password" not in fields.errors and new != confirmation:
        fields.errors["confirm_password"] = _("The two passwords differ.")
    fields.check()
    user.set_password(new)
    db.session.commit()
