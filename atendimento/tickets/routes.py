"""The Atendimento page and its actions: parse, call the service, render."""
from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..contacts import data as contact_data, tags as contact_tags
from ..errors import DomainError
from ..extensions import db
from ..models import Connection, Sector, Tag
from ..api.errors import domain_error
from ..realtime import stream_cursor
from ..realtime.presence import online_user_ids
from ..serializers import message_json
from ..web import user_timezone
from . import bp, fragments, history_routes, mentions, notes, outgoing, search, service, state
from .idempotency import was_replayed
from .actions import ACTION_SEGMENT, TICKET_ACTIONS
from .inputs import voice_flag
from .queries import (TABS, contact_history, list_tickets, reply_window_closed, tab_counts, tag_filter, ticket_events,
                      ticket_messages, transfer_attendants)
from .timeline import response_times
from .visibility import get_visible_message


@bp.context_processor
def _ticket_actions():
    """The table the conversation's buttons, their dialogs and the shortcut help loop over."""
    return {"ticket_actions": tuple(TICKET_ACTIONS.values())}


@bp.route("/")
def home():
    return redirect(url_for("tickets.index"))


@bp.route("/tickets")
@login_required
def index():
    return _render_page(selected=None)


@bp.route("/tickets/<int:ticket_id>")
@login_required
def show(ticket_id):
    peek = request.args.get("peek") == "1"
    ticket = service.open_conversation(current_user, ticket_id, peek=peek)
    return _render_page(selected=ticket, peek=peek)


def _render_page(selected, peek=False, contact_form=None):
    # The stream resumes after this event: whatever happens while the page is built and
    # loaded reaches it, even a delivery tick 0.3 s after a send.
    cursor = stream_cursor()
    context = _list_context(selected, peek)
    if selected is not None:
        context.update(_conversation_context(selected))
    return render_template("tickets/index.html", stream_cursor=cursor, user_timezone=user_timezone(),
                           contact_form=contact_form, **context)


def _list_context(selected, peek=False) -> dict:
    """The left column: the tab, its filters, one page of rows, the counts."""
    tab = request.args.get("tab")
    if tab not in TABS:
        tab = selected.status if selected is not None else "pending"
    counts = tab_counts(current_user)
    view = request.args.get("view")
    if view not in ("mine", "all"):  # "Mine" only when there is something in it
        view = "mine" if counts["mine"] else "all"
    q = (request.args.get("q") or "").strip()[:100]
    page = request.args.get("page") or None
    all_tags = db.session.scalars(select(Tag).order_by(Tag.name)).all()
    try:
        tag_ids = tag_filter(request.args.getlist("tag"))
    except DomainError:  # a mangled link: no tag filter rather than an error page
        tag_ids = []

    def list_page(cursor):
        return list_tickets(current_user, status=tab, mine=(tab == "open" and view == "mine"), q=q or None,
                            tag_id=tag_ids, cursor=cursor, limit=current_app.config.get("TICKETS_PAGE_SIZE", 50))

    try:
        tickets, next_cursor = list_page(page)
    except DomainError as error:  # a mangled page cursor: show the first page instead
        flash(str(error.message), "error")
        page = None
        tickets, next_cursor = list_page(None)
    return dict(tab=tab, view=view, q=q, page=page, tickets=tickets, next_cursor=next_cursor, counts=counts,
                **(_message_hits(q, tag_ids) if q and not page else {}),
                selected=selected, peek=peek, all_tags=all_tags, tag_ids=tag_ids,
                tag_filter_names=[t for t in all_tags if t.id in tag_ids],
                tab_labels={"pending": _("Waiting"), "open": _("In progress"), "closed": _("Closed")})


def _message_hits(q, tag_ids) -> dict:
    """The search box searches the messages too, in every tab (a word of an old closed
    ticket from Esperando): the newest hits, under the contacts' rows."""
    try:
        hits, more = search.search_messages(current_user, q, tag_id=tag_ids, limit=SEARCH_HITS)
    except DomainError as error:  # only punctuation typed: say so where the hits would be
        return {"message_hits": [], "message_hits_more": False, "search_error": error.message}
    return {"message_hits": hits, "message_hits_more": more is not None, "search_error": None}


SEARCH_HITS = 20


# -- the pieces live.js fetches: never the whole page for one event ------------------------

@bp.route("/tickets/counts")
@login_required
def counts():
    """The tab counts, after a ticket moved."""
    return tab_counts(current_user)


@bp.route("/tickets/list")
@login_required
def list_fragment():
    """The left column alone: search as one types, and catching up after a reconnect."""
    selected = None
    if request.args.get("selected"):
        try:
            selected = service.get_visible_ticket(current_user, request.args["selected"])
        except DomainError:
            selected = None
    return render_template("tickets/_list.html", **_list_context(selected, request.args.get("peek") == "1"))


