"""The stream decides visibility by evaluating the pages' own clause in Python: both
must agree on every kind of user and ticket of SPEC §4."""
from sqlalchemy import select

from atendimento.extensions import db
from atendimento.models import Ticket
from atendimento.realtime.audience import load_viewer, probe, viewer_of, visibility_test
from atendimento.tickets.visibility import ticket_visible_clause


def test_stream_visibility_agrees_with_the_pages_query(factory):
    a, b = factory.sector("A"), factory.sector("B")
    users = [
        factory.admin(),
        factory.user("Só A", sectors=[a]),
        factory.user("A e B", sectors=[a, b]),
        factory.user("Sem setor"),
        factory.user("Inativo", sectors=[a], active=False),
        factory.admin("Admin inativo", email="inactive-admin@example.com", active=False),
    ]
    conn = factory.connection()
    tickets = []
    for sector in (a, b, None):
        for assignee in (None, users[1], users[3], users[4]):
            ticket = factory.ticket(conn, sector=sector)
            ticket.user_id = assignee.id if assignee else None
            db.session.commit()
            tickets.append(ticket)

    for user in users:
        in_sql = set(db.session.scalars(select(Ticket.id).where(ticket_visible_clause(user))))
        may_see = visibility_test(viewer_of(user))
        in_python = {t.id for t in tickets if may_see(probe({"sector_id": t.sector_id, "user_id": t.user_id}))}
        assert in_python == in_sql, user.name
    assert load_viewer(users[2].id) == viewer_of(users[2])
    assert load_viewer(users[4].id) is None  # inactive: no stream
