"""The profile page: every signed-in user's own password, language, time zone and
personal quick replies."""
from flask import Blueprint

bp = Blueprint("profile", __name__, url_prefix="/profile")

from . import routes  # noqa: E402,F401
