"""The Reenviar button's form target: parse, call the service, redirect."""
from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import DomainError
from ..tickets.outgoing import resend_message

bp = Blueprint("channels", __name__)


@bp.route("/tickets/<int:ticket_id>/messages/<int:message_id>/resend", methods=["POST"])
@login_required
def resend(ticket_id, message_id):
    try:
        resend_message(current_user, message_id, ticket_id=ticket_id)
    except DomainError as error:
        if error.status == 404:
            abort(404)
        flash(str(error.message), "error")
        return redirect(url_for("tickets.show", ticket_id=ticket_id)), 303
    flash(_("Message queued to be sent again."), "success")
    return redirect(url_for("tickets.show", ticket_id=ticket_id) + "#composer")
