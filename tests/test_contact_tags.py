"""Tags on contacts (issue 13, part 1): the whole set through the API, one added (an existing
tag or a new name) or removed from the side panel, chips on rows, the ``tag`` filter of
every tab and of the API (several tags: tickets having all). Only the assignee of one of
the contact's tickets or an admin writes; a hidden contact is 404."""
import pytest

from atendimento.extensions import db
from atendimento.models import Connection, Contact, Sector, Tag, Ticket


@pytest.fixture
def world(factory):
    sales, support = factory.sector("Comercial"), factory.sector("Suporte")
    ana = factory.user("Ana", sectors=[sales])
    bia = factory.user("Bia", sectors=[sales])
    carla = factory.user("Carla", sectors=[support])
    conn = factory.connection("WhatsApp", sectors=[sales, support])
    mine = factory.ticket(conn, sector=sales, status="open", assignee=ana)
    return dict(sales=sales, support=support, ana=ana, bia=bia, carla=carla, conn=conn, mine=mine,
                admin=factory.admin(), vip=factory.tag("VIP"), late=factory.tag("Atraso"))


def tag_names(contact_id):
    db.session.expire_all()
    return {t.name for t in db.session.get(Contact, contact_id).tags}


def test_api_sets_the_whole_set(world, api):
    contact = world["mine"].contact_id
    answer = api(world["ana"]).post(f"/contacts/{contact}/tags", json={"tag_ids": [world["vip"].id, world["late"].id]})
    assert answer.status_code == 200
    assert {t["name"] for t in answer.json["tags"]} == {"VIP", "Atraso"}
    assert api(world["admin"]).post(f"/contacts/{contact}/tags", json={"tag_ids": [world["late"].id]}).status_code == 200
    assert tag_names(contact) == {"Atraso"}
    assert api(world["ana"]).post(f"/contacts/{contact}/tags", json={"tag_ids": []}).json["tags"] == []


@pytest.mark.parametrize("body", [{"tag_ids": [999999]}, {"tag_ids": "1"}, {"tag_ids": ["x"]}, {"tag_ids": None},
                                  {"tag_ids": [True]}, {}])
def test_api_bad_tag_ids_are_422_and_change_nothing(world, api, body):
    contact = world["mine"].contact_id
    api(world["ana"]).post(f"/contacts/{contact}/tags", json={"tag_ids": [world["vip"].id]})
    answer = api(world["ana"]).post(f"/contacts/{contact}/tags", json=body)
    assert answer.status_code == 422 and answer.json["error"]["code"] == "invalid"
    assert tag_names(contact) == {"VIP"}


def test_api_only_the_assignee_or_an_admin_writes(world, api):
    contact = world["mine"].contact_id
    refused = api(world["bia"]).post(f"/contacts/{contact}/tags", json={"tag_ids": [world["vip"].id]})
    assert refused.status_code == 403  # Bia sees the ticket (same sector) but does not handle it
    assert api(world["carla"]).post(f"/contacts/{contact}/tags", json={"tag_ids": []}).status_code == 404  # hidden
    assert api(world["carla"]).post("/contacts/999999/tags", json={"tag_ids": []}).status_code == 404
    assert tag_names(contact) == set()


def test_api_tag_filter_needs_every_tag_and_keeps_visibility(world, factory, api):
    both = world["mine"]
    only_vip = factory.ticket(world["conn"], sector=world["sales"])
    hidden = factory.ticket(world["conn"], sector=world["support"])
    admin = api(world["admin"])
    admin.post(f"/contacts/{both.contact_id}/tags", json={"tag_ids": [world["vip"].id, world["late"].id]})
    admin.post(f"/contacts/{only_vip.contact_id}/tags", json={"tag_ids": [world["vip"].id]})
    admin.post(f"/contacts/{hidden.contact_id}/tags", json={"tag_ids": [world["vip"].id, world["late"].id]})

    def ids(user, query):
        answer = api(user).get("/tickets" + query)
        assert answer.status_code == 200, answer.json
        return {t["id"] for t in answer.json["items"]}

    vip, late = world["vip"].id, world["late"].id
    assert ids(world["ana"], f"?tag={vip}") == {both.id, only_vip.id}
    assert ids(world["ana"], f"?tag={vip}&tag={late}") == {both.id}
    assert ids(world["ana"], f"?tag={late}&status=open") == {both.id}
    assert ids(world["ana"], f"?tag={late}&status=pending") == set()
    assert ids(world["admin"], f"?tag={vip}&tag={late}") == {both.id, hidden.id}
    assert api(world["ana"]).get("/tickets?tag=abc").status_code == 422


