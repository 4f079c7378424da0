"""The contact's past, as pages (issue 13, part 3): a past ticket read only, the full history
across tickets, and the older pages of a long conversation, loaded as one scrolls up."""
from flask import render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..contacts.history import contact_messages
from ..extensions import db
from ..ids import parse_id
from ..models import Message
from . import bp, state
from .queries import ticket_messages
from .visibility import get_visible_ticket

CONVERSATION_PAGE = 200  # what the page shows at first (queries.ticket_messages' default)


@bp.route("/contacts/<int:contact_id>/history")
@login_required
def contact_history_page(contact_id):
    """All the contact's messages (``?ticket=``: one past ticket), newest page first;
    ``?fragment=1`` answers only the run of messages, for the page's older-messages loader."""
    only_ticket = parse_id(request.args.get("ticket")) if request.args.get("ticket") else None
    contact, messages, more = contact_messages(current_user, contact_id, ticket_id=request.args.get("ticket"),
                                               before=request.args.get("before"))
    back = parse_id(request.args.get("back")) if request.args.get("back") else None
    older_url = url_for("tickets.contact_history_page", contact_id=contact.id, ticket=only_ticket, back=back,
                        before=messages[0].id, fragment=1) if more and messages else None
    if request.args.get("fragment") == "1":
        return render_template("tickets/_message_run.html", messages=messages, older_url=older_url,
                               separators=True, can_answer=False)
    return render_template("tickets/history.html", contact=contact, messages=messages, older_url=older_url,
                           only_ticket=only_ticket, back=back)


@bp.route("/tickets/<int:ticket_id>/older")
@login_required
def older_messages(ticket_id):
    """The page of the conversation before message ``before`` (a peek: nothing is marked read);
    ``?read=1``: for the read-only pane beside the conversation, no Responder on any message."""
    ticket = get_visible_ticket(current_user, ticket_id)
    read_only = request.args.get("read") == "1"
    messages = ticket_messages(ticket, before_id=request.args.get("before"), limit=CONVERSATION_PAGE)
    return render_template("tickets/_message_run.html", messages=messages, separators=False,
                           older_url=older_url(ticket, messages, read_only=read_only),
                           can_answer=not read_only and state.may_answer(ticket, current_user))


@bp.route("/tickets/<int:ticket_id>/beside")
@login_required
def beside(ticket_id):
    """A past ticket of the contact, read only, for the pane beside the current conversation
    (static/js/beside.js); a peek: nothing is marked read."""
    ticket = get_visible_ticket(current_user, ticket_id)
    messages = ticket_messages(ticket, limit=CONVERSATION_PAGE)
    return render_template("tickets/_beside.html", past=ticket, messages=messages, separators=False,
                           older_url=older_url(ticket, messages, read_only=True), can_answer=False)


def older_url(ticket, messages, *, read_only=False) -> str | None:
    """Where the page before ``messages`` is, when there is one: a page shorter than a full
    one is the start; a full one asks (one index lookup) whether anything is older."""
    if len(messages) < CONVERSATION_PAGE:
        return None
    older = db.session.scalar(select(Message.id).where(Message.ticket_id == ticket.id, Message.id < messages[0].id)
                              .limit(1))
    if not older:
        return None
    return url_for("tickets.older_messages", ticket_id=ticket.id, before=messages[0].id, read=1 if read_only else None)
