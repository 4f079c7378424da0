"""Tab counts and the Atendimento page as the history grows (issue 13, part 6): 1 k and 100 k tickets.

Builds its own PostgreSQL database (bulk SQL) with ``--sizes`` tickets each (default 1 000 and
100 000) of ``--per-ticket`` messages, four sectors, 20 tickets waiting and 30 in progress
whatever the size and the rest closed (a help desk's history); then, as an admin and as an
attendant of one sector, times:

- the tab counts the old way (one GROUP BY over every visible ticket, the query before this
  change) and the new ``queries.tab_counts`` (active tickets exactly, Finalizados up to 999);
- ``GET /tickets/counts`` and ``GET /tickets?tab=pending`` / ``?tab=closed`` (the whole page)
  through the WSGI app in this process (a logged-in test client; no gunicorn, no network);
- ``GET /api/v1/contacts/<id>/tickets`` and the contact's full history page.

Prints p50/p95 per case at each size and the 100 k / 1 k ratio of the p95. Figures only.

    .venv/bin/python bench/scale.py [--sizes 1000,100000] [--per-ticket 2] [--rounds 30]
        [--database postgresql://postgres@127.0.0.1:5432/atd_bench_scale]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fill import SECTORS, ensure_database, fill_postgresql, time_it  # noqa: E402

def old_tab_counts(user):
    """The counts before issue 13: one GROUP BY over every ticket the user may see."""
    from sqlalchemy import and_, func, select

    from atendimento.extensions import db
    from atendimento.models import Ticket
    from atendimento.tickets.queries import TABS
    from atendimento.tickets.visibility import ticket_visible_clause

    mine = func.sum(func.cast(and_(Ticket.status == "open", Ticket.user_id == user.id), db.Integer))
    rows = db.session.execute(select(Ticket.status, func.count(), mine).where(ticket_visible_clause(user))
                              .group_by(Ticket.status)).all()
    counts = {tab: 0 for tab in TABS} | {"mine": 0}
    for status, count, own in rows:
        counts[status] = count
        counts["mine"] += int(own or 0)
    return counts


def measure(url, tickets, args) -> dict:
    from atendimento import create_app
    from atendimento.auth.service import issue_token
    from atendimento.extensions import db
    from atendimento.tickets.queries import tab_counts
    from tests.factories import Factory

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "REDIS_URL": None, "OUTBOX_WORKER": False,
                      "WTF_CSRF_ENABLED": False, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    results = {}
    with app.app_context():
        started = time.perf_counter()
        db.drop_all()
        db.create_all()
        f = Factory()
        sectors = [f.sector(name) for name in SECTORS]
        connection = f.connection("Bench", sectors=sectors)
        admin = f.admin("Admin", email="admin@bench.local")
        attendants = [f.user(f"Atendente {i}", email=f"a{i}@bench.local", sectors=[s]) for i, s in enumerate(sectors)]
        db.session.commit()
        fill_postgresql(db, tickets, args.per_ticket, [s.id for s in sectors], connection.id,
                        attendants=[u.id for u in attendants])
        print(f"\n{tickets} tickets built in {time.perf_counter() - started:.0f} s")
        contact_id = db.session.scalar(sa.text("SELECT contact_id FROM tickets WHERE sector_id = :s ORDER BY id "
                                               "LIMIT 1"), {"s": sectors[0].id})
        for label, who in (("admin", admin), ("attendant", attendants[0])):
            old = old_tab_counts(who)
            new = tab_counts(who)
            assert {k: old[k] for k in ("pending", "open", "mine")} == {k: new[k] for k in ("pending", "open", "mine")}
            results[f"counts, old GROUP BY ({label})"] = time_it(lambda: old_tab_counts(who), args.rounds)
            results[f"counts, tab_counts ({label})"] = time_it(lambda: tab_counts(who), args.rounds)
            client = app.test_client()
            assert client.post("/login", data={"email": who.email, "password": "secret123"}).status_code == 302
            _token, raw = issue_token(who)
            bearer = {"Authorization": f"Bearer {raw}"}

            def get(path, headers=None, client=client):
                response = client.get(path, headers=headers)
                assert response.status_code == 200, (path, response.status_code)

            results[f"GET /tickets/counts ({label})"] = time_it(lambda: get("/tickets/counts"), args.rounds)
            for tab in ("pending", "open", "closed"):
                results[f"GET /tickets?tab={tab} page ({label})"] = time_it(
                    lambda tab=tab: get(f"/tickets?tab={tab}&view=all"), args.rounds)
                results[f"GET /api/v1/tickets?status={tab} ({label})"] = time_it(
                    lambda tab=tab: get(f"/api/v1/tickets?status={tab}", bearer), args.rounds)
            results[f"GET /api/v1/contacts/<id>/tickets ({label})"] = time_it(
                lambda: get(f"/api/v1/contacts/{contact_id}/tickets", bearer), args.rounds)
            results[f"GET /contacts/<id>/history ({label})"] = time_it(
                lambda: get(f"/contacts/{contact_id}/history"), args.rounds)
        db.session.remove()
        db.engine.dispose()
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--per-ticket", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/atd_bench_scale")
    args = parser.parse_args()
    url = ensure_database(args.database)
    sizes = [int(s) for s in args.sizes.split(",")]
    runs = {size: measure(url, size, args) for size in sizes}
    small, large = sizes[0], sizes[-1]
    print(f"\n{'case':52} " + " ".join(f"{f'p50@{s}':>10} {f'p95@{s}':>10}" for s in sizes) + f" {'p95 ratio':>9}")
    for case in runs[small]:
        figures = " ".join(f"{runs[s][case][0]:10.1f} {runs[s][case][1]:10.1f}" for s in sizes)
        print(f"{case:52} {figures} {runs[large][case][1] / runs[small][case][1]:9.2f}")


if __name__ == "__main__":
    main()
