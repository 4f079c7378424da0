"""The /admin pages: sectors, users, connections, chatbots, tags and quick replies.

Only admins see them; to anyone else (signed in or not) they answer 404, as if
they did not exist. The rules live in ``service.py``, ``connections.py`` and
``chatbots.py``, shared with the JSON API; the routes only turn forms into dicts and render.
"""
from flask import Blueprint, abort
from flask_login import current_user

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def admins_only():
    from ..errors import NotFound
    from .service import require_admin

    try:
        require_admin(current_user)
    except NotFound:
        abort(404)


from . import chatbot_routes, connection_routes, routes  # noqa: E402,F401
