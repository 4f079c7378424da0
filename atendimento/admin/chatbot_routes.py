"""Chatbots' pages and (read-only) API routes; their rules are ``chatbots.py``.

The pages: the list, one chatbot's tree, and the forms of its nodes and options. Every change goes through ``chatbots.py``, which refuses what would
leave a contact trapped; a refused form comes back with the reason."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from werkzeug.datastructures import MultiDict

from .. import media
from ..api import bp as api_bp
from ..api import shapes
from ..api.openapi import documented
from ..errors import Conflict, InvalidInput, NotFound
from . import bp
from . import chatbots as chatbot_service
from .base import admin_required, form_values, render_form
from .sectors import list_sectors


# -- API (the trees are built on the admin page) --------------------------------

def _chatbot_json(chatbot):
    return chatbot_service.chatbot_json(chatbot, [c.id for c in chatbot_service.connections_using(chatbot.id)])


@api_bp.get("/chatbots")
@admin_required
@documented("List chatbots, each with its whole tree (built on the admin page)", "Chatbots",
            answer=shapes.page_of(shapes.Chatbot))
def chatbot_list_api(user):
    return {"items": [_chatbot_json(row) for row in chatbot_service.list_chatbots()], "next": None}


@api_bp.get("/chatbots/<chatbot_id>")
@admin_required
@documented("One chatbot and its tree", "Chatbots", answer=shapes.Chatbot)
def chatbot_api(user, chatbot_id):
    return _chatbot_json(chatbot_service.get_chatbot(user, chatbot_id))


# -- pages -------------------------------------------------------------------


def node_data(form: MultiDict) -> dict:
    return {"name": form.get("name", ""), "message": form.get("message", "")}


def node_values(node) -> dict:
    if node is None:
        return {"name": "", "message": ""}
    return {"name": node.name, "message": node.message or ""}


def option_data(form: MultiDict) -> dict:
    """The page's one "leads to" select (``node:12``, ``sector:3``, ``human``, ``close``)
    becomes the API's action and target ids."""
    action, _sep, ident = form.get("destination", "").partition(":")
    return {"title": form.get("title", ""), "keyword": form.get("keyword", ""), "reply": form.get("reply", ""),
            "action": action, "target_node_id": ident if action == "node" else None,
            "target_sector_id": ident if action == "sector" else None}


def option_values(option, form: MultiDict | None = None) -> dict:
    if form is not None:
        return {key: form.get(key, "") for key in ("title", "keyword", "reply", "destination")}
    if option is None:
        return {"title": "", "keyword": "", "reply": "", "destination": ""}
    target = {"node": option.target_node_id, "sector": option.target_sector_id}.get(option.action)
    if option.action in ("node", "sector"):  # a deleted target leads to the attendants
        destination = f"{option.action}:{target}" if target else "human"
    else:
        destination = option.action
    return {"title": option.title, "keyword": option.keyword or "", "reply": option.reply or "",
            "destination": destination}


def option_errors(error: InvalidInput | Conflict | None) -> dict:
    """The service's messages about the action and its target belong beside the one select."""
    errors = dict(error.fields) if error else {}
    if "action" in errors:
        errors["destination"] = _("Choose where this option leads.")
    for key in ("target_node_id", "target_sector_id"):
        if key in errors:
            errors.setdefault("destination", errors[key])
    return errors



def _tree_url(chatbot_id, node_id=None):
    return url_for(".chatbot", chatbot_id=chatbot_id, _anchor=f"node-{node_id}" if node_id else None)


@bp.route("/chatbots")
def chatbots():
    return render_template("admin/chatbots.html", section="chatbots", chatbots=chatbot_service.list_chatbots(),
                           node_counts=chatbot_service.node_counts(), using=chatbot_service.connections_using)


@bp.route("/chatbots/new", methods=["GET", "POST"])
def new_chatbot():
    if request.method == "GET":
        return render_form("admin/chatbot_new.html", schema=chatbot_service.ChatbotCreate, section="chatbots",
                           values={"name": ""})
    try:
        chatbot = chatbot_service.create_chatbot(current_user, {"name": request.form.get("name", "")})
    except (InvalidInput, Conflict) as error:
        return render_form("admin/chatbot_new.html", error=error, schema=chatbot_service.ChatbotCreate, section="chatbots",
                                 values=form_values())
    flash(_("Chatbot %(name)s created. Add its first node: the start of every conversation.", name=chatbot.name),
          "success")
    return redirect(url_for(".chatbot", chatbot_id=chatbot.id))


