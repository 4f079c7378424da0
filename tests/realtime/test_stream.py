"""GET /stream on each backend (SQLite + in-process broker, PostgreSQL + Redis):
event shape, heartbeat, resume, reset, per-user filtering and ticket.removed."""
import pytest

from atendimento.extensions import db
from atendimento.serializers import ticket_json
from atendimento.tickets import outgoing, service

from .conftest import LOG_SIZE, ticket_of


@pytest.fixture
def world(factory):
    sales, support = factory.sector("Comercial"), factory.sector("Suporte")
    users = dict(
        ana=factory.user("Ana", sectors=[sales]),
        bruno=factory.user("Bruno", sectors=[sales]),
        carla=factory.user("Carla", sectors=[support]),
        admin=factory.admin(),
    )
    conns = dict(sales=factory.connection("Loja", sectors=[sales]),
                 support=factory.connection("Suporte", sectors=[support]),
                 nobody=factory.connection("Sem setor"))
    return dict(sales=sales, support=support, conns=conns, **users)


def event_names(events):
    return [e["event"] for e in events]


def test_anonymous_gets_401_not_a_login_page(client):
    response = client.get("/stream")
    assert response.status_code == 401


def test_event_shape_and_headers(world, factory, open_stream):
    stream = open_stream(world["ana"])
    assert stream.status_code == 200
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    assert stream.headers["Cache-Control"] == "no-cache"
    assert stream.headers["X-Accel-Buffering"] == "no"
    opening = stream.next_frame()
    assert opening["retry"] == "3000"

    message = factory.inbound(world["conns"]["sales"], sender="5511911110000", text="Oi, tudo bem?", name="Dona Maria")
    created, posted = stream.next_event(), stream.next_event()

    assert created["event"] == "ticket.created"
    assert created["data"]["id"] == message.ticket_id
    assert created["data"]["status"] == "pending"
    assert created["data"]["contact"]["name"] == "Dona Maria"
    assert created["data"]["last_message"] == "Oi, tudo bem?"
    assert "previous" not in created["data"]
    assert posted["event"] == "message.created"
    assert posted["data"]["id"] == message.id
    assert posted["data"]["ticket_id"] == message.ticket_id
    assert posted["data"]["direction"] == "in" and posted["data"]["body"] == "Oi, tudo bem?"

    service.accept_ticket(world["ana"], message.ticket_id)
    accepted = stream.next_event()
    assert accepted["event"] == "ticket.updated"
    row = accepted["data"].pop("html")  # the list row as the page renders it (tests/test_fragments.py)
    assert f'data-ticket-id="{message.ticket_id}"' in row and "Dona Maria" in row
    now = ticket_json(db.session.get(type(message.ticket), message.ticket_id))
    # A row event's contact also carries its tags, for the row's chips (fragments.prepare).
    assert accepted["data"] == {**now, "contact": {**now["contact"], "tags": []}, "changed": ["status", "user_id"]}
    ids = [created["id"], posted["id"], accepted["id"]]
    assert len(set(ids)) == 3
    assert ids == sorted(ids, key=lambda i: tuple(int(p) for p in i.split("-")))


def test_heartbeat_is_a_comment(world, open_stream):
    stream = open_stream(world["ana"])
    stream.next_frame()  # retry + cursor
    beat = stream.next_frame()
    assert beat.get("comments") == ["heartbeat"]
    assert "event" not in beat and "data" not in beat


def test_resume_with_last_event_id_replays_what_was_missed_in_order_once(world, factory, open_stream):
    conn = world["conns"]["sales"]
    first = open_stream(world["ana"])
    factory.inbound(conn, sender="5511900000001", text="primeiro")
    seen = first.events_until("message.created")
    last_id = seen[-1]["id"]
    first.close()

    missed = factory.inbound(conn, sender="5511900000002", text="enquanto offline")
    service.accept_ticket(world["bruno"], missed.ticket_id)

    again = open_stream(world["ana"], last_event_id=last_id)
    factory.inbound(conn, sender="5511900000003", text="depois de voltar")
    events = again.events_until("message.created")  # the missed inbound's message
    events += again.events_until("ticket.updated")  # the accept
    events += again.events_until("message.created")  # the live one after reconnecting
    assert event_names(events) == ["ticket.created", "message.created", "ticket.updated",
                                   "ticket.created", "message.created"]
    assert events[1]["data"]["body"] == "enquanto offline"
    assert events[2]["data"]["user_id"] == world["bruno"].id
    assert events[4]["data"]["body"] == "depois de voltar"
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)), "an event came twice"


