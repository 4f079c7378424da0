"""The Atendimento page through the test client, on SQLite and PostgreSQL."""
import re

import pytest

from atendimento.extensions import db
from atendimento.models import Message, Ticket
from atendimento.tickets import service

from .channels.helpers import provider  # noqa: F401  (fixture)


@pytest.fixture
def team(factory):
    """Suporte with Ana and Bruno, one WhatsApp connection routing to it."""
    suporte = factory.sector("Suporte", color="#2f80ed")
    ana = factory.user("Ana Lima", sectors=[suporte])
    bruno = factory.user("Bruno Costa", sectors=[suporte])
    connection = factory.connection("WhatsApp Loja", sectors=[suporte])
    return suporte, ana, bruno, connection


def _html(response) -> str:
    return response.get_data(as_text=True)


def _count(html: str, tab: str) -> int:
    return int(re.search(rf'id="count-{tab}">(\d+)<', html).group(1))


def _row_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li class="ticket-row[^"]*"\s+data-ticket-id="(\d+)"', html)]


def _fresh(ticket_id) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


# -- the tabs ---------------------------------------------------------------

def test_tabs_show_counts_and_rows(client, factory, auth, team):
    _suporte, ana, bruno, connection = team
    waiting = factory.ticket(connection, text="Quero um orçamento")
    also_waiting = factory.ticket(connection)
    mine = factory.ticket(connection, status="open", assignee=ana)
    theirs = factory.ticket(connection, status="open", assignee=bruno)
    closed = factory.ticket(connection, status="closed", assignee=ana)
    auth.login(ana)

    html = _html(client.get("/tickets"))
    assert (_count(html, "pending"), _count(html, "open"), _count(html, "closed")) == (2, 2, 1)
    assert set(_row_ids(html)) == {waiting.id, also_waiting.id}
    assert "Quero um orçamento" in html
    assert f'data-ticket-id="{waiting.id}" data-status="pending"' in html
    assert 'data-sector-color="#2f80ed"' in html  # static/js/colors.js paints it
    assert '<span class="unread-badge"' in html

    mine_html = _html(client.get("/tickets?tab=open"))  # Meus by default
    assert _row_ids(mine_html) == [mine.id]
    assert 'id="count-mine">1<' in mine_html
    all_html = _html(client.get("/tickets?tab=open&view=all"))
    assert set(_row_ids(all_html)) == {mine.id, theirs.id}
    assert "Bruno Costa" in all_html  # the assignee on the row

    assert _row_ids(_html(client.get("/tickets?tab=closed"))) == [closed.id]


