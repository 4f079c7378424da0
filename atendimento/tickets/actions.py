"""The one-click moves a ticket offers (SPEC §3: Atender, Fechar, Reabrir), declared once.

The page's buttons and its ``POST /tickets/<id>/<action>``, the API's
``POST /api/v1/tickets/<id>/<action>`` and the OpenAPI document all read
``TICKET_ACTIONS``: an action added here appears in each of them with no other edit.
Transfer is not one of them: it needs a destination (its own form, route and body).

What an action does stays in ``service``; this table only says how it is offered.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask_babel import lazy_gettext as _l

from ..models import Ticket, User
from . import service, state


@dataclass(frozen=True)
class TicketAction:
    name: str  # the URL's last segment; the button is ``#btn-<name>``
    run: Callable[[User, object], Ticket]  # the service move: ``run(actor, ticket_id)``
    label: object  # the button's text, its accessible name (lazy: translated when shown)
    done_message: object  # the page's flash once it worked (lazy)
    summary: str  # English, for the API document
    # The statuses whose conversation shows the button; on an open ticket only to its
    # assignee or an admin (``state.handles``), as the service requires.
    from_statuses: tuple[str, ...]
    button_class: str = "btn-primary"
    shortcut: str | None = None  # the key that presses it, shown in the button as <kbd>
    # The template of a dialog that asks first (its ``<dialog id="<name>-dialog">`` holds
    # the form); None posts at once.
    confirm: str | None = None

    def available(self, ticket, actor) -> bool:
        """Whether the conversation offers this action to ``actor`` now."""
        return ticket.status in self.from_statuses and state.handles(ticket, actor)


TICKET_ACTIONS: dict[str, TicketAction] = {action.name: action for action in (
    TicketAction(
        "accept", service.accept_ticket, _l("Accept"), _l("Ticket accepted. It is now in Em atendimento."),
        "Atender: take a waiting ticket", from_statuses=("pending",), shortcut="a"),
    TicketAction(
        "close", service.close_ticket, _l("Close"), _l("Ticket closed."),
        "Fechar: finish a ticket", from_statuses=("pending", "open"), button_class="btn-danger-ghost",
        confirm="tickets/_close_dialog.html"),
    TicketAction(
        "reopen", service.reopen_ticket, _l("Reopen"), _l("Ticket reopened and assigned to you."),
        "Reabrir: reopen a closed ticket, assigned to the caller", from_statuses=("closed",)),
)}

# The URL segment both blueprints route: ``<any(accept, close, reopen):action>``.
ACTION_SEGMENT = "<any(" + ", ".join(TICKET_ACTIONS) + "):action>"
