"""Full-text search over the messages of visible tickets, and the contact search (SPEC §6.1).

One function for both databases; each answers with its own index (search_schema.py):
PostgreSQL ``search_vector @@ to_tsquery('portuguese', f_unaccent(…))`` (GIN), SQLite
``messages_fts MATCH`` (FTS5). Terms are words only (letters and digits), all required, each
matched as a prefix so that the box finds while one types; newest message first, keyset-paged
on the message id. Snippets are escaped first, then marked (the hits found by FTS5's rules on
SQLite, by ``ts_headline`` on PostgreSQL): nothing of a message reaches the page as markup.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any

from flask_babel import gettext as _
from markupsafe import Markup, escape
from pydantic import Field, WithJsonSchema
from sqlalchemy import Integer, Text, bindparam, column, func, literal_column, or_, select, table, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import joinedload

from ..errors import InvalidInput
from ..extensions import db
from ..models import TICKET_STATUSES, Contact, Message, Ticket, contact_tags
from ..schema import ID_SCHEMA, Schema
from .visibility import as_id, parse_id, ticket_visible_clause

WORD = re.compile(r"[^\W_]+")
MAX_QUERY = 200
MAX_TERMS = 8
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
RECENT = 10_000  # messages the PostgreSQL search walks before it asks the GIN index (see below)
SNIPPET_WORDS = 24
OPEN, CLOSE = "\u27e6", "\u27e7"  # ⟦ ⟧: ts_headline's marks, read back as offsets

messages_fts = table("messages_fts", column("rowid"))
contacts_fts = table("contacts_fts", column("rowid"))


class SearchQuery(Schema):
    """``GET /search``: what the API reads (the document is built from it)."""

    q: Annotated[Any, WithJsonSchema({"type": "string", "minLength": 1, "maxLength": MAX_QUERY})] = Field(
        description="Words, all required, each also as a prefix; case and accents aside.")
    status: Annotated[Any, WithJsonSchema({"enum": list(TICKET_STATUSES)})] = None
    sector: Annotated[Any, WithJsonSchema(ID_SCHEMA)] = Field(None, description="Sector id.")
    tag: Annotated[Any, WithJsonSchema(ID_SCHEMA)] = Field(
        None, description="Tag id (of the contact); repeated: contacts having all of them.")
    page: Annotated[Any, WithJsonSchema({"type": "string"})] = Field(
        None, description="The `next` cursor of the previous page.")
    limit: Annotated[Any, WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT})] = None


@dataclass
class Hit:
    ticket: Ticket
    message: Message
    snippet: Markup


def search_terms(q) -> list[str]:
    """The words of a query, lower-cased, at most ``MAX_TERMS``; punctuation is no syntax."""
    q = (q or "").strip()
    if len(q) > MAX_QUERY:
        raise InvalidInput(_("The search is too long."),
                           fields={"q": _("At most %(n)d characters.", n=MAX_QUERY)})
    return [w.lower() for w in WORD.findall(q)][:MAX_TERMS]


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _tsquery(terms):
    # Words only, so the string cannot carry tsquery syntax; ':*' = as a prefix.
    return func.to_tsquery(literal_column("'portuguese'::regconfig"),
                           func.f_unaccent(" & ".join(f"{t}:*" for t in terms)))


def _fts_match(terms) -> str:
    return " ".join('"%s"*' % t.replace('"', '""') for t in terms)


def search_messages(user, q, *, status=None, sector_id=None, tag_id=None, cursor=None,
                    limit=DEFAULT_LIMIT) -> tuple[list[Hit], str | None]:
    """One page of the visible messages (bodies, captions, notes) matching ``q``, newest
    first, and the cursor of the next page: the same queries whatever the number of hits."""
    terms = search_terms(q)
    if not terms:
        raise InvalidInput(_("Type a word to search for."), fields={"q": _("Required: at least one word.")})
    limit = min(_int(limit, "limit"), MAX_LIMIT) if limit not in (None, "") else DEFAULT_LIMIT
    pg = _dialect() == "postgresql"
    before = _int(cursor, "page") if cursor not in (None, "") else None
    if pg:  # the ids first (messages only), then the page's rows with their snippets
        ticket = filter_tickets(select(Ticket.id).where(Ticket.id == Message.ticket_id, ticket_visible_clause(user)),
                                status=status, sector_id=sector_id, tag_id=tag_id)
        ids = select(Message.id).where(Message.kind != "system",
                                       literal_column("messages.search_vector").op("@@")(_tsquery(terms)),
                                       ticket.offset(0).exists())
        ids = _newest_ids_pg(ids, before, limit)
        next_cursor = str(ids[limit - 1]) if len(ids) > limit else None
        return _load_with_headlines(ids[:limit], terms), next_cursor
    query = (select(Message).join(Ticket, Message.ticket_id == Ticket.id)
             .where(ticket_visible_clause(user), Message.kind != "system")
             .join(messages_fts, messages_fts.c.rowid == Message.id)
             .where(text("messages_fts MATCH :fts").bindparams(fts=_fts_match(terms)))
             .options(*_page_options()))
    query = filter_tickets(query, status=status, sector_id=sector_id, tag_id=tag_id)
    if before is not None:  # ordered by the FTS table's own rowid, which FTS5 walks newest first without a sort
        query = query.where(messages_fts.c.rowid < before)
    rows = list(db.session.scalars(query.order_by(messages_fts.c.rowid.desc()).limit(limit + 1)).unique())
    next_cursor = str(rows[limit - 1].id) if len(rows) > limit else None
    return [Hit(m.ticket, m, mark(m.body, terms)) for m in rows[:limit]], next_cursor


def _page_options():
    return joinedload(Message.ticket).joinedload(Ticket.contact), joinedload(Message.author)


def _newest_ids_pg(query, before, limit) -> list[int]:
    """The ids of the hits, newest first, on PostgreSQL, in two steps because no single plan
    suits every word: the planner walks the primary key backwards for any word it has no
    statistics on (a rare one: the whole table, 0.5 s at 1 M messages), and the GIN index
    plus a sort of every hit is as slow for a common word. So: the ``RECENT`` messages
    before the cursor first (a bounded walk, where a common word fills the page); only when
    they do not, the older ones through the GIN index (``id + 0``: no walk), where a word
    that rare has few hits to sort.

    The planner guesses 0.5 % of the table for any word outside its statistics (5 000 rows
    at 1 M messages, for a word in twenty), and for that many it would hash every visible
    ticket (25 ms) and start two parallel workers (12 ms) to sort twenty hits. So the ticket
    (visibility and filters) is an ``EXISTS … OFFSET 0``, which it cannot turn into a join:
    a primary-key look-up per hit; and the GIN step runs without parallel workers."""
    if before is None:
        before = (db.session.scalar(select(func.max(Message.id))) or 0) + 1
    query = query.where(Message.id < before)
    recent = list(db.session.scalars(
        query.where(Message.id >= before - RECENT).order_by(Message.id.desc()).limit(limit + 1)))
    if len(recent) > limit or before - RECENT <= 1:
        return recent
    db.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))  # this transaction only
    older = query.where(Message.id < before - RECENT).order_by((Message.id + 0).desc()).limit(limit + 1 - len(recent))
    return recent + list(db.session.scalars(older))


def _load_with_headlines(ids, terms) -> list[Hit]:
    """The page's messages with their tickets, contacts and authors, and each one's snippet:
    PostgreSQL says which words are hits, with its own stemming ("pedidos" marks "pedido"):
    ``ts_headline`` over the whole text with two sentinels as its marks. Angle brackets and
    the sentinels are read as spaces (one character for one, so offsets hold: its parser
    would take ``<b>`` for a tag and drop it); ``snippet`` escapes and marks. One query,
    and ``ts_headline`` only for these rows."""
    if not ids:
        return []
    headline = func.ts_headline(
        literal_column("'atendimento_pt'::regconfig"), func.translate(Message.body, "<>" + OPEN + CLOSE, "    "),
        _tsquery(terms), f"StartSel={OPEN}, StopSel={CLOSE}, HighlightAll=true")
    found = {m.id: (m, marked) for m, marked in db.session.execute(
        select(Message, headline).where(Message.id.in_(ids)).options(*_page_options())).unique()}
    rows = [found[i] for i in ids if i in found]
    return [Hit(m.ticket, m, snippet(m.body or "", _sentinel_spans(marked or ""))) for m, marked in rows]


def filter_tickets(query, *, status=None, sector_id=None, tag_id=None):
    """The list filters of SPEC §6 (status, sector, tags: all of them) on a query over Ticket."""
    if status not in (None, ""):
        if status not in TICKET_STATUSES:
            raise InvalidInput("Unknown status.", fields={"status": "pending, open or closed."})
        query = query.where(Ticket.status == status)
    if sector_id not in (None, ""):
        query = query.where(Ticket.sector_id == _int(sector_id, "sector"))
    from .queries import tag_filter  # the lists' own reading of ?tag= (queries imports this module)

    for tag in tag_filter(tag_id):
        query = query.where(Ticket.contact_id.in_(
            select(contact_tags.c.contact_id).where(contact_tags.c.tag_id == tag)))
    return query


def _int(value, field):
    try:
        return as_id(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"Invalid {field}.", fields={field: "Must be a number."}) from None


def _sentinel_spans(marked: str) -> list[tuple[int, int]]:
    spans, offset, start = [], 0, None
    for char in marked:
        if char == OPEN:
            start = offset
        elif char == CLOSE and start is not None:
            spans.append((start, offset))
            start = None
        else:
            offset += 1
    return spans


def fold(value: str) -> str:
    """Lower case without accents, as FTS5's ``remove_diacritics`` compares."""
    return "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c)).casefold()


