"""The /admin pages: forms that save through the service, messages in Portuguese,
404 to anyone but an admin."""
import re

import pytest

from atendimento.extensions import db
from atendimento.models import Connection, QuickReply, Sector, Tag, Ticket, User

ADMIN_PAGES = ["/admin/", "/admin/sectors", "/admin/sectors/new", "/admin/users", "/admin/users/new",
               "/admin/connections", "/admin/connections/new", "/admin/connections/new?kind=telegram",
               "/admin/tags", "/admin/tags/new", "/admin/quick-replies", "/admin/quick-replies/new"]


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_every_admin_page_is_404_to_attendants_and_strangers(factory, client, auth):
    sector = factory.sector()
    user = factory.user(sectors=[sector])
    for url in ADMIN_PAGES + [f"/admin/sectors/{sector.id}"]:
        assert client.get(url).status_code == 404, url
    auth.login(user)
    for url in ADMIN_PAGES + [f"/admin/sectors/{sector.id}", f"/admin/users/{user.id}"]:
        assert client.get(url).status_code == 404, url
    assert client.post("/admin/sectors/new", data={"name": "Invasores"}).status_code == 404
    assert client.post(f"/admin/sectors/{sector.id}/delete").status_code == 404
    assert db.session.query(Sector).count() == 1


def test_admin_pages_render(factory, client, auth):
    admin = factory.admin()
    sector = factory.sector()
    connection = factory.connection(kind="whatsapp_cloud", settings={"phone_number_id": "1", "access_token": "x" * 20})
    tag = factory.tag()
    auth.login(admin)
    for url in ADMIN_PAGES + [f"/admin/sectors/{sector.id}", f"/admin/users/{admin.id}",
                              f"/admin/connections/{connection.id}", f"/admin/tags/{tag.id}"]:
        response = client.get(url)
        assert response.status_code == 200, url
    assert client.get("/admin/sectors/999").status_code == 404


def test_sector_form_saves_and_explains_mistakes_in_portuguese(factory, client, auth):
    admin = factory.admin()
    ana = factory.user("Ana")
    factory.sector("Vendas")
    auth.login(admin)

    refused = client.post("/admin/sectors/new", data={"name": "", "color": "azul", "position": "x"})
    assert refused.status_code == 422
    page = _text(refused)
    assert "Obrigatório." in page and "Use uma cor como #2f80ed." in page and "Deve ser um número inteiro." in page

    duplicate = client.post("/admin/sectors/new", data={"name": "vendas", "color": "#000000"})
    assert duplicate.status_code == 409 and "Já existe um setor chamado vendas." in _text(duplicate)

    saved = client.post("/admin/sectors/new", data={"name": "Suporte", "color": "#123456", "greeting": "Oi",
                                                    "position": "3", "user_ids": [str(ana.id)]},
                        follow_redirects=True)
    assert "Setor Suporte criado." in _text(saved)
    sector = db.session.query(Sector).filter_by(name="Suporte").one()
    assert (sector.position, sector.color, [u.id for u in sector.users]) == (3, "#123456", [ana.id])


def test_deleting_a_sector_with_tickets_says_how_many(factory, client, auth):
    admin = factory.admin()
    old, new = factory.sector("Antigo"), factory.sector("Novo")
    for _ in range(2):
        factory.ticket(sector=old)
    auth.login(admin)

    refused = client.post(f"/admin/sectors/{old.id}/delete", follow_redirects=True)
    assert "Antigo ainda tem 2 tickets. Escolha um setor para onde movê-los." in _text(refused)
    assert db.session.get(Sector, old.id) is not None

    moved = client.post(f"/admin/sectors/{old.id}/delete", data={"move_to": str(new.id)}, follow_redirects=True)
    assert "Setor Antigo excluído." in _text(moved)
    assert db.session.query(Ticket).filter_by(sector_id=new.id).count() == 2


def test_user_form_creates_and_resets_a_password(factory, client, auth):
    admin = factory.admin()
    sector = factory.sector()
    auth.login(admin)

    short = client.post("/admin/users/new", data={"name": "Bia", "email": "bia@example.com", "password": "123",
                                                  "profile": "user"})
    assert short.status_code == 422 and "Use pelo menos 8 caracteres." in _text(short)
    assert 'value="bia@example.com"' in short.get_data(as_text=True), "what was typed stays in the form"

    client.post("/admin/users/new", data={"name": "Bia", "email": "bia@example.com", "password": "segredo123",
                                          "profile": "user", "sector_ids": [str(sector.id)], "active": "1"})
    bia = db.session.query(User).filter_by(email="bia@example.com").one()
    assert bia.active and [s.id for s in bia.sectors] == [sector.id]

    taken = client.post("/admin/users/new", data={"name": "Outra", "email": "BIA@example.com",
                                                  "password": "segredo123", "profile": "user"})
    assert taken.status_code == 409 and "O e-mail bia@example.com já está em uso." in _text(taken)

    client.post(f"/admin/users/{bia.id}", data={"name": "Bia", "email": "bia@example.com", "profile": "user",
                                                "password": "trocada123"})  # no "active": unchecked
    db.session.refresh(bia)
    assert bia.check_password("trocada123") and not bia.active


