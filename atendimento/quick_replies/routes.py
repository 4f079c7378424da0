"""The quick-reply pages and API routes: admins manage the global ones (and their own)
in /admin, every user their personal ones in /profile. Rules: ``quick_replies``."""
from __future__ import annotations

from functools import partial

from flask import render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..admin import bp as admin_bp
from ..admin.base import delete_page, form_page, render_form
from ..api import shapes
from ..api.crud import Resource, register
from ..api import bp as api_bp
from ..api.openapi import documented
from ..api.routes import token_required
from ..schema import Schema, Text
from ..errors import NotFound
from ..profile import bp as profile_bp
from ..tickets import bp as tickets_bp
from . import (QuickReplyCreate, QuickReplyFile, create_quick_reply, quick_reply_file, for_ticket, delete_quick_reply, get_quick_reply, list_quick_replies,
               quick_reply_json, update_quick_reply)

class QuickReplyQuery(Schema):
    q: Text(100, description="Shortcut or text contains (any case).") = ""


# Any user (SPEC §6.1): the global replies and their own; only admins change global ones.
register(Resource(
    "quick reply", "quick-replies", "Quick replies", QuickReplyCreate, shapes.QuickReply, guard=token_required,
    list=list_quick_replies, get=get_quick_reply, create=create_quick_reply, update=update_quick_reply,
    delete=delete_quick_reply, to_json=quick_reply_json, list_query=QuickReplyQuery, multipart=QuickReplyFile))


def _send_reply_file(reply_id, actor):
    path, reply = quick_reply_file(actor, reply_id)
    response = send_file(path, mimetype=reply.media_mime or "application/octet-stream", as_attachment=True,
                         download_name=reply.media_name or path.name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@api_bp.get("/quick-replies/<reply_id>/media", endpoint="quick_reply_media")
@token_required
@documented("A quick reply's file (the global ones and the caller's own)", "Quick replies", answer=None)
def api_quick_reply_media(user, reply_id):
    return _send_reply_file(reply_id, user)


@tickets_bp.get("/quick-replies/<int:reply_id>/media", endpoint="quick_reply_media")
@login_required
def page_quick_reply_media(reply_id):
    """For the composer, which puts the file in its tray when the reply is chosen."""
    return _send_reply_file(reply_id, current_user)


def _posted() -> dict:
    form = request.form
    posted = {"shortcut": form.get("shortcut", ""), "text": form.get("text", ""),
              "global": form.get("scope") == "global", "remove_file": form.get("remove_file", "")}
    if request.files.get("file") and request.files["file"].filename:
        posted["file"] = request.files["file"]
    return posted


def _values(reply, default_scope="personal") -> dict:
    if reply is None:
        return {"shortcut": "", "text": "", "scope": default_scope}
    return {"shortcut": reply.shortcut, "text": reply.text, "scope": "global" if reply.user_id is None else "personal"}


# -- quick replies -----------------------------------------------------------
# Admins manage the global ones here, and their own personal ones; every user
# (admins too) also has /profile/quick-replies for their personal ones.

def _form(area: str, reply, values=None, error=None):
    """The reply's form in /admin (global or personal) or /profile (personal only)."""
    admin = area == "admin"
    values = values if values is not None else _values(reply, default_scope="global" if admin else "personal")
    return render_form(f"{area}/quick_reply_form.html", error=error, schema=QuickReplyCreate, section="quick_replies",
                       reply=reply, values=values, allow_global=admin, cancel_url=url_for(f"{area}.quick_replies"))


def _created(reply) -> str:
    return _("Quick reply %(shortcut)s created.", shortcut=reply.shortcut)


def _saved(reply) -> str:
    return _("Quick reply %(shortcut)s saved.", shortcut=reply.shortcut)


def _deleted(reply) -> str:
    return _("Quick reply %(shortcut)s deleted.", shortcut=reply.shortcut)


@admin_bp.route("/quick-replies", endpoint="quick_replies")
def admin_quick_replies():
    return render_template("admin/quick_replies.html", section="quick_replies",
                           replies=list_quick_replies(current_user))


@admin_bp.route("/quick-replies/new", methods=["GET", "POST"], endpoint="new_quick_reply")
def admin_new_quick_reply():
    return form_page(partial(_form, "admin", None), lambda: create_quick_reply(current_user, _posted()), _created,
                     url_for("admin.quick_replies"))


@admin_bp.route("/quick-replies/<int:reply_id>", methods=["GET", "POST"], endpoint="edit_quick_reply")
def admin_edit_quick_reply(reply_id):
    reply = get_quick_reply(current_user, reply_id)
    return form_page(partial(_form, "admin", reply), lambda: update_quick_reply(current_user, reply.id, _posted()),
                     _saved, url_for("admin.quick_replies"))


@admin_bp.route("/quick-replies/<int:reply_id>/delete", methods=["POST"], endpoint="delete_quick_reply")
def admin_delete_quick_reply(reply_id):
    reply = get_quick_reply(current_user, reply_id)
    return delete_page(lambda: delete_quick_reply(current_user, reply.id), _deleted(reply),
                       url_for("admin.quick_replies"), url_for("admin.edit_quick_reply", reply_id=reply.id))


# -- personal quick replies --------------------------------------------------

def _mine(reply_id):
    """Only the user's own replies here, admins included: global ones live in /admin."""
    reply = get_quick_reply(current_user, reply_id)
    if reply.user_id != current_user.id:
        raise NotFound()
    return reply


def _personal() -> dict:
    return {**_posted(), "global": False}


@profile_bp.route("/quick-replies", endpoint="quick_replies")
def profile_quick_replies():
    replies = [r for r in list_quick_replies(current_user) if r.user_id == current_user.id]
    return render_template("profile/quick_replies.html", section="quick_replies", replies=replies)


@profile_bp.route("/quick-replies/new", methods=["GET", "POST"], endpoint="new_quick_reply")
def profile_new_quick_reply():
    return form_page(partial(_form, "profile", None), lambda: create_quick_reply(current_user, _personal()), _created,
                     url_for("profile.quick_replies"))


@profile_bp.route("/quick-replies/<int:reply_id>", methods=["GET", "POST"], endpoint="edit_quick_reply")
def profile_edit_quick_reply(reply_id):
    reply = _mine(reply_id)
    return form_page(partial(_form, "profile", reply), lambda: update_quick_reply(current_user, reply.id, _personal()),
                     _saved, url_for("profile.quick_replies"))


@profile_bp.route("/quick-replies/<int:reply_id>/delete", methods=["POST"], endpoint="delete_quick_reply")
def profile_delete_quick_reply(reply_id):
    reply = _mine(reply_id)
    return delete_page(lambda: delete_quick_reply(current_user, reply.id), _deleted(reply),
                       url_for("profile.quick_replies"), url_for("profile.edit_quick_reply", reply_id=reply.id))


# -- in the composer -------------------------------------------------------------

@tickets_bp.get("/tickets/<int:ticket_id>/quick-replies", endpoint="quick_replies")
@login_required
def composer_quick_replies(ticket_id):
    """What ``/`` offers in this conversation: each reply with its variables filled."""
    _ticket, replies = for_ticket(current_user, ticket_id, request.args.get("q"))
    return {"items": [{"id": reply.id, "shortcut": reply.shortcut, "text": reply.text, "filled": filled,
                       "global": reply.user_id is None,
                       "media_url": url_for("tickets.quick_reply_media", reply_id=reply.id) if reply.media_path else None,
                       "media_name": reply.media_name, "media_mime": reply.media_mime}
                      for reply, filled in replies]}
