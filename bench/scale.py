"""Tab counts, lists, searches and the contact's tickets as the history grows (issue 13): 1 k and 100 k tickets.

Builds its own PostgreSQL databases, one per size (``--database`` with the size appended:
``bench_scale_1000``, ``bench_scale_100000``; bench/fill.py, bulk SQL, then VACUUM ANALYZE;
dropped at the end unless ``--keep``) with ``--sizes`` tickets each (default 1 000 and 100 000) of ``--per-ticket``
messages (default 10: 1 M messages at 100 k) of Portuguese text, four sectors, 20 tickets
waiting and 30 in progress whatever the size and the rest closed (a help desk's history);
starts the app under gunicorn on each (gunicorn.conf.py, gevent, ``--workers`` on loopback,
ports from ``--port``) and times through HTTP, as an admin and as an attendant of one sector,
on one keep-alive connection each (the pages logged in through the form, the API with a
bearer token), every case at each size in turn, round by round, so that the machine's
ups and downs fall on both sizes alike:

- ``GET /tickets/counts``, each tab as the page (``/tickets?tab=…``) and via the API;
- a contact search (``/api/v1/tickets?q=`` and ``/api/v1/contacts?q=``): one customer by phone,
  and "silva", a surname one contact in twenty has (a full page at both sizes, 50 and 5 000
  matches); each answers the same rows at both sizes, so that the ratio is the search's own;
- a message search (``/api/v1/search?q=``) for a common word and a rare one;
- ``GET /api/v1/contacts/<id>/tickets`` and the contact's full history page;

and in this process the tab counts the old way (one GROUP BY over every visible ticket)
against ``queries.tab_counts``, and the message search against the old ``LIKE '%…%'`` scan.

Prints p50/p95 per case at each size, the largest / smallest p95 ratio and the targets
(p95 <= 30 ms at 100 k and <= 1.3x its 1 k figure; search >= 10x faster than LIKE).
Figures only; ``--quick`` is a smoke run of a few seconds.

    .venv/bin/python bench/scale.py [--quick] [--sizes 1000,100000] [--per-ticket 10] [--rounds 30]
        [--workers 1] [--port 18013] [--database postgresql://postgres@127.0.0.1:5432/bench_scale] [--keep]
        [--reuse]
"""
from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fill import RARE, SECTORS, ensure_database, fill_postgresql, percentiles, time_it  # noqa: E402
from bench.search import old_message_scan  # noqa: E402

PASSWORD = "secret123"  # tests.factories' password
PHONE = "5511900000012"  # contact 12's phone (bench/fill.py), at every size

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


@contextlib.contextmanager
def gunicorn(url, port, workers):
    """The app under gunicorn (gunicorn.conf.py, gevent) on loopback, on the bench's database."""
    env = dict(os.environ, DATABASE_URL=url, BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY=str(workers),
               SECRET_KEY="bench", OUTBOX_WORKER="0", LOGIN_LIMIT_PER_ACCOUNT="1000 per minute",
               LOGIN_LIMIT_PER_ADDRESS="1000 per minute")
    env.pop("REDIS_URL", None)
    log = open(Path(tempfile.gettempdir()) / f"bench_scale_gunicorn_{port}.log", "w")  # noqa: SIM115
    process = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "gunicorn.conf.py", "app:app"],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        for _ in range(300):
            try:
                requests.get(f"http://127.0.0.1:{port}/login", timeout=60)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not answer")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


WARM_ROUNDS = 5  # untimed calls first: one left the 1 k figures noisy (the worker's first plans, caches, pages)


def login(base, who):
    """A keep-alive session logged in through the form, and a bearer token's header."""
    from atendimento.auth.service import issue_token
    from atendimento.extensions import db

    _token, raw = issue_token(who)
    db.session.commit()
    session = requests.Session()
    page = session.get(f"{base}/login").text
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = session.post(f"{base}/login", data={"email": who.email, "password": PASSWORD, "csrf_token": csrf},
                            allow_redirects=False)
    assert response.status_code == 302, response.status_code
    return session, {"Authorization": f"Bearer {raw}"}


