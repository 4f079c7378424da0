from flask import Blueprint

bp = Blueprint("tickets", __name__)

from . import history_routes, routes  # noqa: E402,F401
