"""JSON API for tickets, messages, contacts and tokens (SPEC §6), over the same services."""
from functools import wraps

from flask import g, request
from flask_babel import gettext as _

from ..auth import service as auth
from ..contacts import data as contact_data, tags as contact_tag_rules
from ..auth.limits import forget_account_failures, login_limited
from ..errors import InvalidInput, Unauthorized
from ..serializers import contact_json, message_json, ticket_json
from ..tickets import notes, outgoing, service
from ..tickets.actions import ACTION_SEGMENT, TICKET_ACTIONS
from ..tickets.idempotency import was_replayed
from ..tickets.notes import NoteInput
from ..tickets.inputs import ContactTags, MessageQuery, SendFile, SendMessage, TicketQuery, Transfer, voice_flag
from ..tickets.queries import list_tickets, ticket_events, ticket_messages
from ..tickets.timeline import event_json, response_times
from ..tickets.visibility import get_visible_contact, get_visible_ticket
from . import bp, shapes
from .openapi import documented


def token_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _sep, raw = header.partition(" ")
        user = auth.user_for_token(raw.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise Unauthorized(_("A valid bearer token is required."))
        g.api_user = user
        return view(user, *args, **kwargs)

    return wrapper


def json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput(_("The body must be a JSON object."))
    return body


# -- tokens ------------------------------------------------------------------

@bp.post("/tokens")
@documented("Exchange e-mail and password for a bearer token", "Tokens", ok=201, answer=shapes.Token,
            body=auth.TokenRequest, public=True, errors=(400, 401, 422, 429))
@login_limited
def create_token():
    body = json_body()
    user = auth.authenticate(str(body.get("email", "")), str(body.get("password", "")))
    forget_account_failures()
    token, raw = auth.issue_token(user, str(body.get("name", "")))
    return {"token": raw, "id": token.id}, 201


@bp.get("/tokens")
@token_required
@documented("The caller's tokens", "Tokens", answer=shapes.page_of(shapes.TokenInfo))
def my_tokens(user):
    items = [{"id": t.id, "name": t.name, "created_at": t.created_at.isoformat(),
              "revoked": t.revoked_at is not None} for t in user.tokens]
    return {"items": items, "next": None}


@bp.delete("/tokens/<token_id>")
@token_required
@documented("Revoke one of the caller's tokens", "Tokens", ok=204)
def revoke_token(user, token_id):
    auth.revoke_token(user, token_id)
    return "", 204


# -- tickets -----------------------------------------------------------------

@bp.get("/tickets")
@token_required
@documented("Visible tickets, newest activity first", "Tickets", answer=shapes.page_of(shapes.Ticket),
            query=TicketQuery)
def tickets(user):
    args = request.args
    items, next_cursor = list_tickets(
        user, status=args.get("status"), sector_id=args.get("sector"), tag_id=args.getlist("tag"),
        q=args.get("q"), cursor=args.get("page") or args.get("cursor"), limit=_limit(args.get("limit")), rows=False,
    )
    return {"items": [ticket_json(t) for t in items], "next": next_cursor}


@bp.get("/tickets/<ticket_id>")
@token_required
@documented("One ticket", "Tickets", answer=shapes.Ticket)
def ticket(user, ticket_id):
    return ticket_json(get_visible_ticket(user, ticket_id))


@bp.post("/tickets/<ticket_id>/" + ACTION_SEGMENT)
@token_required
@documented("A move of the ticket", "Tickets", answer=shapes.Ticket,
            variants={name: action.summary for name, action in TICKET_ACTIONS.items()})
def ticket_action(user, ticket_id, action):
    return ticket_json(TICKET_ACTIONS[action].run(user, ticket_id))


@bp.post("/tickets/<ticket_id>/transfer")
@token_required
@documented("Transfer to a sector, an attendant or a connection", "Tickets", answer=shapes.Ticket, body=Transfer)
def transfer(user, ticket_id):
    body = json_body()
    return ticket_json(service.transfer_ticket(
        user, ticket_id, sector_id=body.get("sector_id"), user_id=body.get("user_id"),
        connection_id=body.get("connection_id"),
    ))


@bp.get("/tickets/<ticket_id>/messages")
@token_required
@documented("The conversation, oldest first (a peek: nothing changes); `next` pages back in time", "Messages",
            answer=shapes.page_of(shapes.Message), query=MessageQuery)
def messages(user, ticket_id):
    ticket = service.open_conversation(user, ticket_id, peek=True)
    limit = max(1, min(_limit(request.args.get("limit")) or 100, 500))  # a negative LIMIT is an SQL error
    items = ticket_messages(ticket, before_id=request.args.get("page") or request.args.get("before"), limit=limit)
    # Oldest first; ``next`` pages further back in time.
    return {"items": [message_json(m) for m in items],
            "next": str(items[0].id) if len(items) == limit else None}


@bp.get("/tickets/<ticket_id>/events")
@token_required
@documented("The ticket's timeline, oldest first, with its waiting and first-response times", "Tickets",
            answer=shapes.Timeline)
def events(user, ticket_id):
    ticket = get_visible_ticket(user, ticket_id)
    items = ticket_events(ticket)
    return {"items": [event_json(e) for e in items], "next": None, **response_times(ticket, items).as_json()}


@bp.post("/tickets/<ticket_id>/messages")
@token_required
@documented("Answer (the ticket must be open and the caller its assignee or an admin)", "Messages", ok=201,
            answer=shapes.Message, body=SendMessage, multipart=SendFile, idempotent=True)
def send_message(user, ticket_id):
    key = request.headers.get("Idempotency-Key")  # the same key within 24 h: the first answer again
    if request.files.get("file"):  # multipart: a file, with ``text`` as its caption
        message = outgoing.send_media(user, ticket_id, request.files["file"], request.form.get("text"),
                                      voice=voice_flag(request.form), quoted_id=request.form.get("quoted_id"),
                                      idempotency_key=key)
    else:
        body = json_body()
        if body.get("quick_reply_id") not in (None, ""):
            from ..quick_replies import send_to_ticket  # the quick replies' module builds on the API's

            message = send_to_ticket(user, ticket_id, body["quick_reply_id"], body.get("quoted_id"),
                                     idempotency_key=key)
        else:
            message = outgoing.send_text(user, ticket_id, body.get("text"), quoted_id=body.get("quoted_id"),
                                         idempotency_key=key)
    return message_json(message), 200 if was_replayed(message) else 201


@bp.post("/tickets/<ticket_id>/notes")
@token_required
@documented("An internal note: for whoever may see the ticket, in any status; never sent to the channel",
            "Messages", ok=201, answer=shapes.Message, body=NoteInput, idempotent=True)
def add_note(user, ticket_id):
    message = notes.add_note(user, ticket_id, json_body(), idempotency_key=request.headers.get("Idempotency-Key"))
    return message_json(message), 200 if was_replayed(message) else 201


# -- contacts ----------------------------------------------------------------

@bp.get("/contacts/<contact_id>")
@token_required
@documented("One contact", "Contacts", answer=shapes.Contact)
def contact(user, contact_id):
    return contact_json(get_visible_contact(user, contact_id))


@bp.get("/contacts")
@token_required
@documented("Visible contacts whose name, phone or e-mail contains q, newest first", "Contacts",
            answer=shapes.page_of(shapes.Contact), query=contact_data.ContactQuery)
def contacts(user):
    items, next_cursor = contact_data.search_contacts(user, request.args.get("q"), before=request.args.get("page"))
    return {"items": [contact_json(c) for c in items], "next": next_cursor}


@bp.patch("/contacts/<contact_id>")
@token_required
@documented("Change a contact's name, e-mail or custom fields (the assignee of one of its tickets or an admin)",
            "Contacts", answer=shapes.Contact, body=contact_data.ContactPatch)
def update_contact(user, contact_id):
    return contact_json(contact_data.update_contact(user, contact_id, json_body()))


@bp.get("/contacts/<contact_id>/tickets")
@token_required
@documented("The contact's visible tickets, newest first", "Contacts", answer=shapes.page_of(shapes.Ticket),
            query=contact_data.PageQuery)
def contact_tickets(user, contact_id):
    items, next_cursor = contact_data.contact_tickets(user, contact_id, before=request.args.get("page"))
    return {"items": [ticket_json(t) for t in items], "next": next_cursor}


@bp.post("/contacts/<contact_id>/tags")
@token_required
@documented("Replace a contact's tags", "Contacts", answer=shapes.Contact, body=ContactTags)
def contact_tags(user, contact_id):
    body = json_body()
    contact_tag_rules.set_contact_tags(user, contact_id, body.get("tag_ids"))
    return contact_json(get_visible_contact(user, contact_id))


def _limit(value):
    try:
        return int(value) if value else None
    except ValueError:
        raise InvalidInput(_("Invalid limit."), fields={"limit": _("Must be a number.")}) from None
