"""@mentions in notes (issue 12, part 6; SPEC §6.1): "@Nome" of a user who may see the
ticket sends that user — and only them — ``event: mention`` ``{"ticket_id", "message_id",
"by"}``; the composer's ``@`` list offers exactly those who may see the ticket; the
reversed visibility rule agrees with SPEC §4's clause for every user. Both backends."""
from __future__ import annotations

from sqlalchemy import select

from atendimento.extensions import db
from atendimento.models import Ticket, User
from atendimento.tickets import notes
from atendimento.tickets.mentions import mentioned_in
from atendimento.tickets.visibility import ticket_visible_clause, users_who_may_see


def _team(factory):
    suporte, vendas = factory.sector("Suporte"), factory.sector("Vendas")
    team = dict(ana=factory.user("Ana Paula", sectors=[suporte]), bruno=factory.user("Bruno Costa", sectors=[suporte]),
                joao=factory.user("João Lima", sectors=[suporte]), vera=factory.user("Vera", sectors=[vendas]),
                admin=factory.admin("Carla Admin"), gone=factory.user("Bruna Saída", sectors=[suporte], active=False))
    connection = factory.connection(sectors=[suporte], settings={"outbound_url": "http://127.0.0.1:9/send"})
    ticket = factory.ticket(connection, sector=suporte, status="open", assignee=team["ana"])
    return team, ticket


def test_the_one_named_gets_the_mention_and_nobody_else(factory, open_stream):
    team, ticket = _team(factory)
    bruno, joao, admin = (open_stream(team[k]) for k in ("bruno", "joao", "admin"))
    note = notes.add_note(team["ana"], ticket.id, {"text": "@Bruno Costa e @joao, vejam o prazo. @Vera não vê."})
    marker = factory.inbound(ticket.connection, sender=ticket.contact.phone, text="marcador")
    assert marker.ticket_id == ticket.id

    for stream, expect_mention in ((bruno, True), (joao, True), (admin, False)):
        events = stream.events_until("message.created", ticket_id=ticket.id)  # the note itself
        events += stream.events_until("message.created", ticket_id=ticket.id)  # the marker after it
        mentions = [e["data"] for e in events if e["event"] == "mention"]
        if expect_mention:
            assert mentions == [{"ticket_id": ticket.id, "message_id": note.id, "by": team["ana"].id,
                                 "by_name": "Ana Paula"}]
        else:
            assert mentions == []


def test_the_at_list_offers_those_who_may_see_the_ticket(factory, client, auth):
    team, ticket = _team(factory)
    auth.login(team["ana"])
    names = [u["name"] for u in client.get(f"/tickets/{ticket.id}/mentionable").json["items"]]
    assert names == ["Bruno Costa", "Carla Admin", "João Lima"]  # not Ana herself, Vera, or the inactive
    assert [u["name"] for u in client.get(f"/tickets/{ticket.id}/mentionable?q=jo").json["items"]] == ["João Lima"]
    outsider = factory.user("Fora", email="fora@example.com", sectors=[factory.sector("Outro")])
    auth.logout()
    auth.login(outsider)
    assert client.get(f"/tickets/{ticket.id}/mentionable").status_code == 404


def test_the_reversed_rule_agrees_with_the_visibility_clause(factory):
    team, ticket = _team(factory)
    no_sector = factory.ticket(factory.connection("Sem setor"))
    no_sector.user_id = team["vera"].id  # an assignee outside any sector of the ticket
    db.session.commit()
    for t in (ticket, no_sector, factory.ticket(ticket.connection, sector=team["vera"].sectors[0])):
        t = db.session.get(Ticket, t.id)
        reversed_ = {u.id for u in db.session.scalars(users_who_may_see(t))}
        forward = {u.id for u in db.session.scalars(select(User)) if u.active and db.session.scalar(
            select(Ticket.id).where(Ticket.id == t.id, ticket_visible_clause(u)))}
        assert reversed_ == forward, t.id


def test_names_are_read_longest_first_and_without_accents(factory):
    team, _ticket = _team(factory)
    people = [team["ana"], team["bruno"], team["joao"], team["gone"]]
    assert [u.name for u in mentioned_in("oi @joao e @Bruno Costa", people)] == ["Bruno Costa", "João Lima"]
    # "@Bru" is nobody; "@Bruna" would be two people's first names: only the full name counts then.
    assert mentioned_in("@Bru, e-mail ana@exemplo.com", people) == []
    assert [u.name for u in mentioned_in("@Ana Paula!", people)] == ["Ana Paula"]
