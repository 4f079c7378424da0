"""The chatbot admin pages: an admin builds a tree of nodes and options; the page shows
it from the start node, and refuses what would trap a contact in a loop."""
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from atendimento.admin import chatbots
from atendimento.extensions import db
from atendimento.models import BotNode, BotOption, Chatbot, Connection
from atendimento.tickets import flow

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def _fresh(model, ident):
    db.session.expire_all()
    return db.session.get(model, ident)


@pytest.fixture
def admin(factory, auth):
    user = factory.admin()
    auth.login(user)
    return user


def _bot(admin, name="Loja"):
    return chatbots.create_chatbot(admin, {"name": name})


def _node(admin, bot, name, message="Olá!"):
    return chatbots.create_node(admin, bot.id, {"name": name, "message": message})


def _option(admin, node, title, action, target=None, **extra):
    data = {"title": title, "action": action, "keyword": extra.get("keyword", ""), "reply": extra.get("reply", "")}
    if action == "node":
        data["target_node_id"] = target.id
    if action == "sector":
        data["target_sector_id"] = target.id
    return chatbots.create_option(admin, node.chatbot_id, node.id, data)


def _node_section(html: str, node) -> str:
    """The HTML of one node's card on the tree page."""
    start = html.rindex("<li", 0, html.index(f'id="node-{node.id}"'))
    return html[start:html.index("</article>", start)]


