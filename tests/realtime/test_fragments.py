"""What the stream pushes is what the page would render: the list row of a ticket
event and the bubble of a message event, once per event, in the reader's language."""
import re

import pytest
from flask import g
from sqlalchemy import event

from atendimento.extensions import db
from atendimento.tickets import fragments, outgoing, service


@pytest.fixture
def world(factory):
    sales = factory.sector("Vendas", color="#27ae60")
    ana = factory.user("Ana Lima", sectors=[sales])
    john = factory.user("John Smith", sectors=[sales], language="en")
    conn = factory.connection("WhatsApp Loja", sectors=[sales])
    return dict(sales=sales, ana=ana, john=john, conn=conn)


def _page_client(app, user):
    g.pop("_login_user", None)
    client = app.test_client()
    assert client.post("/login", data={"email": user.email, "password": "secret123"}).status_code == 302
    return client


def _same_markup(html: str) -> str:
    """Whitespace between tags and the list filters in links are the page's business."""
    html = re.sub(r'href="(/tickets/\d+)\?[^"]*"', r'href="\1"', html)
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html)).strip()


def test_the_pushed_row_and_bubble_are_the_pages_own(app, world, factory, open_stream):
    stream = open_stream(world["ana"])
    stream.next_frame()
    message = factory.inbound(world["conn"], sender="5511955554444", name="Dona Rosa", text="Vocês entregam hoje?")
    created, posted = stream.next_event(), stream.next_event()
    page = _page_client(app, world["ana"])

    row = page.get(f"/tickets/{message.ticket_id}/row").get_data(as_text=True)
    assert _same_markup(created["data"]["html"]) == _same_markup(row)
    assert "Dona Rosa" in row and "Vocês entregam hoje?" in row and "Vendas" in row

    bubble = page.get(f"/tickets/{message.ticket_id}/messages/{message.id}").get_data(as_text=True)
    assert _same_markup(posted["data"]["html"]) == _same_markup(bubble)

    # An attendant's answer: the bubble names its author, like the page does.
    service.accept_ticket(world["ana"], message.ticket_id)
    sent = outgoing.send_text(world["ana"], message.ticket_id, "Entregamos sim!")
    pushed = [e for e in (stream.next_event() for _ in range(3)) if e["event"] == "message.created"][0]
    bubble = page.get(f"/tickets/{message.ticket_id}/messages/{sent.id}").get_data(as_text=True)
    assert _same_markup(pushed["data"]["html"]) == _same_markup(bubble)
    assert "Ana Lima" in bubble and 'data-status="queued"' in bubble


def test_a_pushed_row_shows_the_contacts_tag_chips_like_the_page(app, world, factory, open_stream):
    from atendimento.contacts.tags import set_contact_tags

    vip, frete = factory.tag("VIP", color="#8e44ad"), factory.tag("Frete grátis", color="#16a085")
    first = factory.inbound(world["conn"], sender="5511955554446", name="Seu Jorge", text="Bom dia")
    service.accept_ticket(world["ana"], first.ticket_id)
    set_contact_tags(world["ana"], first.ticket.contact_id, [vip.id])
    stream = open_stream(world["ana"])
    stream.next_frame()
    # A message on the tagged contact's ticket: the webhook's hot path reads no tags, so the
    # pushed row is the page's row without the chips, which live.js keeps from the shown row.
    factory.inbound(world["conn"], sender="5511955554446", text="Chegou?")
    updated = [e for e in (stream.next_event() for _ in range(2)) if e["event"] == "ticket.updated"][0]
    assert "tags" not in updated["data"]["contact"] and "row-tags" not in updated["data"]["html"]
    page = _page_client(app, world["ana"])
    row = page.get(f"/tickets/{first.ticket_id}/row").get_data(as_text=True)
    assert 'data-tag-color="#8e44ad">VIP</span>' in row
    without_chips = re.sub(r'\s*<span class="row-tags">.*?</span>\s*</span>', "", row, count=1, flags=re.S)
    assert "row-tags" not in without_chips
    assert _same_markup(updated["data"]["html"]) == _same_markup(without_chips)

    # The tags change: every ticket of the contact is pushed again with the new chips.
    set_contact_tags(world["ana"], first.ticket.contact_id, [vip.id, frete.id])
    changed = stream.next_event()
    assert changed["event"] == "ticket.updated" and changed["data"]["changed"] == ["tags"]
    assert [t["name"] for t in changed["data"]["contact"]["tags"]] == ["Frete grátis", "VIP"]
    row = page.get(f"/tickets/{first.ticket_id}/row").get_data(as_text=True)
    assert _same_markup(changed["data"]["html"]) == _same_markup(row) and "Frete grátis" in row


