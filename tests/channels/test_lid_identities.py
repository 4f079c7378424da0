"""Evolution 2.3's ``@lid`` identities (issue 14, part 5): a lid seen with its phone
(``remoteJidAlt``, or 2.3.0's ``senderPn``) is the phone's contact; a contact already
split in two is merged, its tickets joined. Payload shapes: evolution-api #2217, #1764."""
import threading

import pytest
from sqlalchemy import func, select

from atendimento.extensions import db
from atendimento.models import Contact, ContactIdentity, Message, Ticket, TicketEvent
from atendimento.outbox import deliver_due
from atendimento.tickets import outgoing, service

from .provider_samples import EVO_CUSTOMER, EVO_LID, evo_upsert
from .test_evolution import evolution, evolution_api  # noqa: F401  (fixtures)

PHONE_JID = f"{EVO_CUSTOMER}@s.whatsapp.net"


def lid_only(key_id, text="Oi"):
    return evo_upsert({"conversation": text}, "conversation", key_id=key_id, jid=EVO_LID)


def lid_with_phone(key_id, text="Oi", field="remoteJidAlt"):
    return evo_upsert({"conversation": text}, "conversation", key_id=key_id, jid=EVO_LID,
                      **{field: PHONE_JID})


def phone_only(key_id, text="Oi"):
    return evo_upsert({"conversation": text}, "conversation", key_id=key_id, jid=PHONE_JID)


def post(client, connection, payload):
    response = client.post(f"/webhooks/evolution/{connection.token}", json=payload)
    assert response.status_code == 200, response.json
    return response.json


def count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


def identities() -> dict:
    return dict(db.session.execute(select(ContactIdentity.external_id, ContactIdentity.contact_id)).all())


def test_a_lid_with_its_phone_is_one_contact(client, evolution):
    post(client, evolution, lid_with_phone("A1"))
    post(client, evolution, lid_only("A2"))  # later without the phone: the same person
    post(client, evolution, phone_only("A3"))
    assert count(Contact) == 1 and count(Ticket) == 1 and count(Message) == 3
    contact = db.session.scalars(select(Contact)).one()
    assert identities() == {EVO_CUSTOMER: contact.id, EVO_LID: contact.id}
    assert contact.phone == EVO_CUSTOMER


def test_once_linked_a_lid_needs_no_linking(client, evolution, monkeypatch):
    post(client, evolution, lid_with_phone("L1"))
    from atendimento.tickets import identities as linking

    def refuse(*_args, **_kw):
        raise AssertionError("linked again")

    monkeypatch.setattr(linking, "link", refuse)  # the next ones take the group commit
    assert post(client, evolution, lid_with_phone("L2"))["stored"] == 1
    assert post(client, evolution, lid_with_phone("L2"))["duplicates"] == 1
    assert count(Message) == 2 and count(Contact) == 1


@pytest.mark.parametrize("field", ["remoteJidAlt", "senderPn"])
def test_a_contact_split_by_the_lid_is_merged(client, evolution, field):
    post(client, evolution, phone_only("B1", "Pedido 1"))
    post(client, evolution, lid_only("B2", "Pedido 2"))  # Evolution hid the number: a second contact
    assert count(Contact) == 2 and count(Ticket) == 2
    post(client, evolution, lid_with_phone("B3", "Pedido 3", field=field))
    assert count(Contact) == 1
    active = db.session.scalars(select(Ticket).where(Ticket.status != "closed")).one()
    bodies = db.session.scalars(select(Message.body).where(Message.ticket_id == active.id).order_by(Message.id))
    assert list(bodies) == ["Pedido 1", "Pedido 2", "Pedido 3"]
    assert active.unread == 3
    closed = db.session.scalars(select(Ticket).where(Ticket.status == "closed")).one()
    event = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == closed.id,
                                                         TicketEvent.kind == "merged")).one()
    assert event.data == {"into": active.id}
    assert set(identities().values()) == {active.contact_id}


def test_the_ticket_an_attendant_handles_survives(client, evolution, factory, evolution_api):
    post(client, evolution, lid_only("C1", "Oi, sou eu"))
    lid_ticket = db.session.scalars(select(Ticket)).one()
    ana = factory.admin("Ana", email="ana@example.com")
    service.accept_ticket(ana, lid_ticket.id)
    post(client, evolution, phone_only("C2", "Oi de novo"))  # a second contact, a pending ticket
    post(client, evolution, lid_with_phone("C3", "Alguém aí?"))
    active = db.session.scalars(select(Ticket).where(Ticket.status != "closed")).one()
    assert active.id == lid_ticket.id and active.status == "open" and active.user_id == ana.id
    assert db.session.scalar(select(func.count(Message.id)).where(Message.ticket_id == active.id)) == 3
    outgoing.send_text(ana, active.id, "Estou aqui")
    deliver_due()
    (sent,) = evolution_api.calls("POST", "/message/sendText/loja-centro")
    assert sent.json["number"] == EVO_CUSTOMER  # the phone, not the lid


@pytest.mark.parametrize("backend", ["postgresql"])
def test_the_two_identities_arriving_at_once(app, evolution, backend):
    """A split contact (the phone, and a lid apart), then deliveries at once, some with the
    lid alone and some with both: one contact, one active ticket, every message once.
    Each round brings a new lid of the same phone, split again."""
    rounds, threads = 3, 8
    for round_ in range(rounds):
        lid = f"10389977199{round_:04d}@lid"
        client = app.test_client()
        post(client, evolution, phone_only(f"R{round_}-p", "antes"))
        post(client, evolution, evo_upsert({"conversation": "antes"}, "conversation", key_id=f"R{round_}-l", jid=lid))
        assert count(Contact) == 2
        barrier = threading.Barrier(threads)
        answers = [None] * threads

        def deliver(i):
            extra = {"remoteJidAlt": PHONE_JID} if i % 2 else {}
            payload = evo_upsert({"conversation": f"mensagem {i}"}, "conversation", key_id=f"R{round_}-{i}",
                                 jid=lid, **extra)
            with app.app_context():
                barrier.wait()
                try:
                    answers[i] = app.test_client().post(f"/webhooks/evolution/{evolution.token}",
                                                        json=payload).status_code
                finally:
                    db.session.remove()

        workers = [threading.Thread(target=deliver, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        assert answers == [200] * threads
        db.session.expire_all()
        assert count(Contact) == 1
        assert db.session.scalar(select(func.count(Ticket.id)).where(Ticket.status != "closed")) == 1
        assert count(Message) == (round_ + 1) * (threads + 2)
        assert len(set(identities().values())) == 1 and len(identities()) == round_ + 2
        active = db.session.scalars(select(Ticket).where(Ticket.status != "closed")).one()
        homes = db.session.scalars(select(Message.ticket_id).where(Message.external_id.like(f"R{round_}-%")))
        assert set(homes) == {active.id}  # none was left in the ticket closed by the merge