def test_panel_adds_an_existing_tag_by_name_and_creates_a_new_one(world, client, auth):
    ticket = world["mine"]
    auth.login(world["ana"])
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert 'id="tag-suggestions"' in page and '<option value="VIP">' in page
    answer = client.post(f"/tickets/{ticket.id}/tags/add", data={"name": "vip"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("#contact-tags")
    assert tag_names(ticket.contact_id) == {"VIP"}  # the existing one, found in any case
    client.post(f"/tickets/{ticket.id}/tags/add", data={"name": "  Cliente novo "})
    assert tag_names(ticket.contact_id) == {"VIP", "Cliente novo"}
    assert db.session.query(Tag).count() == 3  # VIP, Atraso and the new one: no duplicate VIP
    client.post(f"/tickets/{ticket.id}/tags/add", data={"name": "VIP"})  # twice: still once
    assert tag_names(ticket.contact_id) == {"VIP", "Cliente novo"}
    blank = client.post(f"/tickets/{ticket.id}/tags/add", data={"name": "  "})
    assert blank.status_code == 303 and tag_names(ticket.contact_id) == {"VIP", "Cliente novo"}
    long = client.post(f"/tickets/{ticket.id}/tags/add", data={"name": "x" * 61}, follow_redirects=True)
    assert "60" in long.get_data(as_text=True) and db.session.query(Tag).count() == 3


def test_panel_removes_with_one_click(world, client, auth):
    ticket = world["mine"]
    ticket.contact.tags = [world["vip"], world["late"]]
    db.session.commit()
    auth.login(world["ana"])
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert f'/tickets/{ticket.id}/tags/{world["vip"].id}/remove' in page
    answer = client.post(f"/tickets/{ticket.id}/tags/{world['vip'].id}/remove")
    assert answer.status_code == 302
    assert tag_names(ticket.contact_id) == {"Atraso"}
    unknown = client.post(f"/tickets/{ticket.id}/tags/999999/remove")
    assert unknown.status_code == 303 and tag_names(ticket.contact_id) == {"Atraso"}


def test_panel_refuses_who_does_not_handle_the_ticket(world, factory, client, auth):
    ticket = world["mine"]
    auth.login(world["bia"])
    page = client.get(f"/tickets/{ticket.id}?peek=1").get_data(as_text=True)
    assert 'id="tag-add-name"' not in page  # no editor for a reader
    refused = client.post(f"/tickets/{ticket.id}/tags/add", data={"name": "VIP"})
    assert refused.status_code == 303 and tag_names(ticket.contact_id) == set()
    hidden = factory.ticket(world["conn"], sector=world["support"])
    assert client.post(f"/tickets/{hidden.id}/tags/add", data={"name": "VIP"}).status_code == 404
    assert client.post(f"/tickets/{hidden.id}/tags/{world['vip'].id}/remove").status_code == 404


@pytest.mark.parametrize("tab", ["pending", "open", "closed"])
def test_every_tab_filters_by_tag_and_shows_chips(world, factory, client, auth, tab):
    tagged = factory.ticket(world["conn"], sector=world["sales"], status=tab, assignee=world["ana"])
    untagged = factory.ticket(world["conn"], sector=world["sales"], status=tab, assignee=world["ana"])
    tagged.contact.tags = [world["vip"], world["late"]]
    untagged.contact.tags = [world["late"]]
    db.session.commit()
    auth.login(world["ana"])
    page = client.get(f"/tickets?tab={tab}&view=all").get_data(as_text=True)
    assert f'data-ticket-id="{tagged.id}"' in page and f'data-ticket-id="{untagged.id}"' in page
    assert 'class="row-tags"' in page and ">VIP</span>" in page
    vip, late = world["vip"].id, world["late"].id
    filtered = client.get(f"/tickets?tab={tab}&view=all&tag={vip}&tag={late}").get_data(as_text=True)
    assert f'data-ticket-id="{tagged.id}"' in filtered and f'data-ticket-id="{untagged.id}"' not in filtered
    assert 'id="tag-filter-active"' in filtered
    assert f"tag={vip}&amp;tag={late}" in filtered  # the tabs and rows keep the filter
    fragment = client.get(f"/tickets/list?tab={tab}&view=all&tag={late}").get_data(as_text=True)
    assert f'data-ticket-id="{tagged.id}"' in fragment and f'data-ticket-id="{untagged.id}"' in fragment
    assert client.get(f"/tickets?tab={tab}&tag=abc").status_code == 200  # a mangled link: no filter


def test_the_list_costs_the_same_queries_with_tags(world, factory, app, client, auth):
    from flask import g
    from sqlalchemy import event

    auth.login(world["admin"])
    conn_id, sales_id = world["conn"].id, world["sales"].id

    def count():
        seen = []
        listener = lambda *a: seen.append(1)  # noqa: E731
        # The test's app context (its session, flask.g) outlives requests: each starts with nothing loaded.
        db.session.expunge_all()
        g.pop("_login_user", None)
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get("/tickets?tab=pending").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    for _ in range(2):
        factory.ticket(world["conn"], sector=world["sales"]).contact.tags = [world["vip"]]
    db.session.commit()
    count()  # warm the app's own caches (sector and user names)
    few = count()
    conn, sales = db.session.get(Connection, conn_id), db.session.get(Sector, sales_id)
    tags = db.session.query(Tag).filter(Tag.name.in_(["VIP", "Atraso"])).all()
    for _ in range(8):
        factory.ticket(conn, sector=sales).contact.tags = tags
    db.session.commit()
    assert count() == few
    assert db.session.query(Ticket).count() == 11


def test_changing_tags_announces_each_ticket_of_the_contact_at_a_flat_query_cost(world, factory, api):
    """POST /contacts/<id>/tags pushes ``ticket.updated`` for every ticket of the contact, with
    the new chips in its data: one query for the tickets, none per ticket."""
    from flask import g
    from sqlalchemy import event, insert, select

    from atendimento.events import domain_event
    from atendimento.models import utcnow

    contact_id, client = world["mine"].contact_id, api(world["admin"])
    conn_id, sales_id = world["conn"].id, world["sales"].id
    vip, late = (world["vip"].id, world["vip"].color), world["late"].id
    announced = []

    def on_event(sender, name, ticket_id, data):
        if name == "ticket.updated":
            announced.append((ticket_id, data))

    def past_tickets(n):
        now = utcnow()
        db.session.execute(insert(Ticket), [
            {"contact_id": contact_id, "connection_id": conn_id, "sector_id": sales_id,
             "status": "closed", "unread": 0, "last_message": "Obrigado", "last_message_at": now,
             "created_at": now, "updated_at": now} for _ in range(n)])
        db.session.commit()

    def count(tag_ids):
        seen = []
        listener = lambda *a: seen.append(1)  # noqa: E731
        db.session.expunge_all()
        g.pop("_login_user", None)
        announced.clear()
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.post(f"/contacts/{contact_id}/tags", json={"tag_ids": tag_ids}).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    domain_event.connect(on_event)
    try:
        past_tickets(2)
        count([late])  # warm the app's own caches (sector and user names)
        few = count([vip[0]])  # one tag out, one in: the same change as below
        assert len(announced) == 3
        assert all(d["changed"] == ["tags"] and d["contact"]["tags"] == [{"id": vip[0], "name": "VIP", "color": vip[1]}]
                   for _, d in announced)
        past_tickets(20)
        assert count([late]) == few
        assert len(announced) == 23
        assert {ticket_id for ticket_id, _ in announced} == set(
            db.session.scalars(select(Ticket.id).where(Ticket.contact_id == contact_id)))
        assert all([t["name"] for t in d["contact"]["tags"]] == ["Atraso"] for _, d in announced)
        # Years of history: the active ticket and only the newest closed rows get an event.
        from atendimento.contacts.tags import LIVE_CLOSED_ROWS
        past_tickets(LIVE_CLOSED_ROWS)
        assert count([vip[0]]) == few
        mine = select(Ticket.id).where(Ticket.contact_id == contact_id)
        active = set(db.session.scalars(mine.where(Ticket.status != "closed")))
        newest = db.session.scalars(mine.where(Ticket.status == "closed")
                                    .order_by(Ticket.id.desc()).limit(LIVE_CLOSED_ROWS)).all()
        assert active and len(announced) == len(active) + LIVE_CLOSED_ROWS
        assert {ticket_id for ticket_id, _ in announced} == set(newest) | active
    finally:
        domain_event.disconnect(on_event)