def test_resume_from_an_id_older_than_the_log_gets_reset(world, factory, broker, open_stream):
    stream = open_stream(world["ana"])
    factory.inbound(world["conns"]["sales"], sender="5511900000009", text="marcador")
    old_id = stream.events_until("message.created")[-1]["id"]
    stream.close()
    for n in range(3 * LOG_SIZE + 120):  # push the marker out of the log (Redis trims whole nodes of 100)
        broker.publish("ticket.updated", 0, ticket={"sector_id": None, "user_id": None}, data={"id": 0, "n": n})

    again = open_stream(world["ana"], last_event_id=old_id)
    reset = again.next_event()
    assert reset["event"] == "reset"
    assert reset["data"] == {}
    message = factory.inbound(world["conns"]["sales"], sender="5511900000010", text="depois do reset")
    assert again.events_until("message.created")[-1]["data"]["id"] == message.id


def test_an_id_from_before_the_log_was_lost_gets_reset(world, factory, broker, app, open_stream):
    """In-process: the process restarted (ids start from the clock). Redis: it restarted empty
    (a new log, a new epoch), however recent the id looks."""
    stream = open_stream(world["ana"])
    factory.inbound(world["conns"]["sales"], sender="5511900000011", text="antes de perder o log")
    old_id = stream.events_until("message.created")[-1]["id"]
    assert broker.resume(old_id).reset is False  # still in the log: replayed
    if hasattr(broker, "epoch_key"):
        broker.redis.delete(broker.stream_key, broker.epoch_key)  # what a restart without persistence leaves
        restarted = broker
    else:
        restarted = type(broker)(app)
    restarted.publish("ticket.updated", 0, ticket={"sector_id": None, "user_id": None}, data={"id": 0})
    assert restarted.resume(old_id).reset is True


@pytest.mark.parametrize("last_event_id", ["not-an-id", "99999999999999999-0", "99999999999999999999"])
def test_unknown_or_future_last_event_id_gets_reset(world, open_stream, last_event_id):
    stream = open_stream(world["ana"], last_event_id=last_event_id)
    assert stream.next_event()["event"] == "reset"


def test_users_only_receive_events_of_tickets_they_may_see(world, factory, open_stream):
    ana, carla, admin = (open_stream(world[k]) for k in ("ana", "carla", "admin"))
    in_support = factory.inbound(world["conns"]["support"], sender="5511900000020", text="suporte")
    no_sector = factory.inbound(world["conns"]["nobody"], sender="5511900000021", text="sem setor")
    in_sales = factory.inbound(world["conns"]["sales"], sender="5511900000022", text="vendas")

    # The sales message is the last one published: whatever Ana gets before it, she got instead of nothing.
    ana_events = ana.events_until("message.created")
    assert {ticket_of(e) for e in ana_events} == {in_sales.ticket_id}
    carla_events = carla.events_until("message.created")
    assert {ticket_of(e) for e in carla_events} == {in_support.ticket_id}
    admin_events = admin.events_until("message.created", ticket_id=in_sales.ticket_id)
    assert [ticket_of(e) for e in admin_events] == [
        in_support.ticket_id, in_support.ticket_id, no_sector.ticket_id, no_sector.ticket_id,
        in_sales.ticket_id, in_sales.ticket_id]


def test_assignee_sees_a_ticket_without_sector(world, factory, open_stream):
    ticket = factory.inbound(world["conns"]["nobody"], sender="5511900000030").ticket
    ana = open_stream(world["ana"])
    service.transfer_to_user(world["admin"], ticket.id, world["ana"].id)
    updated = ana.next_event()
    assert updated["event"] == "ticket.updated" and updated["data"]["user_id"] == world["ana"].id