def http_cases(label, contact_id):
    """Each tab via the API and the page, the counts, a contact search, a message search (a
    common word and a rare one), the contact's tickets: (case, path, through the API)."""
    cases = [(f"GET /tickets/counts ({label})", "/tickets/counts", False)]
    for tab in ("pending", "open", "closed"):
        cases += [(f"GET /tickets?tab={tab} page ({label})", f"/tickets?tab={tab}&view=all", False),
                  (f"GET /api/v1/tickets?status={tab} ({label})", f"/api/v1/tickets?status={tab}", True)]
    for q in (PHONE, "silva"):  # one customer by phone, and a surname one contact in twenty has
        cases += [(f"GET /api/v1/tickets?q={q} ({label})", f"/api/v1/tickets?q={q.replace(' ', '%20')}", True),
                  (f"GET /api/v1/contacts?q={q} ({label})", f"/api/v1/contacts?q={q.replace(' ', '%20')}", True)]
    for word in ("entrega", RARE):
        cases.append((f"GET /api/v1/search?q={word} ({label})", f"/api/v1/search?q={word}", True))
    cases += [(f"GET /api/v1/contacts/<id>/tickets ({label})", f"/api/v1/contacts/{contact_id}/tickets", True),
              (f"GET /contacts/<id>/history page ({label})", f"/contacts/{contact_id}/history", False)]
    return cases


def over_http(clients, rounds) -> dict:
    """``clients``: per size, per user label, (base URL, session, bearer header, contact id).
    Every case is timed at every size in turn, round by round (1 k, 100 k, 1 k, …), so that
    the machine's ups and downs fall on both sizes alike and their ratio holds."""
    sizes = list(clients)
    results = {size: {} for size in sizes}
    for label in clients[sizes[0]]:
        calls_by_case = {}  # case -> {size: a call}
        for size in sizes:
            base, session, bearer, contact_id = clients[size][label]
            for case, path, api in http_cases(label, contact_id):
                def get(session=session, url=base + path, headers=bearer if api else None):
                    response = session.get(url, headers=headers)
                    assert response.status_code == 200, (url, response.status_code)
                calls_by_case.setdefault(case, {})[size] = get
        for case, calls in calls_by_case.items():
            samples = {size: [] for size in sizes}
            for _ in range(WARM_ROUNDS):
                for size in sizes:
                    calls[size]()
            for _ in range(rounds):
                for size in sizes:
                    started = time.perf_counter()
                    calls[size]()
                    samples[size].append(time.perf_counter() - started)
            for size in sizes:
                results[size][case] = percentiles(samples[size])
    return results


def size_url(url, tickets) -> str:
    """The database of one size: ``bench_scale`` → ``bench_scale_100000``."""
    parsed = sa.engine.make_url(url)
    return parsed.set(database=f"{parsed.database}_{tickets}").render_as_string(hide_password=False)


def prepare(url, tickets, args):
    """The database of ``tickets`` (built, or kept from ``--keep``), the in-process figures,
    and the app to read users with: (app, in-process results, {label: user id}, contact id)."""
    from atendimento import create_app
    from atendimento.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "REDIS_URL": None, "OUTBOX_WORKER": False,
                      "WTF_CSRF_ENABLED": False, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        if args.reuse and _holds(db, tickets):
            from atendimento.models import Sector, User

            print(f"\n{tickets} tickets reused from the kept database")
            sectors = db.session.scalars(sa.select(Sector).order_by(Sector.id)).all()
            admin = db.session.scalar(sa.select(User).where(User.email == "admin@bench.local"))
            attendants = [db.session.scalar(sa.select(User).where(User.email == f"a{i}@bench.local"))
                          for i in range(len(sectors))]
        else:
            sectors, admin, attendants = build(db, tickets, args)
        contact_id = db.session.scalar(sa.text("SELECT contact_id FROM tickets WHERE sector_id = :s ORDER BY id "
                                               "LIMIT 1"), {"s": sectors[0].id})
        users = {"admin": admin.id, "attendant": attendants[0].id}
        results = {}
        for label, user_id in users.items():
            results.update(in_process(args, label, db.session.get(type(admin), user_id)))
        db.session.remove()
    return app, results, users, contact_id


def measure_all(args, sizes) -> dict:
    """Each size's database and in-process figures, then one gunicorn per size and the HTTP
    cases timed at every size in turn."""
    prepared = {size: prepare(size_url(args.url, size), size, args) for size in sizes}
    runs = {size: prepared[size][1] for size in sizes}
    with contextlib.ExitStack() as stack:
        clients = {}
        for offset, size in enumerate(sizes):
            app, _results, users, contact_id = prepared[size]
            base = stack.enter_context(gunicorn(size_url(args.url, size), args.port + offset, args.workers))
            with app.app_context():
                from atendimento.extensions import db
                from atendimento.models import User

                clients[size] = {label: (base, *login(base, db.session.get(User, user_id)), contact_id)
                                 for label, user_id in users.items()}
                db.session.remove()
        timed = over_http(clients, args.rounds)
    for size in sizes:
        with prepared[size][0].app_context():
            from atendimento.extensions import db

            db.engine.dispose()
        runs[size] = {**timed[size], **runs[size]}
    return runs


