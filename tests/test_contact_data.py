"""A contact's data (issue 13, part 2): custom fields admins define (text, number, date,
choice), values checked by type; name and e-mail; ``GET /contacts?q=``, ``PATCH
/contacts/<id>``, ``GET /contacts/<id>/tickets``; the side panel's form."""
import pytest

from atendimento.extensions import db
from atendimento.models import Contact, CustomField


@pytest.fixture
def world(factory, api):
    sales, support = factory.sector("Comercial"), factory.sector("Suporte")
    ana = factory.user("Ana", sectors=[sales])
    bia = factory.user("Bia", sectors=[sales])
    carla = factory.user("Carla", sectors=[support])
    admin = factory.admin()
    conn = factory.connection("WhatsApp", sectors=[sales, support])
    mine = factory.ticket(conn, sector=sales, status="open", assignee=ana, sender="5511988887777")
    admin_api = api(admin)
    for body in ({"name": "CPF"}, {"name": "Pedidos", "kind": "number"},
                 {"name": "Data de nascimento", "kind": "date"},
                 {"name": "Plano", "kind": "choice", "choices": ["Básico", "Pro", "Pro"]}):
        assert admin_api.post("/custom-fields", json=body).status_code == 201, body
    return dict(sales=sales, support=support, ana=ana, bia=bia, carla=carla, admin=admin, conn=conn, mine=mine)


def patch(client, api, user, path, body):
    return client.patch("/api/v1" + path, json=body, headers=api(user).headers)


def stored(contact_id) -> Contact:
    db.session.expire_all()
    return db.session.get(Contact, contact_id)


def test_admin_defines_fields(world, api, client):
    admin = api(world["admin"])
    fields = {f["key"]: f for f in admin.get("/custom-fields").json["items"]}
    assert set(fields) == {"cpf", "pedidos", "data_de_nascimento", "plano"}
    assert fields["plano"]["choices"] == ["Básico", "Pro"] and fields["plano"]["kind"] == "choice"
    assert fields["cpf"]["kind"] == "text"
    refused = admin.post("/custom-fields", json={"name": "Cor", "kind": "choice"})
    assert refused.status_code == 422 and "choices" in refused.json["error"]["fields"]
    assert admin.post("/custom-fields", json={"name": "X", "kind": "color"}).status_code == 422
    assert admin.post("/custom-fields", json={"name": "cpf"}).status_code == 409  # the name, any case
    kind = client.patch(f"/api/v1/custom-fields/{fields['cpf']['id']}", json={"kind": "number"},
                        headers=admin.headers)
    assert kind.status_code == 422 and "kind" in kind.json["error"]["fields"]
    renamed = client.patch(f"/api/v1/custom-fields/{fields['cpf']['id']}", json={"name": "CPF/CNPJ"},
                           headers=admin.headers)
    assert renamed.status_code == 200 and renamed.json["key"] == "cpf"  # the key stays
    assert api(world["ana"]).get("/custom-fields").status_code == 404  # admins only


def test_patch_stores_each_type(world, api, client):
    contact = world["mine"].contact_id
    answer = patch(client, api, world["ana"], f"/contacts/{contact}", {
        "name": "Joana Prado", "email": "Joana@Loja.com",
        "custom_fields": {"cpf": " 123.456.789-00 ", "pedidos": 3, "data_de_nascimento": "1990-05-17",
                          "plano": "Pro"}})
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert (body["name"], body["email"]) == ("Joana Prado", "joana@loja.com")
    assert body["custom_fields"] == {"cpf": "123.456.789-00", "pedidos": 3, "data_de_nascimento": "1990-05-17",
                                     "plano": "Pro"}
    assert body["identities"] == [{"channel": "generic", "external_id": "5511988887777"}]
    again = patch(client, api, world["ana"], f"/contacts/{contact}", {"custom_fields": {"pedidos": "2,5", "cpf": None}})
    assert again.json["custom_fields"] == {"pedidos": 2.5, "data_de_nascimento": "1990-05-17", "plano": "Pro"}
    assert again.json["name"] == "Joana Prado"  # only the fields given change
    assert patch(client, api, world["admin"], f"/contacts/{contact}", {"email": ""}).json["email"] is None