def test_connection_form_shows_what_the_provider_needs_and_masks_secrets(factory, client, auth):
    admin = factory.admin()
    sector = factory.sector("Vendas")
    auth.login(admin)

    missing = client.post("/admin/connections/new?kind=whatsapp_cloud", data={"name": "Zap"})
    assert missing.status_code == 422
    assert _text(missing).count("Obrigatório.") >= 2

    created = client.post("/admin/connections/new?kind=whatsapp_cloud", data={
        "name": "WhatsApp Vendas", "flow": "menu", "greeting": "Olá!", "sector_ids": [str(sector.id)],
        "enabled": "1", "secret": "meta-app-secret-1234", "settings.phone_number_id": "12345",
        "settings.access_token": "EAAG-token-abcdef-9876"})
    assert created.status_code == 201
    connection = db.session.query(Connection).one()
    page = _text(created)
    assert f"/webhooks/whatsapp_cloud/{connection.token}" in page
    assert connection.settings["verify_token"] in page
    assert "meta-app-secret-1234" in page, "shown in full once, right after saving"
    assert (connection.flow, connection.rerun_bot_on_new_ticket, [s.id for s in connection.sectors]) == (
        "menu", False, [sector.id])

    shown = _text(client.get(f"/admin/connections/{connection.id}"))
    assert "meta-app-secret-1234" not in shown and "EAAG-token-abcdef-9876" not in shown
    assert "••••1234" in shown and "••••9876" in shown

    # Saving the form with the secret fields blank keeps them.
    client.post(f"/admin/connections/{connection.id}", data={
        "name": "WhatsApp Loja", "flow": "human", "settings.phone_number_id": "12345",
        "settings.verify_token": connection.settings["verify_token"], "enabled": "1"})
    db.session.refresh(connection)
    assert connection.name == "WhatsApp Loja" and connection.secret == "meta-app-secret-1234"
    assert connection.settings["access_token"] == "EAAG-token-abcdef-9876"

    old_token = connection.token
    rotated = client.post(f"/admin/connections/{connection.id}/rotate", data={"field": "token"})
    db.session.refresh(connection)
    assert connection.token != old_token and connection.token in _text(rotated)


@pytest.mark.parametrize("kind", ["generic", "telegram", "evolution"])
def test_each_kind_has_its_own_form(factory, client, auth, kind):
    auth.login(factory.admin())
    page = client.get(f"/admin/connections/new?kind={kind}").get_data(as_text=True)
    expected = {"generic": ["settings.outbound_url"], "telegram": ["settings.bot_token", "settings.base_url"],
                "evolution": ["settings.base_url", "settings.instance", "settings.apikey", "settings.api_version"]}[kind]
    names = set(re.findall(r'name="(settings\.[a-z_]+)"', page))
    assert names == set(expected)


def test_tags_and_quick_replies_pages(factory, client, auth):
    admin = factory.admin()
    auth.login(admin)

    assert client.post("/admin/tags/new", data={"name": "VIP", "color": "#ff8800"}).status_code == 302
    tag = db.session.query(Tag).one()
    assert client.post("/admin/tags/new", data={"name": "vip", "color": "#ff8800"}).status_code == 409
    client.post(f"/admin/tags/{tag.id}/delete")
    assert db.session.query(Tag).count() == 0

    client.post("/admin/quick-replies/new", data={"shortcut": "/ola", "text": "Olá!", "scope": "global"})
    client.post("/admin/quick-replies/new", data={"shortcut": "/eu", "text": "Minha", "scope": "personal"})
    replies = {r.shortcut: r.user_id for r in db.session.query(QuickReply)}
    assert replies == {"/ola": None, "/eu": admin.id}
    bad = client.post("/admin/quick-replies/new", data={"shortcut": "/com espaço", "text": "", "scope": "global"})
    assert bad.status_code == 422 and "Use / seguida de letras, dígitos, - ou _, como /ola." in _text(bad)
