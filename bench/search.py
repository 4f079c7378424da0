"""Message and contact search (issue 13, part 4): the indexes against the old LIKE scans.

Builds its own databases — PostgreSQL (bulk SQL) and SQLite (executemany) — with
``--tickets`` tickets of ``--per-ticket`` messages each (default 100 k × 10 = 1 M messages),
four sectors, Portuguese text from a vocabulary of a few hundred words, one word
("cafeteira") in about twenty messages; then times, in this process, through the same
functions the API calls:

- message search ``search_messages`` (FTS: tsvector/GIN or FTS5) for a common word and a
  rare one, as an admin and as an attendant of one sector, against the old way, a
  ``lower(body) LIKE '%word%'`` scan with the same visibility, order and limit, and on
  PostgreSQL against itself with psycopg's server-side prepared statements (its default,
  which the app turns off: PostgreSQL then keeps a generic plan for every word);
- contact search as the list's ``q=`` runs it (``matching_contacts``: pg_trgm or the FTS5
  trigram table) against the same LIKE filter without an index (PostgreSQL: index scans
  switched off for it; SQLite cannot index a LIKE '%…%').

Prints p50/p95 per case and the ratio. A figure, not a test: nothing asserts.

    .venv/bin/python bench/search.py [--tickets 100000] [--per-ticket 10] [--rounds 30]
        [--database postgresql://postgres@127.0.0.1:5432/atd_bench_search] [--sqlite /tmp/atd_bench_search.db]
        [--only postgresql|sqlite] [--reuse]

The PostgreSQL database is created when missing and its tables dropped and rebuilt (with
``--reuse``, kept when this bench filled it with as many tickets before).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fill import (FIRST, LAST, RARE, SECTORS, WORDS, ensure_database, fill_postgresql,  # noqa: E402
                        rare_every, time_it)

def make_app(url):
    from atendimento import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "REDIS_URL": None, "OUTBOX_WORKER": False})


def base_rows(db):
    """Four sectors, one connection, an admin and an attendant of the first sector (the ORM)."""
    from tests.factories import Factory

    f = Factory()
    sectors = [f.sector(name) for name in SECTORS]
    connection = f.connection("Bench", sectors=sectors)
    admin = f.admin("Admin", email="admin@bench.local")
    ana = f.user("Ana", email="ana@bench.local", sectors=[sectors[0]])
    return [s.id for s in sectors], connection.id, admin, ana


def fill_sqlite(db, tickets, per_ticket, sector_ids, connection_id):
    import random

    rng = random.Random(13)
    with db.engine.begin() as conn:
        raw = conn.connection.dbapi_connection
        raw.executemany(
            "INSERT INTO contacts (id, name, phone, email, custom_fields, created_at) VALUES (?, ?, ?, ?, '{}', "
            "datetime('now'))",
            ((i, f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]} {i}", f"55119{i:08d}",
              f"cliente{i}@exemplo.com.br") for i in range(1, tickets + 1)))
        raw.executemany(
            "INSERT INTO tickets (id, contact_id, connection_id, sector_id, status, unread, last_message, "
            "last_message_at, created_at, updated_at, bot_turn) VALUES (?, ?, ?, ?, ?, 0, 'Olá', datetime('now'), "
            "datetime('now'), datetime('now'), 0)",
            ((i, i, connection_id, sector_ids[i % 4], ("pending", "open", "closed")[i % 3])
             for i in range(1, tickets + 1)))

        every = rare_every(tickets * per_ticket)

        def body(t, k):
            text = " ".join(rng.choice(WORDS) for _ in range(12))
            return f"minha {RARE} chegou quebrada {text}" if (t * per_ticket + k) % every == 7 else text

        raw.executemany(
            "INSERT INTO messages (ticket_id, connection_id, direction, kind, body, status, attempts, from_bot, voice, "
            "created_at) VALUES (?, ?, 'in', 'text', ?, 'received', 0, 0, 0, datetime('now'))",
            ((t, connection_id, body(t, k)) for t in range(1, tickets + 1) for k in range(1, per_ticket + 1)))
        raw.execute("ANALYZE")


def old_message_scan(user, word, limit=20):
    """Before the index: the lists' ``LIKE '%…%'`` applied to messages, loading and marking
    the same rows as ``search_messages`` (the same visibility, order, limit and snippets)."""
    from sqlalchemy.orm import joinedload

    from atendimento.extensions import db
    from atendimento.models import Message, Ticket
    from atendimento.tickets.search import mark
    from atendimento.tickets.visibility import ticket_visible_clause

    rows = db.session.scalars(
        sa.select(Message).join(Ticket, Message.ticket_id == Ticket.id)
        .where(ticket_visible_clause(user), Message.kind != "system", sa.func.lower(Message.body).like(f"%{word}%"))
        .options(joinedload(Message.ticket).joinedload(Ticket.contact), joinedload(Message.author))
        .order_by(Message.id.desc()).limit(limit + 1)).unique().all()
    return [mark(m.body, [word]) for m in rows[:limit]]


def previous_search(user, word, limit=20):
    """``search_messages`` on PostgreSQL as it was before the page's ids were found on their
    own (a frozen copy, to time old and new in one run): the recent walk and the GIN step
    over ``messages JOIN tickets`` with the page's joins, then ``ts_headline`` in a third
    query. The planner's 5 000-row guess for a rare word made the GIN step hash every
    visible ticket and start parallel workers."""
    from sqlalchemy.orm import joinedload

    from atendimento.extensions import db
    from atendimento.models import Message, Ticket
    from atendimento.tickets import search
    from atendimento.tickets.visibility import ticket_visible_clause

    terms = search.search_terms(word)
    query = (sa.select(Message).join(Ticket, Message.ticket_id == Ticket.id)
             .where(ticket_visible_clause(user), Message.kind != "system",
                    sa.literal_column("messages.search_vector").op("@@")(search._tsquery(terms)))
             .options(joinedload(Message.ticket).joinedload(Ticket.contact), joinedload(Message.author)))
    before = (db.session.scalar(sa.select(sa.func.max(Message.id))) or 0) + 1
    query = query.where(Message.id < before)

    def fetch(q):
        return list(db.session.scalars(q).unique())

    rows = fetch(query.where(Message.id >= before - search.RECENT).order_by(Message.id.desc()).limit(limit + 1))
    if len(rows) <= limit and before - search.RECENT > 1:
        rows += fetch(query.where(Message.id < before - search.RECENT).order_by((Message.id + 0).desc())
                      .limit(limit + 1 - len(rows)))
    rows = rows[:limit]
    if not rows:
        return []
    found = db.session.execute(sa.select(Message.id, sa.func.ts_headline(
        sa.literal_column("'atendimento_pt'::regconfig"),
        sa.func.translate(Message.body, "<>" + search.OPEN + search.CLOSE, "    "), search._tsquery(terms),
        f"StartSel={search.OPEN}, StopSel={search.CLOSE}, HighlightAll=true"))
        .where(Message.id.in_([m.id for m in rows]))).all()
    bodies = {m.id: m.body or "" for m in rows}
    return [search.snippet(bodies[i], search._sentinel_spans(marked or "")) for i, marked in found]


@contextlib.contextmanager
def prepared_statements(db):
    """psycopg's default, which the app turns off (atendimento/__init__.py): each statement
    prepared on the server after its fifth run on a connection, and PostgreSQL free to keep
    a generic plan, made without the values, after five runs of that. psycopg forgets them
    at a rollback, not at a commit: the calls are committed here, as on a connection that
    has served writes, and warmed up past both thresholds."""
    def checkout(dbapi_connection, _record, _proxy):
        dbapi_connection.prepare_threshold = 5

    db.session.remove()
    db.engine.dispose()
    sa.event.listen(db.engine, "checkout", checkout)
    try:
        yield
    finally:
        db.session.remove()
        sa.event.remove(db.engine, "checkout", checkout)
        db.engine.dispose()  # new connections: the app's own setting again


def old_contact_scan(q, pg):
    from atendimento.extensions import db
    from atendimento.models import Contact

    if pg:  # the trigram indexes are there: keep the planner off them for the old way
        db.session.execute(sa.text("SET LOCAL enable_bitmapscan = off"))
        db.session.execute(sa.text("SET LOCAL enable_indexscan = off"))
    pattern = f"%{q.lower()}%"
    rows = db.session.scalars(sa.select(Contact.id).where(sa.or_(
        sa.func.lower(Contact.name).like(pattern), Contact.phone.like(pattern),
        sa.func.lower(Contact.email).like(pattern))).limit(51)).all()
    db.session.rollback()
    return rows


def indexed_contacts(q):
    from atendimento.extensions import db
    from atendimento.tickets.search import matching_contacts

    rows = db.session.scalars(matching_contacts(q).limit(51)).all()
    db.session.rollback()
    return rows


def run(backend, url, args):
    from atendimento.extensions import db
    from atendimento.tickets.search import search_messages

    app = make_app(url)
    with app.app_context():
        from atendimento.models import User

        started = time.perf_counter()
        admin = ana = None
        if args.reuse and backend == "postgresql" and sa.inspect(db.engine).has_table("messages"):
            admin = db.session.scalar(sa.select(User).where(User.email == "admin@bench.local"))
            ana = db.session.scalar(sa.select(User).where(User.email == "ana@bench.local"))
        if admin is None or ana is None or db.session.scalar(sa.text("SELECT count(*) FROM tickets")) != args.tickets:
            if backend == "postgresql":
                db.drop_all()
            db.create_all()
            sector_ids, connection_id, admin, ana = base_rows(db)
            db.session.commit()  # the session's transaction (SQLite: BEGIN IMMEDIATE) must not hold the file
            fill = fill_postgresql if backend == "postgresql" else fill_sqlite
            fill(db, args.tickets, args.per_ticket, sector_ids, connection_id)
        count = db.session.scalar(sa.text("SELECT count(*) FROM messages"))
        print(f"\n{backend}: {args.tickets} tickets, {count} messages ready in {time.perf_counter() - started:.0f} s")
        print(f"{'case':58} {'p50 ms':>8} {'p95 ms':>8}")
        pg = backend == "postgresql"
        for role, user_id in (("admin", admin.id), ("attendant (1 of 4 sectors)", ana.id)):
            for word in ("entrega", RARE):
                who = db.session.get(User, user_id)
                new = time_it(lambda: search_messages(who, word), args.rounds)
                old = time_it(lambda: old_message_scan(who, word), args.rounds)
                label = f"messages '{word}' as {role}"
                print(f"{label + ', full-text index':58} {new[0]:8.1f} {new[1]:8.1f}")
                if pg:  # the same index as the search was before: ids and rows in the same queries
                    before = time_it(lambda: previous_search(who, word), args.rounds)
                    print(f"{label + ', index, previous queries':58} {before[0]:8.1f} {before[1]:8.1f}"
                          f"   p95 ×{before[1] / new[1]:.1f}")
                    with prepared_statements(db):
                        who = db.session.get(User, user_id)
                        for _ in range(12):
                            search_messages(who, word)
                            db.session.commit()
                        generic = time_it(lambda: search_messages(who, word), args.rounds, end=db.session.commit)
                    print(f"{label + ', index, prepared statements':58} {generic[0]:8.1f} {generic[1]:8.1f}"
                          f"   p95 ×{generic[1] / new[1]:.1f}")
                print(f"{label + ', LIKE scan':58} {old[0]:8.1f} {old[1]:8.1f}   p95 ×{old[1] / new[1]:.1f}")
        for q in ("araújo 12", "9876543", "cliente4242@"):
            new = time_it(lambda: indexed_contacts(q), args.rounds)
            old = time_it(lambda: old_contact_scan(q, pg), args.rounds)
            print(f"{f'contacts {q!r}, index':58} {new[0]:8.1f} {new[1]:8.1f}")
            print(f"{f'contacts {q!r}, LIKE scan':58} {old[0]:8.1f} {old[1]:8.1f}   p95 ×{old[1] / new[1]:.1f}")
        db.session.remove()
        db.engine.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--per-ticket", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/atd_bench_search")
    parser.add_argument("--sqlite", default=os.path.join(tempfile.gettempdir(), "atd_bench_search.db"))
    parser.add_argument("--only", choices=("postgresql", "sqlite"))
    parser.add_argument("--reuse", action="store_true",
                        help="PostgreSQL: keep a database this bench filled with as many tickets (no rebuild)")
    args = parser.parse_args()
    if args.only in (None, "postgresql"):
        run("postgresql", ensure_database(args.database), args)
    if args.only in (None, "sqlite"):
        Path(args.sqlite).unlink(missing_ok=True)
        run("sqlite", f"sqlite:///{args.sqlite}", args)


if __name__ == "__main__":
    main()