def word_spans(body: str, terms) -> list[tuple[int, int]]:
    """SQLite's hits: the words that start with a term, accents and case aside (FTS5's
    ``unicode61 remove_diacritics`` and a prefix query compare so)."""
    folded = [fold(t) for t in terms]
    return [w.span() for w in WORD.finditer(body or "") if any(fold(w.group()).startswith(t) for t in folded)]


def mark(body: str, terms, words=SNIPPET_WORDS) -> Markup:
    return snippet(body, word_spans(body, terms), words)


def snippet(body: str, spans, words=SNIPPET_WORDS) -> Markup:
    """A window of about ``words`` words of ``body`` around the first hit: every piece
    escaped, then only the hits (``spans``: character offsets) wrapped in ``<mark>``."""
    body = body or ""
    starts = [w.start() for w in WORD.finditer(body)]
    first = spans[0][0] if spans else 0
    before = sum(1 for at in starts if at < first)
    begin = starts[before - words // 3] if before > words // 3 else 0
    after = [at for at in starts if at >= begin]
    end = after[words] if len(after) > words else len(body)
    out, pos = [Markup("… ") if begin else Markup()], begin
    for start, stop in spans:
        if start < begin or stop > end:
            continue
        out += [escape(body[pos:start]), Markup("<mark>%s</mark>") % body[start:stop]]
        pos = stop
    out.append(escape(body[pos:end].rstrip() if end < len(body) else body[pos:end]))
    if end < len(body):
        out.append(Markup(" …"))
    return Markup("").join(out)


def conversation_reaching(ticket, message_id, window=200, most=2000) -> list[Message]:
    """The conversation as the page shows it (its latest messages), reaching back to
    ``message_id`` when a search hit opens it on an older one (at most ``most`` messages)."""
    from .queries import ticket_messages

    rows = ticket_messages(ticket, limit=window)
    ident = parse_id(message_id)
    if ident is None or not rows or ident >= rows[0].id:
        return rows
    since = db.session.scalar(select(func.count()).select_from(Message)
                              .where(Message.ticket_id == ticket.id, Message.id >= ident))
    return ticket_messages(ticket, limit=min(since, most)) if since else rows


# -- contacts ----------------------------------------------------------------------------------

def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


CONTACT_MATCH_CAP = 2000  # contact ids a searched list takes by value (contact_filter)


contacts_searched = table("contacts", column("id"), column("search_text"))  # search_schema.PG_CONTACTS


def matching_contacts(q):
    """A select of the ids of contacts whose name, phone or e-mail contains ``q`` (case and,
    on PostgreSQL, accents aside), answered by an index: pg_trgm GIN over ``search_text`` on
    PostgreSQL, the FTS5 trigram table on SQLite (three characters or more; shorter ones
    scan, as before)."""
    q = (q or "").strip()
    if _dialect() == "postgresql":
        return select(contacts_searched.c.id).where(_contains(contacts_searched.c.search_text, q))
    if len(q) >= 3:
        return select(contacts_fts.c.rowid).where(
            text("contacts_fts MATCH :contact_q").bindparams(contact_q='"%s"' % q.replace('"', '""')))
    pattern = _like(q.lower())
    return select(Contact.id).where(or_(func.lower(Contact.name).like(pattern, escape="\\"),
                                        Contact.phone.like(pattern, escape="\\"),
                                        func.lower(Contact.email).like(pattern, escape="\\")))


def _contains(search_text, q):
    """PostgreSQL: a contact's ``search_text`` holds ``q`` folded as it is (lower case, no accents)."""
    return search_text.like(func.lower(func.f_unaccent(_like(q))), escape="\\")


def contact_filter(q, contact_id):
    """The WHERE clause of a list searched by contact: the rows whose ``contact_id`` (the
    list's column holding a contact's id) names a contact whose name, phone or e-mail
    contains ``q``. A page of the newest 50 costs about the same whether a few contacts
    match or thousands (bench/scale.py times one customer's phone and "silva").

    On PostgreSQL the trigram index finds the matching contacts, and a common name
    ("Silva": one contact in twenty) makes that thousands, each joined to its tickets
    before the page's 50 can be picked: 30 ms at 100 k contacts, growing with them. So the
    index is asked for at most ``CONTACT_MATCH_CAP`` ids; when that is all of them the list
    takes them by value (the planner then knows how many: an index look-up each, or a walk
    of the list against a hashed set). When there are more, the name is common enough that
    the newest rows of the list fill a page soon: the list is walked newest first (its
    index, models.Ticket) and each row checks its own contact (``EXISTS … OFFSET 0``,
    which the planner cannot turn back into the join over every match), or, in the list
    of contacts itself, its own ``search_text``. An attendant's "silva" among 100 k
    contacts: 38.6 ms as the planner would have it, 1.0 ms walked."""
    if _dialect() != "postgresql":
        return contact_id.in_(matching_contacts(q))
    q = (q or "").strip()
    first = matching_contacts(q).limit(CONTACT_MATCH_CAP + 1).subquery()
    ids = db.session.scalar(select(func.array_agg(first.c.id))) or []  # one row, not thousands
    if len(ids) <= CONTACT_MATCH_CAP:
        # One array by value: the planner sees how many, and the statement stays one parameter.
        return contact_id == func.any(bindparam("contact_ids", ids, type_=ARRAY(Integer)))
    if contact_id is Contact.id:  # the contacts list: each row's own text
        # ``|| ''``: the same text out of the index's reach, or the planner takes every match.
        return _contains(literal_column("contacts.search_text", Text).concat(""), q)
    own = contacts_searched.alias("searched")
    return select(own.c.id).where(own.c.id == contact_id, _contains(own.c.search_text, q)).offset(0).exists()