def _chatbot_page(chatbot, values=None, error=None):
    return render_form(
        "admin/chatbot.html", error=error, schema=chatbot_service.ChatbotCreate, section="chatbots", chatbot=chatbot,
        tree=chatbot_service.layout(chatbot), values=values or {"name": chatbot.name},
        connections=chatbot_service.connections_using(chatbot.id))


@bp.route("/chatbots/<int:chatbot_id>", methods=["GET", "POST"])
def chatbot(chatbot_id):
    """The tree; a POST renames the chatbot."""
    chatbot = chatbot_service.get_chatbot(current_user, chatbot_id)
    if request.method == "GET":
        return _chatbot_page(chatbot)
    try:
        chatbot_service.rename_chatbot(current_user, chatbot.id, {"name": request.form.get("name", "")})
    except (InvalidInput, Conflict) as error:
        return _chatbot_page(chatbot, form_values(), error)
    flash(_("Chatbot %(name)s saved.", name=chatbot.name), "success")
    return redirect(url_for(".chatbot", chatbot_id=chatbot.id))


@bp.route("/chatbots/<int:chatbot_id>/delete", methods=["POST"])
def delete_chatbot(chatbot_id):
    chatbot = chatbot_service.get_chatbot(current_user, chatbot_id)
    name = chatbot.name
    try:
        chatbot_service.delete_chatbot(current_user, chatbot.id)
    except Conflict as error:
        flash(str(error.message), "error")
        return redirect(url_for(".chatbot", chatbot_id=chatbot_id, _anchor="delete"))
    flash(_("Chatbot %(name)s deleted.", name=name), "success")
    return redirect(url_for(".chatbots"))


# -- nodes ---------------------------------------------------------------------

def _node_form(chatbot, node, values, error=None):
    return render_form(
        "admin/bot_node_form.html", error=error, schema=chatbot_service.BotNodeInput, section="chatbots", chatbot=chatbot, node=node, values=values,
        leading_here=chatbot_service.options_leading_to(node) if node else [],
        is_start=node is not None and chatbot.nodes and chatbot.nodes[0].id == node.id,
        max_mb=current_app.config["MAX_UPLOAD_MB"])


@bp.route("/chatbots/<int:chatbot_id>/nodes/new", methods=["GET", "POST"])
def new_node(chatbot_id):
    chatbot = chatbot_service.get_chatbot(current_user, chatbot_id)
    if request.method == "GET":
        return _node_form(chatbot, None, node_values(None))
    try:
        node = chatbot_service.create_node(current_user, chatbot.id, node_data(request.form),
                                           request.files.get("file"))
    except (InvalidInput, Conflict) as error:
        return _node_form(chatbot, None, form_values(), error)
    flash(_("Node %(name)s created.", name=node.name), "success")
    return redirect(_tree_url(chatbot.id, node.id))


@bp.route("/chatbots/<int:chatbot_id>/nodes/<int:node_id>", methods=["GET", "POST"])
def edit_node(chatbot_id, node_id):
    node = chatbot_service.get_node(current_user, chatbot_id, node_id)
    if request.method == "GET":
        return _node_form(node.chatbot, node, node_values(node))
    try:
        chatbot_service.update_node(current_user, chatbot_id, node.id, node_data(request.form),
                                    request.files.get("file"), remove_file="remove_file" in request.form)
    except (InvalidInput, Conflict) as error:
        return _node_form(node.chatbot, node, form_values(), error)
    flash(_("Node %(name)s saved.", name=node.name), "success")
    return redirect(_tree_url(chatbot_id, node.id))


@bp.route("/chatbots/<int:chatbot_id>/nodes/<int:node_id>/delete", methods=["POST"])
def delete_node(chatbot_id, node_id):
    node = chatbot_service.get_node(current_user, chatbot_id, node_id)
    name = node.name
    try:
        chatbot_service.delete_node(current_user, chatbot_id, node.id)
    except Conflict as error:
        flash(str(error.message), "error")
        return redirect(_tree_url(chatbot_id, node_id))
    flash(_("Node %(name)s deleted.", name=name), "success")
    return redirect(_tree_url(chatbot_id))


