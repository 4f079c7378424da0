"""Listing a tab costs the same number of SQL queries for 5 and for 500 tickets."""
import pytest
from sqlalchemy import event, insert

from atendimento.extensions import db
from atendimento.models import Contact, Ticket, utcnow
from atendimento.tickets.queries import list_tickets, tab_counts


def bulk_tickets(connection, sector, n, status="pending", user=None):
    """Many tickets at once (the service path is exercised elsewhere; here only volume matters)."""
    now = utcnow()
    contacts = db.session.execute(
        insert(Contact).returning(Contact.id),
        [{"name": f"Cliente {i}", "phone": f"55119{i:08d}", "custom_fields": {}, "created_at": now}
         for i in range(n)],
    ).scalars().all()
    db.session.execute(insert(Ticket), [
        {"contact_id": cid, "connection_id": connection.id, "sector_id": sector.id, "status": status,
         "user_id": user.id if user else None, "unread": 1, "last_message": "Olá", "last_message_at": now,
         "created_at": now, "updated_at": now} for cid in contacts
    ])
    db.session.commit()


class QueryCounter:
    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._on)

    def _on(self, *args, **kwargs):
        self.count += 1


def count_queries_for_tab_page(client, user_session_url):
    with QueryCounter(db.engine) as counter:
        response = client.get(user_session_url)
    assert response.status_code == 200
    return counter.count


@pytest.mark.parametrize("tab", ["pending", "open", "closed"])
def test_tab_page_queries_do_not_grow_with_tickets(factory, client, auth, tab):
    sector = factory.sector("Vendas")
    user = factory.user("Ana", sectors=[sector])
    connection = factory.connection()
    auth.login(user)
    status_user = user if tab == "open" else None
    bulk_tickets(connection, sector, 5, status=tab, user=status_user)
    db.session.expire_all()
    small = count_queries_for_tab_page(client, f"/tickets?tab={tab}&view=all")
    bulk_tickets(connection, sector, 495, status=tab, user=status_user)
    db.session.expire_all()
    large = count_queries_for_tab_page(client, f"/tickets?tab={tab}&view=all")
    assert small == large


def test_service_list_and_counts_query_count_is_constant(factory):
    sector = factory.sector("Vendas")
    user = factory.user("Ana", sectors=[sector])
    connection = factory.connection()
    counts = []
    for n in (5, 495):
        bulk_tickets(connection, sector, n)
        db.session.expire_all()
        with QueryCounter(db.engine) as counter:
            rows, _next = list_tickets(user, status="pending")
            for row in rows:  # what a list row shows
                (row.contact.display_name, row.sector and row.sector.color, row.user and row.user.name)
            tab_counts(user)
        counts.append(counter.count)
    assert counts[0] == counts[1]


def test_api_list_query_count_is_constant(factory, api):
    sector = factory.sector("Vendas")
    user = factory.user("Ana", sectors=[sector])
    connection = factory.connection()
    client = api(user)
    counts = []
    for n in (5, 495):
        bulk_tickets(connection, sector, n)
        db.session.expire_all()
        with QueryCounter(db.engine) as counter:
            assert client.get("/tickets?status=pending&limit=200").status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1]


def test_cursor_pagination_walks_every_ticket_once(factory, api):
    sector = factory.sector("Vendas")
    user = factory.user("Ana", sectors=[sector])
    bulk_tickets(factory.connection(), sector, 120)
    client = api(user)
    seen, cursor = [], None
    while True:
        response = client.get("/tickets?limit=50" + (f"&page={cursor}" if cursor else ""))
        seen += [t["id"] for t in response.json["items"]]
        cursor = response.json["next"]
        if cursor is None:
            break
    assert len(seen) == 120 == len(set(seen))