@bp.route("/tickets/<int:ticket_id>/panes")
@login_required
def panes(ticket_id):
    """The centre and side columns of one ticket, after it moved (never marks it read)."""
    peek = request.args.get("peek") == "1"
    ticket = service.get_visible_ticket(current_user, ticket_id)
    tab = request.args.get("tab") if request.args.get("tab") in TABS else ticket.status
    return render_template("tickets/_panes.html", selected=ticket, peek=peek, tab=tab,
                           **_conversation_context(ticket))


def _conversation_context(ticket) -> dict:
    """What the centre and the side panel show for the selected ticket."""
    channel = ticket.connection.channel
    can_answer = state.may_answer(ticket, current_user)
    events = ticket_events(ticket)
    # A search hit opens the conversation on its message, however old (?message=<id>).
    messages = search.conversation_reaching(ticket, request.args.get("message"))
    return dict(
        messages=messages, older_url=history_routes.older_url(ticket, messages), events=events,
        times=response_times(ticket, events),
        history=contact_history(current_user, ticket),
        sectors=db.session.scalars(select(Sector).order_by(Sector.position, Sector.name)).all(),
        transfer_attendants=transfer_attendants(online_user_ids()),  # [(user, online)], sectors loaded
        # Only connections that reach this contact: the service refuses any other.
        connections=[c for c in db.session.scalars(
            select(Connection).where(Connection.enabled.is_(True), Connection.id != ticket.connection_id)
            .order_by(Connection.name)) if c.channel == channel],
        tags=db.session.scalars(select(Tag).order_by(Tag.name)).all(),
        may_tag=contact_tags.may_edit_contact(current_user, ticket.contact),
        custom_fields=contact_data.defined_fields(),
        can_answer=can_answer,
        file_rules=outgoing.file_rules(ticket) if can_answer else None,
        window_closed=can_answer and reply_window_closed(ticket),  # only told to whoever may write
    )


@bp.route("/tickets/<int:ticket_id>/row")
@login_required
def row(ticket_id):
    """One list row, as the page renders it (the stream pushes the same HTML)."""
    ticket = service.get_visible_ticket(current_user, ticket_id)
    view = request.args.get("view") if request.args.get("view") in ("mine", "all") else "mine"
    return fragments.render_row(ticket, view=view)


@bp.route("/tickets/<int:ticket_id>/messages/<int:message_id>")
@login_required
def message(ticket_id, message_id):
    """One message bubble, as the page renders it (the stream pushes the same HTML)."""
    found = get_visible_message(current_user, message_id)
    if found.ticket_id != ticket_id:
        abort(404)
    return fragments.render_message(found, can_answer=state.may_answer(found.ticket, current_user))


@bp.route("/tickets/<int:ticket_id>/" + ACTION_SEGMENT, methods=["POST"])
@login_required
def act(ticket_id, action):
    move = TICKET_ACTIONS[action]
    try:
        ticket = move.run(current_user, ticket_id)
    except DomainError as error:
        return _refused(error, ticket_id)
    flash(str(move.done_message), "success")
    # Accepting or reopening is done to answer: land with the composer ready.
    anchor = "composer" if ticket.status == "open" else None
    return redirect(url_for("tickets.show", ticket_id=ticket.id, tab=ticket.status, _anchor=anchor))


@bp.route("/tickets/<int:ticket_id>/transfer", methods=["POST"])
@login_required
def transfer(ticket_id):
    form = request.form
    try:
        ticket = service.transfer_ticket(current_user, ticket_id, sector_id=form.get("sector_id"),
                                         user_id=form.get("user_id"), connection_id=form.get("connection_id"))
    except DomainError as error:
        return _refused(error, ticket_id)
    flash(_("Ticket transferred."), "success")
    try:  # after a transfer the ticket may have left this user's sight
        service.get_visible_ticket(current_user, ticket.id)
    except DomainError:
        return redirect(url_for("tickets.index"))
    return redirect(url_for("tickets.show", ticket_id=ticket.id, tab=ticket.status))


@bp.route("/tickets/<int:ticket_id>/messages", methods=["POST"])
@login_required
def send(ticket_id):
    """The composer. The page's script asks for JSON and stays where it is (the new
    bubble in the answer); a plain form post comes back to the conversation."""
    wants_json = request.accept_mimetypes.best == "application/json"
    key = request.headers.get("Idempotency-Key")  # the composer's, one per send (SPEC §6.1)
    try:
        if request.form.get("note"):  # the composer's "Nota interna" switch: for the team, never sent
            message = notes.add_note(current_user, ticket_id, {"text": request.form.get("text")},
                                     idempotency_key=key)
        elif request.files.get("file"):  # a file (``voice``: a recording), with ``text`` as its caption
            message = outgoing.send_media(current_user, ticket_id, request.files["file"], request.form.get("text"),
                                          voice=voice_flag(request.form), quoted_id=request.form.get("quoted_id"),
                                          idempotency_key=key)
        elif request.form.get("quick_reply_id"):  # one with a file: its text and its file
            from ..quick_replies import send_to_ticket  # the quick replies build on the tickets

            message = send_to_ticket(current_user, ticket_id, request.form["quick_reply_id"],
                                     request.form.get("quoted_id"), idempotency_key=key)
        else:
            message = outgoing.send_text(current_user, ticket_id, request.form.get("text"),
                                         quoted_id=request.form.get("quoted_id"), idempotency_key=key)
    except DomainError as error:
        if wants_json and error.status != 404:
            return domain_error(error)  # the API's one JSON shape, fields included
        return _refused(error, ticket_id)
    if wants_json:
        return {"message": message_json(message),
                "html": fragments.render_message(message, can_answer=True)}, 200 if was_replayed(message) else 201
    return redirect(url_for("tickets.show", ticket_id=ticket_id, tab="open") + "#composer")