@pytest.mark.parametrize("values, field", [
    ({"pedidos": "três"}, "pedidos"), ({"pedidos": True}, "pedidos"), ({"pedidos": [1]}, "pedidos"),
    ({"data_de_nascimento": "17/05/1990"}, "data_de_nascimento"), ({"data_de_nascimento": 1990}, "data_de_nascimento"),
    ({"plano": "Ouro"}, "plano"), ({"cpf": 123}, "cpf"), ({"cpf": "x" * 501}, "cpf"), ({"senha": "1"}, "senha"),
])
def test_a_wrong_typed_value_is_refused_with_its_field_and_nothing_changes(world, api, client, values, field):
    contact = world["mine"].contact_id
    patch(client, api, world["ana"], f"/contacts/{contact}", {"name": "Joana", "custom_fields": {"pedidos": 1}})
    answer = patch(client, api, world["ana"], f"/contacts/{contact}",
                   {"name": "Outro nome", "custom_fields": {"cpf": "111", **values}})
    assert answer.status_code == 422
    error = answer.json["error"]
    assert set(error["fields"]) == {f"custom_fields.{field}"} and error["fields"][f"custom_fields.{field}"]
    kept = stored(contact)
    assert (kept.name, kept.custom_fields) == ("Joana", {"pedidos": 1})


def test_patch_bad_name_email_and_body(world, api, client):
    contact = world["mine"].contact_id
    bad = patch(client, api, world["ana"], f"/contacts/{contact}", {"email": "not-an-email", "name": "x" * 121})
    assert bad.status_code == 422 and set(bad.json["error"]["fields"]) == {"email", "name"}
    not_object = patch(client, api, world["ana"], f"/contacts/{contact}", {"custom_fields": ["pedidos", 1]})
    assert not_object.status_code == 422 and "custom_fields" in not_object.json["error"]["fields"]
    assert client.patch(f"/api/v1/contacts/{contact}", data="[]", content_type="application/json",
                        headers=api(world["ana"]).headers).status_code == 422


def test_patch_who_may(world, api, client):
    contact = world["mine"].contact_id
    assert patch(client, api, world["bia"], f"/contacts/{contact}", {"name": "Bia mudou"}).status_code == 403
    assert patch(client, api, world["carla"], f"/contacts/{contact}", {"name": "Carla"}).status_code == 404
    assert patch(client, api, world["carla"], "/contacts/999999", {"name": "x"}).status_code == 404
    assert stored(contact).name != "Bia mudou"
    assert patch(client, api, world["admin"], f"/contacts/{contact}", {"name": "Admin pode"}).status_code == 200


def test_contact_search_by_name_phone_email_within_visibility(world, factory, api, client):
    mine = world["mine"]
    patch(client, api, world["admin"], f"/contacts/{mine.contact_id}", {"name": "Joana Prado",
                                                                        "email": "joana@loja.com"})
    hidden = factory.ticket(world["conn"], sector=world["support"], sender="5521977776666")
    patch(client, api, world["admin"], f"/contacts/{hidden.contact_id}", {"name": "Joana Souza"})

    def names(user, q):
        answer = api(user).get("/contacts?q=" + q)
        assert answer.status_code == 200
        return {c["name"] for c in answer.json["items"]}

    assert names(world["ana"], "joana") == {"Joana Prado"}
    assert names(world["admin"], "JOANA") == {"Joana Prado", "Joana Souza"}
    assert names(world["ana"], "98888") == {"Joana Prado"}
    assert names(world["ana"], "loja.com") == {"Joana Prado"}
    assert names(world["ana"], "%") == set()  # a wildcard is a character here
    assert names(world["carla"], "joana") == {"Joana Souza"}
    assert api(world["ana"]).get("/contacts?page=abc").status_code == 422


