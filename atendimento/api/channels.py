"""API side of delivery: resend a failed message (the Reenviar button's twin)."""
from ..tickets.outgoing import resend_message
from ..serializers import message_json
from . import bp, shapes
from .openapi import documented
from .routes import token_required


@bp.post("/messages/<message_id>/resend")
@token_required
@documented("Send a failed message again (Reenviar)", "Messages", answer=shapes.Message)
def resend(user, message_id):
    return message_json(resend_message(user, message_id))