@bp.get("/tickets/<int:ticket_id>/mentionable")
@login_required
def mentionable(ticket_id):
    """Who ``@`` offers in a note on this ticket: the others who may see it."""
    users = mentions.mentionable(current_user, ticket_id, request.args.get("q"))
    return {"items": [{"id": u.id, "name": u.name} for u in users[:20]]}


@bp.route("/tickets/<int:ticket_id>/tags", methods=["POST"])
@login_required
def tags(ticket_id):
    try:
        ticket = service.get_visible_ticket(current_user, ticket_id)
        contact_tags.set_contact_tags(current_user, ticket.contact_id, request.form.getlist("tag_ids"))
    except DomainError as error:
        return _refused(error, ticket_id)
    flash(_("Tags saved."), "success")
    return redirect(url_for("tickets.show", ticket_id=ticket_id))


@bp.route("/tickets/<int:ticket_id>/contact", methods=["POST"])
@login_required
def edit_contact(ticket_id):
    """The panel's contact form: name, e-mail and each custom field as ``field.<key>``."""
    form = request.form
    data = {"name": form.get("name"), "email": form.get("email"),
            "custom_fields": {key.removeprefix("field."): value for key, value in form.items()
                              if key.startswith("field.")}}
    try:
        ticket = service.get_visible_ticket(current_user, ticket_id)
        contact_data.update_contact(current_user, ticket.contact_id, data)
    except DomainError as error:
        if error.status == 422 and error.fields:
            # The page again, with what was typed and each message beside its field: a redirect
            # would lose the typing. Nothing was stored (update_contact refuses all or nothing).
            flash(" ".join(f"{_field_label(key)}: {message}" for key, message in error.fields.items()), "error")
            return _render_page(selected=ticket, contact_form={"values": data, "errors": error.fields}), 422
        return _refused(error, ticket_id)
    flash(_("Contact saved."), "success")
    return redirect(url_for("tickets.show", ticket_id=ticket_id, tab=ticket.status, _anchor="contact-card"))


def _field_label(key: str) -> str:
    """What the attendant calls the field a refusal names (``custom_fields.cpf`` → its name)."""
    if key.startswith("custom_fields."):
        wanted = key.removeprefix("custom_fields.")
        return next((f.name for f in contact_data.defined_fields() if f.key == wanted), wanted)
    return {"name": _("Name"), "email": _("E-mail")}.get(key, key)


@bp.route("/tickets/<int:ticket_id>/tags/add", methods=["POST"])
@login_required
def add_tag(ticket_id):
    """The panel's tag box: a tag picked from the suggestions, or a new name (created)."""
    try:
        ticket = service.get_visible_ticket(current_user, ticket_id)
        tag = contact_tags.add_contact_tag(current_user, ticket.contact_id, tag_id=request.form.get("tag_id"),
                                           name=request.form.get("name"))
    except DomainError as error:
        return _refused(error, ticket_id)
    flash(_("Tag %(name)s added.", name=tag.name), "success")
    return redirect(url_for("tickets.show", ticket_id=ticket_id, tab=ticket.status, _anchor="contact-tags"))


@bp.route("/tickets/<int:ticket_id>/tags/<int:tag_id>/remove", methods=["POST"])
@login_required
def remove_tag(ticket_id, tag_id):
    try:
        ticket = service.get_visible_ticket(current_user, ticket_id)
        contact_tags.remove_contact_tag(current_user, ticket.contact_id, tag_id)
    except DomainError as error:
        return _refused(error, ticket_id)
    flash(_("Tag removed."), "success")
    return redirect(url_for("tickets.show", ticket_id=ticket_id, tab=ticket.status, _anchor="contact-tags"))


@bp.route("/media/<int:message_id>")
@login_required
def media(message_id):
    message = get_visible_message(current_user, message_id)
    if not message.media_path:
        abort(404)
    media_dir = Path(current_app.config["MEDIA_DIR"]).resolve()
    path = (media_dir / message.media_path).resolve()
    if media_dir not in path.parents or not path.is_file():
        abort(404)
    response = send_file(path, mimetype=message.media_mime or "application/octet-stream",
                         as_attachment=not (message.media_mime or "").startswith(("image/", "audio/", "video/")),
                         download_name=message.media_name or path.name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _refused(error: DomainError, ticket_id):
    if error.status == 404:
        abort(404)
    flash(str(error.message), "error")
    return redirect(url_for("tickets.show", ticket_id=ticket_id)), 303