def test_contact_tickets_newest_first_only_visible(world, factory, api):
    mine = world["mine"]
    from atendimento.tickets import service

    service.close_ticket(world["ana"], mine.id)
    sender = mine.contact.identities[0].external_id
    second = factory.ticket(world["conn"], sector=world["support"], sender=sender)  # same contact, other sector
    assert second.contact_id == mine.contact_id
    service.close_ticket(world["admin"], second.id)
    third = factory.ticket(world["conn"], sector=world["sales"], sender=sender)
    ids = [t["id"] for t in api(world["admin"]).get(f"/contacts/{mine.contact_id}/tickets").json["items"]]
    assert ids == [third.id, second.id, mine.id]
    ids = [t["id"] for t in api(world["ana"]).get(f"/contacts/{mine.contact_id}/tickets").json["items"]]
    assert ids == [third.id, mine.id]
    stranger = factory.user("Zé", sectors=[factory.sector("Financeiro")])
    assert api(stranger).get(f"/contacts/{mine.contact_id}/tickets").status_code == 404
    assert api(stranger).get("/contacts/abc/tickets").status_code == 404
    assert api(world["admin"]).get(f"/contacts/{mine.contact_id}/tickets?page=x").status_code == 422


def test_panel_form_saves_and_refuses_a_wrong_type(world, client, auth):
    ticket = world["mine"]
    auth.login(world["ana"])
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert 'id="contact-form"' in page and 'name="field.plano"' in page and 'type="date"' in page
    assert "5511988887777" in page  # the identity, shown
    saved = client.post(f"/tickets/{ticket.id}/contact", data={
        "name": "Joana", "email": "j@loja.com", "field.cpf": "1", "field.pedidos": "4",
        "field.data_de_nascimento": "1990-05-17", "field.plano": "Básico"})
    assert saved.status_code == 302
    contact = stored(ticket.contact_id)
    assert contact.custom_fields == {"cpf": "1", "pedidos": 4, "data_de_nascimento": "1990-05-17", "plano": "Básico"}
    refused = client.post(f"/tickets/{ticket.id}/contact", data={
        "name": "Outra", "email": "outra@loja.com", "field.cpf": "22", "field.pedidos": "muitos",
        "field.data_de_nascimento": "1990-05-17", "field.plano": "Pro"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "Pedidos:" in html  # the flash names the field
    # The form comes back open with what was typed, the message beside the refused field.
    assert '<details class="contact-editor" open>' in html
    assert 'id="contact-name" value="Outra"' in html and 'value="outra@loja.com"' in html
    assert 'id="cf-cpf" value="22"' in html and 'id="cf-pedidos" value="muitos"' in html
    assert '<option value="Pro" selected>' in html
    assert 'aria-invalid="true" aria-describedby="cf-pedidos-error"' in html
    assert 'id="cf-pedidos-error">Must be a number.' in html or 'id="cf-pedidos-error">Deve ser' in html
    assert 'aria-describedby="contact-name-error"' not in html
    assert stored(ticket.contact_id).name == "Joana"  # nothing stored changed
    assert stored(ticket.contact_id).custom_fields["cpf"] == "1"
    bad_email = client.post(f"/tickets/{ticket.id}/contact", data={"name": "Joana Prado", "email": "não é e-mail"})
    assert bad_email.status_code == 422
    html = bad_email.get_data(as_text=True)
    assert 'value="não é e-mail"' in html and 'id="contact-email-input-error"' in html
    assert 'id="contact-name" value="Joana Prado"' in html
    assert stored(ticket.contact_id).name == "Joana"
    client.post("/logout")
    auth.login(world["bia"])
    assert 'id="contact-form"' not in client.get(f"/tickets/{ticket.id}?peek=1").get_data(as_text=True)
    assert client.post(f"/tickets/{ticket.id}/contact", data={"name": "Bia"}).status_code == 303
    assert stored(ticket.contact_id).name == "Joana"


def test_admin_pages(world, client, auth):
    auth.login(world["admin"])
    listing = client.get("/admin/custom-fields").get_data(as_text=True)
    assert "Data de nascimento" in listing and "data_de_nascimento" in listing
    created = client.post("/admin/custom-fields/new", data={"name": "Região", "kind": "choice",
                                                             "choices": "Norte\nSul\n\nSul", "position": ""})
    assert created.status_code == 302
    field = db.session.query(CustomField).filter_by(name="Região").one()
    assert (field.key, field.choices) == ("regiao", ["Norte", "Sul"])
    refused = client.post("/admin/custom-fields/new", data={"name": "Vazio", "kind": "choice", "choices": ""})
    assert refused.status_code == 422
    assert client.post(f"/admin/custom-fields/{field.id}/delete").status_code == 302
    assert db.session.get(CustomField, field.id) is None
    client.post("/logout")
    auth.login(world["ana"])
    assert client.get("/admin/custom-fields").status_code == 404