@bp.route("/chatbots/<int:chatbot_id>/nodes/<int:node_id>/move", methods=["POST"])
def move_node(chatbot_id, node_id):
    try:
        chatbot_service.move_node(current_user, chatbot_id, node_id, request.form.get("direction", ""))
    except InvalidInput as error:
        flash(str(error.message), "error")
    return redirect(_tree_url(chatbot_id, node_id))


@bp.route("/chatbots/<int:chatbot_id>/nodes/<int:node_id>/file")
def node_file(chatbot_id, node_id):
    """The node's file, for the admin to check what the bot sends."""
    node = chatbot_service.get_node(current_user, chatbot_id, node_id)
    path = media.absolute(node.media_path) if node.media_path else None
    if path is None or not path.is_file():
        raise NotFound()
    mime = node.media_mime or media.OCTET
    response = send_file(path, mimetype=mime, download_name=node.media_name or path.name,
                         as_attachment=not mime.startswith(("image/", "audio/", "video/")))
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# -- options -------------------------------------------------------------------

def _option_form(node, option, values, error=None):
    chatbot = node.chatbot
    return render_form(
        "admin/bot_option_form.html", error=error, errors=option_errors(error), schema=chatbot_service.BotOptionInput,
        section="chatbots",
        chatbot=chatbot, node=node, option=option, values=values, nodes=list(chatbot.nodes),
        sectors=list_sectors(),
        number=(node.options.index(option) + 1) if option is not None else len(node.options) + 1)


@bp.route("/chatbots/<int:chatbot_id>/nodes/<int:node_id>/options/new", methods=["GET", "POST"])
def new_option(chatbot_id, node_id):
    node = chatbot_service.get_node(current_user, chatbot_id, node_id)
    if request.method == "GET":
        return _option_form(node, None, option_values(None))
    try:
        option = chatbot_service.create_option(current_user, chatbot_id, node.id, option_data(request.form))
    except (InvalidInput, Conflict) as error:
        return _option_form(node, None, option_values(None, request.form), error)
    flash(_("Option %(title)s added to %(node)s.", title=option.title, node=node.name), "success")
    return redirect(_tree_url(chatbot_id, node.id))


@bp.route("/chatbots/<int:chatbot_id>/options/<int:option_id>", methods=["GET", "POST"])
def edit_option(chatbot_id, option_id):
    option = chatbot_service.get_option(current_user, chatbot_id, option_id)
    node = option.node
    if request.method == "GET":
        return _option_form(node, option, option_values(option))
    try:
        chatbot_service.update_option(current_user, chatbot_id, option.id, option_data(request.form))
    except (InvalidInput, Conflict) as error:
        return _option_form(node, option, option_values(option, request.form), error)
    flash(_("Option %(title)s saved.", title=option.title), "success")
    return redirect(_tree_url(chatbot_id, node.id))


@bp.route("/chatbots/<int:chatbot_id>/options/<int:option_id>/delete", methods=["POST"])
def delete_option(chatbot_id, option_id):
    option = chatbot_service.get_option(current_user, chatbot_id, option_id)
    title, node_id = option.title, option.node_id
    try:
        chatbot_service.delete_option(current_user, chatbot_id, option.id)
    except Conflict as error:
        flash(str(error.message), "error")
        return redirect(_tree_url(chatbot_id, node_id))
    flash(_("Option %(title)s deleted.", title=title), "success")
    return redirect(_tree_url(chatbot_id, node_id))


@bp.route("/chatbots/<int:chatbot_id>/options/<int:option_id>/move", methods=["POST"])
def move_option(chatbot_id, option_id):
    option = chatbot_service.get_option(current_user, chatbot_id, option_id)
    node_id = option.node_id
    try:
        chatbot_service.move_option(current_user, chatbot_id, option.id, request.form.get("direction", ""))
    except InvalidInput as error:
        flash(str(error.message), "error")
    return redirect(_tree_url(chatbot_id, node_id))
