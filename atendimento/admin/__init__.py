"""The /admin area, one module per resource (as CTFd does): each holds its declaration,
its rules, its pages and its API routes (``sectors``, ``users``, ``tags``), or a clear
pair when it is large (``connections`` + ``connection_routes``, ``chatbots`` +
``chatbot_routes``). Quick replies are their own domain module (``quick_replies``):
attendants own personal ones too.

Only admins see these pages; to anyone else (signed in or not) they answer 404, as if
they did not exist.
"""
from flask import Blueprint, abort, render_template
from flask_login import current_user
from sqlalchemy import func, select

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def admins_only():
    from ..errors import NotFound
    from .base import require_admin

    try:
        require_admin(current_user)
    except NotFound:
        abort(404)


@bp.route("/")
def index():
    return render_template("admin/index.html", section="index", counts=counts())


def counts() -> dict:
    """How many of each, for the admin landing page."""
    from ..extensions import db
    from ..models import Chatbot, Connection, QuickReply, Sector, Tag, User

    return {name: db.session.scalar(select(func.count()).select_from(model))
            for name, model in (("sectors", Sector), ("users", User), ("connections", Connection),
                                ("chatbots", Chatbot), ("tags", Tag))} | {
        "quick_replies": db.session.scalar(
            select(func.count()).select_from(QuickReply).where(QuickReply.user_id.is_(None)))}


from . import chatbot_routes, connection_routes, custom_fields, sectors, tags, users  # noqa: E402,F401