def test_transfer_to_another_sector_removes_the_ticket_for_those_who_lost_it(world, factory, open_stream):
    ticket = factory.inbound(world["conns"]["sales"], sender="5511900000040").ticket
    ana, carla, admin = (open_stream(world[k]) for k in ("ana", "carla", "admin"))

    service.transfer_to_sector(world["admin"], ticket.id, world["support"].id)

    removed = ana.next_event()
    assert removed["event"] == "ticket.removed"
    assert removed["data"] == {"id": ticket.id}
    gained = carla.next_event()
    assert gained["event"] == "ticket.updated" and gained["data"]["sector_id"] == world["support"].id
    assert admin.next_event()["event"] == "ticket.updated"
    assert removed["id"] == gained["id"]  # one move, one id, told differently


def test_reassignment_removes_the_ticket_from_the_previous_assignee(world, factory, open_stream):
    ticket = factory.inbound(world["conns"]["nobody"], sender="5511900000050").ticket
    service.transfer_to_user(world["admin"], ticket.id, world["ana"].id)
    # Ana's only sector is Comercial, so the ticket is now in Comercial: move it to Carla in Suporte.
    ana, carla = open_stream(world["ana"]), open_stream(world["carla"])
    service.transfer_to_user(world["admin"], ticket.id, world["carla"].id)
    assert ana.next_event()["event"] == "ticket.removed"
    assert carla.next_event()["data"]["user_id"] == world["carla"].id


def test_message_events_follow_the_ticket_visibility(world, factory, open_stream):
    ticket = factory.inbound(world["conns"]["sales"], sender="5511900000060").ticket
    service.accept_ticket(world["ana"], ticket.id)
    bruno, carla = open_stream(world["bruno"]), open_stream(world["carla"])
    reply = outgoing.send_text(world["ana"], ticket.id, "Já verifico")
    events = bruno.events_until("ticket.updated")
    assert event_names(events) == ["message.created", "ticket.updated"]
    assert events[0]["data"]["id"] == reply.id and events[0]["data"]["direction"] == "out"
    marker = factory.inbound(world["conns"]["support"], sender="5511900000061", text="marcador")
    assert carla.next_event()["data"]["id"] == marker.ticket_id  # nothing of the sales ticket came before


def test_a_user_moved_to_another_sector_gets_reset_and_the_new_sight(world, factory, open_stream):
    ana = open_stream(world["ana"])
    ana.next_frame()
    world["ana"].sectors = [world["support"]]
    db.session.commit()
    assert ana.next_event()["event"] == "reset"
    factory.inbound(world["conns"]["sales"], sender="5511900000070", text="vendas")
    support = factory.inbound(world["conns"]["support"], sender="5511900000071", text="suporte")
    assert ana.next_event()["data"]["id"] == support.ticket_id


def test_a_deactivated_user_stream_ends(world, open_stream):
    ana = open_stream(world["ana"])
    ana.next_frame()
    world["ana"].active = False
    db.session.commit()
    with pytest.raises(StopIteration):
        ana.next_event()


def test_a_stream_ends_with_its_session(world, factory, open_stream):
    """Logging out (or a password change, or an admin's reset) ends the user's open streams
    too, not only their pages: a stolen cookie's stream gets no more events (SPEC §9)."""
    from atendimento.auth.service import log_out

    ana, bruno = open_stream(world["ana"]), open_stream(world["bruno"])
    ana.next_frame()
    bruno.next_frame()
    log_out(world["ana"])
    db.session.commit()
    with pytest.raises(StopIteration):
        ana.next_event()
    # Another user's sessions go on: Bruno, in the same sector, still gets the next move.
    message = factory.inbound(world["conns"]["sales"], sender="5511900000099", text="ainda aí?")
    assert ticket_of(bruno.events_until("message.created")[-1]) == message.ticket_id