def build(db, tickets, args):
    from tests.factories import Factory

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
    return sectors, admin, attendants


def _holds(db, tickets) -> bool:
    """The kept database (``--keep``) already has this size, in the app's current schema."""
    try:
        db.session.execute(sa.select(*[c for c in db.metadata.tables["connections"].c]).limit(1)).all()
        from atendimento import search_schema

        inspector = sa.inspect(db.engine)
        indexes = {ix["name"] for table in ("tickets", "contacts", "messages") for ix in inspector.get_indexes(table)}
        columns = {(table, c["name"]) for table in ("contacts", "messages") for c in inspector.get_columns(table)}
        return (db.session.scalar(sa.text("SELECT count(*) FROM tickets")) == tickets
                and {ix.name for ix in db.metadata.tables["tickets"].indexes} | search_schema.INDEXES <= indexes
                and search_schema.COLUMNS <= columns)
    except sa.exc.DBAPIError:
        return False
    finally:
        db.session.rollback()  # a DROP for the rebuild would wait for this transaction's locks


def in_process(args, label, who):
    from atendimento.tickets.queries import tab_counts
    from atendimento.tickets.search import search_messages

    results = {}
    old = old_tab_counts(who)
    new = tab_counts(who)
    assert {k: old[k] for k in ("pending", "open", "mine")} == {k: new[k] for k in ("pending", "open", "mine")}
    results[f"counts, old GROUP BY ({label})"] = time_it(lambda: old_tab_counts(who), args.rounds)
    results[f"counts, tab_counts ({label})"] = time_it(lambda: tab_counts(who), args.rounds)
    for word in ("entrega", RARE):  # the old LIKE scan against the index, same process, same run
        results[f"search {word!r} in-process, old LIKE scan ({label})"] = time_it(
            lambda word=word: old_message_scan(who, word), args.rounds)
        results[f"search {word!r} in-process, full-text index ({label})"] = time_it(
            lambda word=word: search_messages(who, word), args.rounds)
    return results


TARGET_MS, TARGET_RATIO, TARGET_SEARCH = 30.0, 1.3, 10.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--per-ticket", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="a smoke run in seconds: 100 and 300 tickets, 3 rounds")
    parser.add_argument("--port", type=int, default=18013)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/bench_scale")
    parser.add_argument("--keep", action="store_true", help="keep the bench's database afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="with --keep before: time a kept database of the same size instead of building it")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.per_ticket, args.rounds = "100,300", 3, 3
    sizes = [int(s) for s in args.sizes.split(",")]
    from atendimento.config import normalize_database_url

    args.url = normalize_database_url(args.database)
    for size in sizes:
        ensure_database(size_url(args.url, size))
    try:
        runs = measure_all(args, sizes)
    finally:
        if not args.keep:
            for size in sizes:
                drop_database(size_url(args.url, size))
    small, large = sizes[0], sizes[-1]
    print(f"\n{'case':62} " + " ".join(f"{f'p50@{s}':>10} {f'p95@{s}':>10}" for s in sizes) + f" {'p95 ratio':>9}")
    misses = []
    for case in runs[small]:
        figures = " ".join(f"{runs[s][case][0]:10.1f} {runs[s][case][1]:10.1f}" for s in sizes)
        ratio = runs[large][case][1] / runs[small][case][1]
        print(f"{case:62} {figures} {ratio:9.2f}")
        if case.startswith("GET ") and (runs[large][case][1] > TARGET_MS or ratio > TARGET_RATIO):
            misses.append(case)
    print(f"\ntargets at {large}: every GET p95 <= {TARGET_MS:.0f} ms and <= {TARGET_RATIO}x its {small} figure; "
          f"message search >= {TARGET_SEARCH:.0f}x faster than the LIKE scan")
    for case in runs[large]:
        if "old LIKE scan" in case:
            index = case.replace("old LIKE scan", "full-text index")
            speedup = runs[large][case][1] / runs[large][index][1]
            print(f"  {case.replace(', old LIKE scan', '')}: LIKE p95 / index p95 = {speedup:.1f}x"
                  f"{'' if speedup >= TARGET_SEARCH else '  (below target)'}")
    print("  over a target:" if misses else "  every GET within its targets")
    for case in misses:
        print(f"    {case}")


def drop_database(url):
    url = sa.engine.make_url(url)
    server = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    server.dispose()


if __name__ == "__main__":
    main()
