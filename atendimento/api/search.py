"""``GET /search`` (SPEC §6.1): full-text search over the messages of the caller's visible tickets."""
from flask import request

from ..serializers import message_json, ticket_json
from ..tickets.search import SearchQuery, search_messages
from . import bp, shapes
from .openapi import documented
from .routes import token_required


@bp.get("/search")
@token_required
@documented("Messages, captions and notes of visible tickets matching every word, newest first; `snippet` is "
            "escaped HTML with only the hits in `<mark>`", "Messages",
            answer=shapes.page_of(shapes.SearchHit), query=SearchQuery, errors=(400, 401, 422))
def search(user):
    args = request.args
    hits, next_cursor = search_messages(
        user, args.get("q"), status=args.get("status"), sector_id=args.get("sector"), tag_id=args.getlist("tag"),
        cursor=args.get("page"), limit=args.get("limit"))
    return {"items": [{"ticket": ticket_json(h.ticket), "message": message_json(h.message), "snippet": str(h.snippet)}
                      for h in hits], "next": next_cursor}