def test_closed_tab_is_searchable_and_paginated(app, client, factory, auth, team):
    _suporte, ana, _bruno, connection = team
    app.config["TICKETS_PAGE_SIZE"] = 2
    names = ["Carla Dias", "Davi Melo", "Elisa Reis"]
    for i, name in enumerate(names):
        ticket = factory.inbound(connection, sender=f"55119000000{i}", name=name).ticket
        service.accept_ticket(ana, ticket.id)
        service.close_ticket(ana, ticket.id)
    auth.login(ana)

    first = _html(client.get("/tickets?tab=closed"))
    assert len(_row_ids(first)) == 2
    next_url = re.search(r'id="next-page" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = _html(client.get(next_url))
    assert len(_row_ids(second)) == 1
    assert len(set(_row_ids(first) + _row_ids(second))) == 3
    assert 'id="next-page"' not in second

    found = _html(client.get("/tickets?tab=closed&q=davi"))
    assert len(_row_ids(found)) == 1 and "Davi Melo" in found
    assert "Elisa Reis" not in found


def test_contact_names_are_escaped(client, factory, auth, team):
    _suporte, ana, _bruno, connection = team
    factory.inbound(connection, sender="5511911112222", name="<script>alert(1)</script>", text="<b>oi</b>")
    auth.login(ana)
    html = _html(client.get("/tickets"))
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>oi</b>" not in html


# -- reading a conversation ---------------------------------------------------

def test_peek_shows_messages_read_only_and_leaves_the_ticket_alone(client, factory, auth, team):
    _suporte, ana, _bruno, connection = team
    factory.inbound(connection, sender="5511988887777", name="Maria", text="Oi")
    ticket = factory.inbound(connection, sender="5511988887777", text="Meu pedido não chegou").ticket
    auth.login(ana)

    html = _html(client.get(f"/tickets/{ticket.id}?peek=1"))
    assert "Modo espiar" in html
    assert "Meu pedido não chegou" in html
    # No answering while peeking: only a note for the team (SPEC §6.1: any status).
    assert 'id="btn-attach"' not in html and "composer-notes-only" in html
    assert f'action="/tickets/{ticket.id}/accept"' in html
    ticket = _fresh(ticket.id)
    assert (ticket.status, ticket.unread, ticket.user_id) == ("pending", 2, None)


def test_the_assignee_opening_the_ticket_resets_unread(client, factory, auth, team):
    _suporte, ana, _bruno, connection = team
    ticket = factory.ticket(connection, status="open", assignee=ana, sender="5511977776666")
    factory.inbound(connection, sender="5511977776666", text="Alguém aí?")
    assert _fresh(ticket.id).unread == 2
    auth.login(ana)

    html = _html(client.get(f"/tickets/{ticket.id}"))
    assert 'id="composer"' in html and "Alguém aí?" in html
    assert _fresh(ticket.id).unread == 0


def test_someone_else_reading_an_open_ticket_keeps_its_unread(client, factory, auth, team):
    _suporte, ana, bruno, connection = team
    ticket = factory.ticket(connection, status="open", assignee=bruno)
    auth.login(ana)
    html = _html(client.get(f"/tickets/{ticket.id}"))
    assert 'id="btn-attach"' not in html and "composer-notes-only" in html  # a note, not an answer
    assert "Bruno Costa está atendendo este ticket" in html
    assert _fresh(ticket.id).unread == 1


# -- actions ------------------------------------------------------------------

def test_accepting_a_ticket_someone_took_names_them(client, factory, auth, team):
    _suporte, ana, bruno, connection = team
    ticket = factory.ticket(connection)
    auth.login(ana)
    service.accept_ticket(bruno, ticket.id)  # Bruno was quicker

    response = client.post(f"/tickets/{ticket.id}/accept")
    assert response.status_code == 303
    html = _html(client.get(response.headers["Location"]))
    assert f"O ticket #{ticket.id} já está sendo atendido por Bruno Costa." in html
    assert 'class="flash flash-error"' in html
    assert _fresh(ticket.id).user_id == bruno.id


def test_accept_close_reopen_move_the_ticket_between_tabs(client, factory, auth, team):
    _suporte, ana, _bruno, connection = team
    ticket = factory.ticket(connection)
    auth.login(ana)

    response = client.post(f"/tickets/{ticket.id}/accept", follow_redirects=True)
    html = _html(response)
    assert "Ticket aceito" in html and 'id="tab-open" class="tab is-active"' in html
    assert (_count(html, "pending"), _count(html, "open")) == (0, 1)

    html = _html(client.post(f"/tickets/{ticket.id}/close", follow_redirects=True))
    assert 'id="tab-closed" class="tab is-active"' in html and _count(html, "closed") == 1
    assert 'id="btn-reopen"' in html

    html = _html(client.post(f"/tickets/{ticket.id}/reopen", follow_redirects=True))
    assert _fresh(ticket.id).status == "open" and _count(html, "open") == 1
    assert "Ana Lima reabriu" in html  # the timeline


def test_an_empty_message_is_refused_with_a_flash(client, factory, auth, team):
    _suporte, ana, _bruno, connection = team
    ticket = factory.ticket(connection, status="open", assignee=ana)
    auth.login(ana)

    html = _html(client.post(f"/tickets/{ticket.id}/messages", data={"text": "   \n "}, follow_redirects=True))
    assert "A mensagem está vazia." in html
    assert db.session.query(Message).filter_by(ticket_id=ticket.id, direction="out").count() == 0


def test_a_message_is_stored_queued_and_shown(client, factory, auth, team):
    _suporte, ana, _bruno, connection = team
    ticket = factory.ticket(connection, status="open", assignee=ana)
    auth.login(ana)

    html = _html(client.post(f"/tickets/{ticket.id}/messages", data={"text": "Bom dia!\nTudo bem?"},
                             follow_redirects=True))
    message = db.session.query(Message).filter_by(ticket_id=ticket.id, direction="out").one()
    assert (message.body, message.status) == ("Bom dia!\nTudo bem?", "queued")
    assert f'data-message-id="{message.id}" data-status="queued"' in html
    assert 'class="msg-status status-queued"' in html and "⏱" in html


def test_transfer_to_another_sector_sends_it_back_to_waiting(client, factory, auth, team):
    suporte, ana, _bruno, connection = team
    vendas = factory.sector("Vendas")
    ticket = factory.ticket(connection, status="open", assignee=ana)
    auth.login(ana)

    response = client.post(f"/tickets/{ticket.id}/transfer", data={"sector_id": vendas.id, "user_id": "",
                                                                   "connection_id": ""})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/tickets")  # Ana no longer sees it
    ticket = _fresh(ticket.id)
    assert (ticket.status, ticket.sector_id, ticket.user_id) == ("pending", vendas.id, None)


def test_tags_form_replaces_the_contact_tags(client, factory, auth, team):
    _suporte, ana, _bruno, connection = team
    vip, atacado = factory.tag("VIP"), factory.tag("Atacado")
    ticket = factory.ticket(connection, status="open", assignee=ana)
    auth.login(ana)

    html = _html(client.post(f"/tickets/{ticket.id}/tags", data={"tag_ids": [vip.id, atacado.id]},
                             follow_redirects=True))
    assert "Etiquetas salvas." in html
    assert {t.name for t in _fresh(ticket.id).contact.tags} == {"VIP", "Atacado"}


def test_a_ticket_outside_the_users_sight_is_404_everywhere(client, factory, auth, team):
    _suporte, ana, _bruno, _connection = team
    financeiro = factory.sector("Financeiro")
    other = factory.connection("Financeiro", sectors=[financeiro])
    hidden = factory.ticket(other)
    auth.login(ana)

    assert client.get(f"/tickets/{hidden.id}").status_code == 404
    assert client.get(f"/tickets/{hidden.id}?peek=1").status_code == 404
    assert client.get("/tickets/999999").status_code == 404
    for action, data in [("accept", {}), ("close", {}), ("reopen", {}), ("transfer", {"sector_id": financeiro.id}),
                         ("messages", {"text": "oi"}), ("tags", {"tag_ids": []})]:
        assert client.post(f"/tickets/{hidden.id}/{action}", data=data).status_code == 404, action
    hidden = _fresh(hidden.id)
    assert (hidden.status, hidden.user_id, hidden.sector_id) == ("pending", None, financeiro.id)
    assert db.session.query(Message).filter_by(ticket_id=hidden.id, direction="out").count() == 0


# -- the frame: top bar, login, logout, CSRF ----------------------------------

def test_top_bar_names_the_user_and_links_admin_only_when_it_exists(app, client, factory, auth, team):
    _suporte, ana, _bruno, _connection = team
    boss = factory.admin("Chefe", email="chefe@example.com")
    has_admin = "admin.index" in app.view_functions

    auth.login(ana)
    html = _html(client.get("/tickets"))
    assert "Ana Lima" in html and 'action="/logout"' in html
    assert ">Administração<" not in html
    auth.logout()

    auth.login(boss)
    assert (">Administração<" in _html(client.get("/tickets"))) is has_admin


def test_live_js_is_included_only_when_present(app, client, auth, team):
    from pathlib import Path

    auth.login(team[1])
    html = _html(client.get("/tickets"))
    present = (Path(app.static_folder) / "js" / "live.js").is_file()
    assert ('src="/static/js/live.js"' in html) is present
    assert '<script src="/static/js/tickets.js" defer>' in html


def test_pages_need_a_login(client):
    response = client.get("/tickets")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_logout_requires_post(client, auth, team):
    auth.login(team[1])
    assert client.get("/logout").status_code == 405
    assert client.get("/tickets").status_code == 200  # still logged in
    response = client.post("/logout")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert client.get("/tickets").status_code == 302


def test_an_inactive_user_cannot_log_in(client, factory):
    gone = factory.user("Ex Funcionário", active=False)
    response = client.post("/login", data={"email": gone.email, "password": "secret123"})
    assert response.status_code == 401
    assert "E-mail ou senha inválidos." in _html(response)
    assert client.get("/tickets").status_code == 302


def test_failed_logins_are_rate_limited(client, factory):
    ana = factory.user("Ana Lima")
    for _ in range(5):
        assert client.post("/login", data={"email": ana.email, "password": "errada123"}).status_code == 401
    response = client.post("/login", data={"email": ana.email, "password": "secret123"})
    assert response.status_code == 429
    assert "Muitas tentativas" in _html(response)
    assert client.get("/tickets").status_code == 302


def test_with_csrf_enabled_a_post_without_token_is_refused(app, client, factory, team):
    _suporte, ana, _bruno, connection = team
    ticket = factory.ticket(connection)
    app.config["WTF_CSRF_ENABLED"] = True

    assert client.post("/login", data={"email": ana.email, "password": "secret123"}).status_code == 400
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', _html(client.get("/login"))).group(1)
    assert client.post("/login", data={"email": ana.email, "password": "secret123",
                                       "csrf_token": token}).status_code == 302

    response = client.post(f"/tickets/{ticket.id}/accept")
    assert response.status_code == 400
    assert "Formulário recusado" in _html(response)
    assert _fresh(ticket.id).status == "pending"
    assert client.post("/logout").status_code == 400  # logout is a form too

    page = _html(client.get(f"/tickets/{ticket.id}"))
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    assert client.post(f"/tickets/{ticket.id}/accept", data={"csrf_token": token}).status_code == 302
    assert _fresh(ticket.id).status == "open"


def test_every_form_on_the_page_carries_the_csrf_token(app, client, factory, auth, team):
    _suporte, ana, _bruno, connection = team
    factory.tag("VIP")
    ticket = factory.ticket(connection, status="open", assignee=ana)
    auth.login(ana)
    html = _html(client.get(f"/tickets/{ticket.id}"))
    post_forms = re.findall(r'<form[^>]*method="post"[^>]*>(.*?)</form>', html, flags=re.S)
    assert len(post_forms) >= 5  # logout, close, transfer, composer, tags
    assert all('name="csrf_token"' in form for form in post_forms)


def test_row_and_message_fragments_for_live_updates(client, factory, auth, team):
    _suporte, ana, _bruno, connection = team
    ticket = factory.ticket(connection, text="Chegou agora")
    message = db.session.query(Message).filter_by(ticket_id=ticket.id).one()
    hidden = factory.ticket(factory.connection("Outra", sectors=[factory.sector("Financeiro")]))
    auth.login(ana)

    row = _html(client.get(f"/tickets/{ticket.id}/row"))
    assert row.lstrip().startswith('<li class="ticket-row') and f'data-ticket-id="{ticket.id}"' in row
    assert "Chegou agora" in row
    bubble = _html(client.get(f"/tickets/{ticket.id}/messages/{message.id}"))
    assert f'data-message-id="{message.id}"' in bubble and "Chegou agora" in bubble

    hidden_message = db.session.query(Message).filter_by(ticket_id=hidden.id).one()
    assert client.get(f"/tickets/{hidden.id}/row").status_code == 404
    assert client.get(f"/tickets/{hidden.id}/messages/{hidden_message.id}").status_code == 404
    assert client.get(f"/tickets/{ticket.id}/messages/{hidden_message.id}").status_code == 404


# -- the bot on the Atendimento page ------------------------------------------------

def _words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_a_ticket_the_bot_handles_shows_the_bot_badge_and_its_messages(client, factory, auth):
    suporte, vendas = factory.sector("Suporte", position=1), factory.sector("Vendas", position=2)
    connection = factory.connection("WhatsApp Loja", flow="menu", greeting="Olá!", sectors=[suporte, vendas])
    admin = factory.admin()
    waiting = factory.inbound(connection, sender="5511900000001", text="Oi").ticket
    human = factory.ticket(factory.connection("Direto", sectors=[suporte]))
    auth.login(admin)

    listing = _html(client.get("/tickets?tab=pending"))
    rows = {m.group(1): m.group(0) for m in re.finditer(r'data-ticket-id="(\d+)".*?</li>', listing, re.S)}
    assert 'class="bot-badge"' in rows[str(waiting.id)]
    assert 'class="bot-badge"' not in rows[str(human.id)]

    page = _html(client.get(f"/tickets/{waiting.id}?peek=1"))
    header = page[page.index('<header class="conv-header">'):page.index("</header>", page.index("conv-header"))]
    assert '<span class="bot-badge" id="conv-bot-badge"' in header
    assert "banner-bot" not in page, "peeking shows its own banner"
    bot_message = re.search(r'<div class="msg msg-out msg-bot[^"]*".*?</div>\s*</div>', page, re.S).group(0)
    assert 'class="bot-chip"' in bot_message
    assert "1 - Suporte" in bot_message and "2 - Vendas" in bot_message

    banner = _words(_html(client.get(f"/tickets/{waiting.id}")))
    assert "O bot está conversando com este contato (menu de setores). Atender o ticket o interrompe na hora." in banner

    service.accept_ticket(admin, waiting.id)  # a human takes over: the badge goes
    opened = _html(client.get(f"/tickets/{waiting.id}?tab=open"))
    assert 'id="conv-bot-badge"' not in opened and "bot-badge" not in opened


def test_the_timeline_tells_what_the_bot_did(client, factory, auth, provider):
    from atendimento.admin import chatbots
    from atendimento.outbox import deliver_due

    provider.on("POST", "/send", lambda request, _match: (200, {"id": f"gw-{request.json['id']}"}))
    gateway = {"outbound_url": provider.url + "/send"}
    admin = factory.admin()
    suporte, vendas = factory.sector("Suporte", position=1), factory.sector("Vendas", position=2)
    menu = factory.connection("Menu", flow="menu", sectors=[suporte, vendas], bot_max_invalid=1, settings=gateway)
    bot = chatbots.create_chatbot(admin, {"name": "Loja"})
    root = chatbots.create_node(admin, bot.id, {"name": "Início", "message": "Escolha:"})
    chatbots.create_option(admin, bot.id, root.id, {"title": "Encerrar", "action": "close", "reply": "Tchau!"})
    chatbot = factory.connection("Chatbot", flow="chatbot", chatbot_id=bot.id, settings=gateway)

    def say(connection, sender, text):
        """The contact writes once the bot's last words reached them (as a person would)."""
        ticket = factory.inbound(connection, sender=sender, text=text).ticket
        deliver_due()
        return ticket

    routed = say(menu, "5511900000011", "Oi")
    say(menu, "5511900000011", "2")
    handed = say(menu, "5511900000012", "Oi")
    say(menu, "5511900000012", "banana")
    closed = say(chatbot, "5511900000013", "Oi")
    say(chatbot, "5511900000013", "1")
    auth.login(admin)

    assert "Bot encaminhou para o setor Vendas" in _words(_html(client.get(f"/tickets/{routed.id}")))
    assert "Bot passou para os atendentes (respostas inválidas)" in _words(_html(client.get(f"/tickets/{handed.id}")))
    timeline = _words(_html(client.get(f"/tickets/{closed.id}?tab=closed")))
    assert "Bot encerrou" in timeline and "Sistema encerrou" not in timeline
    assert _fresh(closed.id).status == "closed"