def test_a_pushed_voice_note_shows_its_icon_and_length_like_the_page(app, world, factory, open_stream):
    from io import BytesIO

    from werkzeug.datastructures import FileStorage

    from ..audio_samples import sine_recording

    message = factory.inbound(world["conn"], sender="5511955554445", text="Manda um áudio")
    service.accept_ticket(world["ana"], message.ticket_id)
    stream = open_stream(world["ana"])
    stream.next_frame()
    recording = FileStorage(BytesIO(sine_recording("webm", "libopus", 2.0)), filename="gravacao.webm")
    sent = outgoing.send_media(world["ana"], message.ticket_id, recording, voice=True)
    pushed = [e for e in (stream.next_event() for _ in range(2)) if e["event"] == "message.created"][0]
    bubble = _page_client(app, world["ana"]).get(
        f"/tickets/{message.ticket_id}/messages/{sent.id}").get_data(as_text=True)
    assert _same_markup(pushed["data"]["html"]) == _same_markup(bubble)
    assert "msg-audio-box is-voice" in bubble and '<span class="msg-duration"' in bubble and ">0:02<" in bubble


def test_each_reader_gets_their_own_language(world, factory, open_stream):
    ana, john = open_stream(world["ana"]), open_stream(world["john"])
    for stream in (ana, john):
        stream.next_frame()
    two = factory.connection("Loja 2", sectors=[world["sales"], factory.sector("Suporte")])
    ticket = factory.ticket(two)  # two sectors offered: it waits without one, for admins
    service.transfer_to_sector(factory.admin(), ticket.id, world["sales"].id)
    assert "Vendas" in ana.next_event()["data"]["html"]
    john.next_event()
    world["sales"].name = "Sales"
    db.session.commit()
    factory.inbound(two, sender=ticket.contact.identities[0].external_id, text="hello")
    for_ana, for_john = ana.next_event()["data"]["html"], john.next_event()["data"]["html"]
    assert for_ana != for_john
    assert "Sales" in for_john  # a rename in this process reaches the very next row
    assert "Mensagens não lidas" in for_ana
    assert "Unread messages" in for_john


def test_rendering_an_event_costs_no_query_once_names_are_known(app, world, factory):
    message = factory.inbound(world["conn"], sender="5511955550000", text="Oi")  # waits in Vendas
    ticket = message.ticket
    from atendimento.serializers import message_json, ticket_json

    ticket_data, message_data = ticket_json(ticket), message_json(message)
    fragments.for_event("ticket.updated", ticket_data)  # warms the directory
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        html = fragments.for_event("ticket.updated", ticket_data)
        bubble = fragments.for_event("message.created", message_data)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert statements == []
    assert set(html) == set(app.config["LANGUAGES"]) and "Vendas" in html["pt_BR"]
    assert "Oi" in bubble["en"]


def test_a_failed_message_pushes_a_resend_form_the_page_completes(app, world, factory):
    message = factory.inbound(world["conn"], sender="5511944443333", text="Oi")  # waits in Vendas
    service.accept_ticket(world["ana"], message.ticket_id)
    sent = outgoing.send_text(world["ana"], message.ticket_id, "Olá")
    from atendimento.serializers import message_json
    from atendimento.tickets.statuses import apply_status

    sent.external_id = "ext-1"
    db.session.commit()
    failed = apply_status(world["conn"].id, "ext-1", "failed")
    html = fragments.for_event("message.updated", message_json(failed))["pt_BR"]
    assert "Não entregue: o canal recusou a mensagem." in html
    assert 'class="msg-resend"' in html and 'name="csrf_token" value=""' in html  # no one's session token


def test_html_is_rendered_once_per_language_for_whoever_watches_and_never_for_nobody(
        world, factory, open_stream, monkeypatch):
    renders = []
    real = fragments.for_event

    def counting(name, data, languages=None):
        renders.append((name, tuple(languages or ())))
        return real(name, data, languages)

    monkeypatch.setattr(fragments, "for_event", counting)
    factory.inbound(world["conn"], sender="5511900000009", text="ninguém olhando")
    assert renders == []  # a webhook with no page open pays nothing for HTML

    streams = [open_stream(world["ana"]) for _ in range(3)] + [open_stream(world["john"])]
    for stream in streams:
        stream.next_frame()
    factory.inbound(world["conn"], sender="5511900000010", text="agora sim")
    for stream in streams:
        assert "agora sim" in [stream.next_event() for _ in range(2)][1]["data"]["html"]
    assert sorted(renders) == sorted([("ticket.created", ("pt_BR",)), ("message.created", ("pt_BR",)),
                                      ("ticket.created", ("en",)), ("message.created", ("en",))])