def _words(html: str) -> str:
    """What a reader sees of a piece of HTML: its text, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


# -- who may see the pages ----------------------------------------------------

def test_chatbot_pages_are_404_to_attendants_and_strangers(factory, client, auth):
    owner = factory.admin()
    bot = _bot(owner)
    node = _node(owner, bot, "Boas-vindas")
    option = _option(owner, node, "Atendente", "human")
    urls = ["/admin/chatbots", "/admin/chatbots/new", f"/admin/chatbots/{bot.id}",
            f"/admin/chatbots/{bot.id}/nodes/new", f"/admin/chatbots/{bot.id}/nodes/{node.id}",
            f"/admin/chatbots/{bot.id}/nodes/{node.id}/options/new", f"/admin/chatbots/{bot.id}/options/{option.id}",
            f"/admin/chatbots/{bot.id}/nodes/{node.id}/file"]
    posts = [("/admin/chatbots/new", {"name": "Invasor"}), (f"/admin/chatbots/{bot.id}/delete", {}),
             (f"/admin/chatbots/{bot.id}/nodes/{node.id}/delete", {}),
             (f"/admin/chatbots/{bot.id}/options/{option.id}/delete", {}),
             (f"/admin/chatbots/{bot.id}/nodes/new", {"name": "X", "message": "x"})]
    for url in urls:
        assert client.get(url).status_code == 404, url
    auth.login(factory.user())
    for url in urls:
        assert client.get(url).status_code == 404, url
    for url, data in posts:
        assert client.post(url, data=data).status_code == 404, url
    db.session.expire_all()
    assert [c.name for c in db.session.query(Chatbot)] == ["Loja"]
    assert db.session.query(BotNode).count() == 1 and db.session.query(BotOption).count() == 1


def test_the_admin_menu_and_overview_link_to_chatbots(client, admin):
    html = _text(client.get("/admin/"))
    assert 'id="nav-chatbots"' in html and "Chatbots" in html
    listing = _text(client.get("/admin/chatbots"))
    assert "Nenhum chatbot ainda." in listing


def test_a_node_or_option_of_another_chatbot_answers_404(client, admin):
    loja, outro = _bot(admin, "Loja"), _bot(admin, "Outro")
    node = _node(admin, outro, "Dele")
    option = _option(admin, node, "Atendente", "human")
    assert client.get(f"/admin/chatbots/{loja.id}/nodes/{node.id}").status_code == 404
    assert client.get(f"/admin/chatbots/{loja.id}/options/{option.id}").status_code == 404
    assert client.post(f"/admin/chatbots/{loja.id}/nodes/{node.id}/delete").status_code == 404
    assert _fresh(BotNode, node.id) is not None


# -- building a tree ------------------------------------------------------------

def test_admin_builds_a_tree_and_the_page_shows_it_from_the_start(factory, client, admin):
    financeiro = factory.sector("Financeiro", color="#9b51e0")

    created = client.post("/admin/chatbots/new", data={"name": "Loja"}, follow_redirects=True)
    assert "Chatbot Loja criado." in _text(created)
    bot = db.session.query(Chatbot).one()
    assert "Nenhum nó ainda." in _text(created)

    duplicate = client.post("/admin/chatbots/new", data={"name": "loja"})
    assert duplicate.status_code == 409 and "Já existe um chatbot chamado loja." in _text(duplicate)

    client.post(f"/admin/chatbots/{bot.id}/nodes/new", data={"name": "Boas-vindas", "message": "Olá! Como ajudar?"})
    client.post(f"/admin/chatbots/{bot.id}/nodes/new", data={"name": "Boletos", "message": "Sobre boletos:"})
    root, boletos = db.session.query(BotNode).order_by(BotNode.position).all()

    def add(node, title, destination, **extra):
        response = client.post(f"/admin/chatbots/{bot.id}/nodes/{node.id}/options/new",
                               data={"title": title, "destination": destination, **extra})
        assert response.status_code == 302, _text(response)

    add(root, "Boletos", f"node:{boletos.id}", keyword="boleto")
    add(root, "Falar com alguém", "human")
    add(boletos, "Segunda via", f"sector:{financeiro.id}", reply="Um momento!")
    add(boletos, "Era só isso", "close", reply="Até logo!")

    page = client.get(f"/admin/chatbots/{bot.id}")
    assert page.status_code == 200
    html = _text(page)
    assert html.index(f'id="node-{root.id}"') < html.index(f'id="node-{boletos.id}"')
    first = _words(_node_section(html, root))
    assert first.startswith("Início Boas-vindas Editar Olá! Como ajudar?"), first
    assert "1 1. Boletos boleto → nó Boletos" in first
    assert "2 2. Falar com alguém → atendentes" in first
    assert "Voltar ao início" not in first, "the start has no 0"
    second = _node_section(html, boletos)
    assert 'data-depth="1"' in second, "drawn under the option that leads to it"
    second = _words(second)
    assert "1 1. Segunda via → setor Financeiro “Um momento!”" in second
    assert "2 2. Era só isso → encerra “Até logo!”" in second
    assert "0 Voltar ao início (oferecida automaticamente)" in second
    assert "Não alcançável" not in html

    # What the engine reads is what the page shows: option 1 of the start leads to Boletos.
    db.session.expire_all()
    assert flow.trapped_nodes(bot) == []
    assert [(o.title, o.action, o.target_node_id) for o in _fresh(BotNode, root.id).options] == [
        ("Boletos", "node", boletos.id), ("Falar com alguém", "human", None)]
    assert [(o.action, o.target_sector_id, o.reply) for o in _fresh(BotNode, boletos.id).options] == [
        ("sector", financeiro.id, "Um momento!"), ("close", None, "Até logo!")]

    listing = _text(client.get("/admin/chatbots"))
    assert re.search(r"Loja</a></td> <td class=\"num\">2</td>", listing)


def test_option_form_explains_mistakes(factory, client, admin):
    bot, other = _bot(admin, "Loja"), _bot(admin, "Outro")
    node = _node(admin, bot, "Início")
    foreign = _node(admin, other, "Alheio")
    _option(admin, node, "Financeiro", "human", keyword="boleto")
    url = f"/admin/chatbots/{bot.id}/nodes/{node.id}/options/new"

    empty = client.post(url, data={"title": "", "destination": ""})
    assert empty.status_code == 422
    page = _text(empty)
    assert "Obrigatório." in page and "Escolha para onde esta opção leva." in page

    long = client.post(url, data={"title": "x" * 81, "destination": "human"})
    assert "No máximo 80 caracteres." in _text(long)

    elsewhere = client.post(url, data={"title": "Alheio", "destination": f"node:{foreign.id}"})
    assert elsewhere.status_code == 422 and "Escolha um nó deste chatbot." in _text(elsewhere)

    no_sector = client.post(url, data={"title": "Vendas", "destination": "sector:9999"})
    assert no_sector.status_code == 422 and "Setor desconhecido." in _text(no_sector)

    number = client.post(url, data={"title": "Vendas", "keyword": "2", "destination": "human"})
    assert "Os números já são das opções; use uma palavra." in _text(number)

    same = client.post(url, data={"title": "BOLETO", "destination": "human"})
    assert "A opção Financeiro já responde a isto." in _text(same)
    assert 'value="BOLETO"' in same.get_data(as_text=True), "what was typed stays in the form"
    assert len(_fresh(BotNode, node.id).options) == 1


def test_a_node_needs_a_name_and_a_message_or_a_file(client, admin):
    bot = _bot(admin)
    refused = client.post(f"/admin/chatbots/{bot.id}/nodes/new", data={"name": "", "message": ""})
    assert refused.status_code == 422
    page = _text(refused)
    assert "Obrigatório." in page and "Obrigatório: o texto que o contato recebe (ou anexe um arquivo)." in page
    assert db.session.query(BotNode).count() == 0


def test_a_node_file_is_stored_shown_replaced_and_removed(app, client, admin):
    bot = _bot(admin)
    created = client.post(f"/admin/chatbots/{bot.id}/nodes/new", content_type="multipart/form-data",
                          data={"name": "Cardápio", "message": "",
                                "file": (io.BytesIO(PNG), "cardapio.png", "image/png")})
    assert created.status_code == 302, _text(created)
    node = db.session.query(BotNode).one()
    assert (node.media_mime, node.media_name, node.media_size) == ("image/png", "cardapio.png", len(PNG))
    first_path = Path(app.config["MEDIA_DIR"]) / node.media_path
    assert first_path.read_bytes() == PNG

    page = _text(client.get(f"/admin/chatbots/{bot.id}"))
    assert "cardapio.png" in page
    served = client.get(f"/admin/chatbots/{bot.id}/nodes/{node.id}/file")
    assert served.status_code == 200 and served.data == PNG and served.mimetype == "image/png"

    pdf = b"%PDF-1.4 cardapio"
    client.post(f"/admin/chatbots/{bot.id}/nodes/{node.id}", content_type="multipart/form-data",
                data={"name": "Cardápio", "message": "Nosso cardápio",
                      "file": (io.BytesIO(pdf), "cardapio.pdf", "application/pdf")})
    node = _fresh(BotNode, node.id)
    assert (node.media_mime, node.media_name) == ("application/pdf", "cardapio.pdf")
    assert not first_path.exists(), "the replaced file no message used is gone"

    no_text = client.post(f"/admin/chatbots/{bot.id}/nodes/{node.id}",
                          data={"name": "Cardápio", "message": "", "remove_file": "1"})
    assert no_text.status_code == 422, "without the file the message is required"
    client.post(f"/admin/chatbots/{bot.id}/nodes/{node.id}",
                data={"name": "Cardápio", "message": "Sem arquivo agora", "remove_file": "1"})
    node = _fresh(BotNode, node.id)
    assert node.media_path is None and node.message == "Sem arquivo agora"
    assert client.get(f"/admin/chatbots/{bot.id}/nodes/{node.id}/file").status_code == 404


# -- the rule: no node without a way out ------------------------------------------

def test_a_change_that_leaves_a_loop_with_no_way_out_is_refused(client, admin):
    bot = _bot(admin)
    menu, duvidas = _node(admin, bot, "Menu"), _node(admin, bot, "Dúvidas")
    _option(admin, menu, "Dúvidas", "node", duvidas)

    # Dúvidas → Menu while Menu only leads to Dúvidas: nobody could ever leave.
    refused = client.post(f"/admin/chatbots/{bot.id}/nodes/{duvidas.id}/options/new",
                          data={"title": "Voltar", "destination": f"node:{menu.id}"})
    assert refused.status_code == 409
    assert "Esta alteração cria um ciclo sem saída: Menu, Dúvidas." in _text(refused)
    assert _fresh(BotNode, duvidas.id).options == [], "rolled back"

    human = _option(admin, menu, "Atendente", "human")
    allowed = client.post(f"/admin/chatbots/{bot.id}/nodes/{duvidas.id}/options/new",
                          data={"title": "Voltar", "destination": f"node:{menu.id}"})
    assert allowed.status_code == 302

    # Now the attendant option is the loop's only exit: it can neither go nor turn into a loop.
    deleted = client.post(f"/admin/chatbots/{bot.id}/options/{human.id}/delete", follow_redirects=True)
    assert "Esta alteração cria um ciclo sem saída" in _text(deleted)
    assert _fresh(BotOption, human.id) is not None
    edited = client.post(f"/admin/chatbots/{bot.id}/options/{human.id}",
                         data={"title": "Atendente", "destination": f"node:{duvidas.id}"})
    assert edited.status_code == 409 and "ciclo sem saída" in _text(edited)
    assert _fresh(BotOption, human.id).action == "human"

    # A sector works as an exit as well as humans do.
    assert flow.trapped_nodes(_fresh(Chatbot, bot.id)) == []


def test_deleting_a_node_sends_the_options_that_led_there_to_the_attendants(client, admin):
    bot = _bot(admin)
    menu, vendas = _node(admin, bot, "Menu"), _node(admin, bot, "Vendas")
    to_vendas = _option(admin, menu, "Comprar", "node", vendas)
    _option(admin, vendas, "Atendente", "human")

    confirm = _text(client.get(f"/admin/chatbots/{bot.id}/nodes/{vendas.id}"))
    assert "1 opção leva a este nó. Depois da exclusão, ela leva aos atendentes:" in confirm
    assert "Comprar, em Menu" in confirm
    assert "Excluir o nó Vendas? 1 opção que leva a ele passará a levar aos atendentes." in confirm

    done = client.post(f"/admin/chatbots/{bot.id}/nodes/{vendas.id}/delete", follow_redirects=True)
    assert "Nó Vendas excluído." in _text(done)
    assert _fresh(BotNode, vendas.id) is None
    option = _fresh(BotOption, to_vendas.id)
    assert option.target_node_id is None, "the foreign key set it to NULL"
    assert "Comprar → atendentes" in _words(_node_section(_text(done), menu))


def test_nodes_no_option_reaches_are_listed_apart(client, admin):
    bot = _bot(admin)
    menu = _node(admin, bot, "Menu")
    _option(admin, menu, "Atendente", "human")
    orphan = _node(admin, bot, "Esquecido")
    html = _text(client.get(f"/admin/chatbots/{bot.id}"))
    assert html.index("Não alcançável") < html.index(f'id="node-{orphan.id}"')
    assert html.index(f'id="node-{menu.id}"') < html.index("Não alcançável")


# -- order ------------------------------------------------------------------------

def test_options_and_nodes_are_reordered_with_up_and_down(client, admin):
    bot = _bot(admin)
    menu, outro = _node(admin, bot, "Menu"), _node(admin, bot, "Outro")
    a = _option(admin, menu, "Alfa", "human")
    b = _option(admin, menu, "Beta", "close")
    _option(admin, outro, "Gama", "human")

    moved = client.post(f"/admin/chatbots/{bot.id}/options/{b.id}/move", data={"direction": "up"})
    assert moved.status_code == 302 and moved.location.endswith(f"#node-{menu.id}")
    assert [o.title for o in _fresh(BotNode, menu.id).options] == ["Beta", "Alfa"]
    html = _text(client.get(f"/admin/chatbots/{bot.id}"))
    assert re.search(r"1 1\. Beta .* 2 2\. Alfa", _words(_node_section(html, menu)))
    client.post(f"/admin/chatbots/{bot.id}/options/{b.id}/move", data={"direction": "up"})  # already first
    assert [o.id for o in _fresh(BotNode, menu.id).options] == [b.id, a.id]

    # The first node is the start: moving Outro up makes it where conversations begin.
    client.post(f"/admin/chatbots/{bot.id}/nodes/{outro.id}/move", data={"direction": "up"})
    db.session.expire_all()
    assert [n.name for n in _fresh(Chatbot, bot.id).nodes] == ["Outro", "Menu"]
    html = _text(client.get(f"/admin/chatbots/{bot.id}"))
    assert "Início" in _node_section(html, outro) and "Início" not in _node_section(html, menu)
    assert "Não alcançável" in html, "nothing leads from Outro to Menu"

    bad = client.post(f"/admin/chatbots/{bot.id}/nodes/{outro.id}/move", data={"direction": "sideways"},
                      follow_redirects=True)
    assert "Escolha uma destas opções: up, down." in _text(bad)


# -- deleting and renaming a chatbot ------------------------------------------------

def test_a_chatbot_a_connection_uses_cannot_be_deleted(factory, client, admin):
    bot = _bot(admin)
    _node(admin, bot, "Menu")
    factory.connection("WhatsApp Loja", flow="chatbot", chatbot_id=bot.id)

    refused = client.post(f"/admin/chatbots/{bot.id}/delete", follow_redirects=True)
    assert "Loja é usado por WhatsApp Loja. Escolha antes outro fluxo ou outro chatbot para elas." in _text(refused)
    assert _fresh(Chatbot, bot.id) is not None
    assert "WhatsApp Loja" in _text(client.get("/admin/chatbots"))

    connection = db.session.query(Connection).one()
    connection.flow, connection.chatbot_id = "human", None
    db.session.commit()
    done = client.post(f"/admin/chatbots/{bot.id}/delete", follow_redirects=True)
    assert "Chatbot Loja excluído." in _text(done)
    assert db.session.query(Chatbot).count() == 0 and db.session.query(BotNode).count() == 0


def test_renaming_a_chatbot(client, admin):
    bot, _other = _bot(admin, "Loja"), _bot(admin, "Matriz")
    taken = client.post(f"/admin/chatbots/{bot.id}", data={"name": "MATRIZ"})
    assert taken.status_code == 409 and "Já existe um chatbot chamado MATRIZ." in _text(taken)
    client.post(f"/admin/chatbots/{bot.id}", data={"name": "Loja Centro"})
    assert _fresh(Chatbot, bot.id).name == "Loja Centro"


# -- forms carry the CSRF token ----------------------------------------------------

class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms, self._current = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self._current = {"action": attrs.get("action"), "csrf": False}
            self.forms.append(self._current)
        if tag == "input" and self._current is not None and attrs.get("name") == "csrf_token" and attrs.get("value"):
            self._current["csrf"] = True

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def test_every_form_on_the_chatbot_pages_carries_the_csrf_token(factory, client, admin):
    sector = factory.sector("Vendas")
    bot = _bot(admin)
    menu, vendas = _node(admin, bot, "Menu"), _node(admin, bot, "Vendas")
    option = _option(admin, menu, "Vendas", "node", vendas)
    _option(admin, menu, "Setor", "sector", sector)
    for url in ("/admin/chatbots/new", f"/admin/chatbots/{bot.id}", f"/admin/chatbots/{bot.id}/nodes/new",
                f"/admin/chatbots/{bot.id}/nodes/{menu.id}", f"/admin/chatbots/{bot.id}/nodes/{menu.id}/options/new",
                f"/admin/chatbots/{bot.id}/options/{option.id}"):
        parser = _Forms()
        parser.feed(client.get(url).get_data(as_text=True))
        assert parser.forms, url
        assert all(form["csrf"] for form in parser.forms), (url, parser.forms)


# -- the read-only API ---------------------------------------------------------------

def test_api_lists_chatbots_with_their_tree_to_admins_only(factory, admin, api):
    sector = factory.sector("Vendas")
    bot = _bot(admin)
    menu, fim = _node(admin, bot, "Menu"), _node(admin, bot, "Fim")
    _option(admin, menu, "Vendas", "sector", sector, keyword="comprar")
    _option(admin, menu, "Fim", "node", fim)
    connection = factory.connection("Zap", flow="chatbot", chatbot_id=bot.id)

    body = api(admin).get("/chatbots").json
    assert [b["name"] for b in body["items"]] == ["Loja"] and body["next"] is None
    tree = body["items"][0]
    assert tree["connection_ids"] == [connection.id]
    assert [n["name"] for n in tree["nodes"]] == ["Menu", "Fim"]
    assert [(o["number"], o["title"], o["keyword"], o["action"], o["target_sector_id"], o["target_node_id"])
            for o in tree["nodes"][0]["options"]] == [
        (1, "Vendas", "comprar", "sector", sector.id, None), (2, "Fim", "", "node", None, fim.id)]
    assert api(admin).get(f"/chatbots/{bot.id}").json["id"] == bot.id
    assert api(admin).get("/chatbots/999").status_code == 404
    assert api(factory.user()).get("/chatbots").status_code == 404
