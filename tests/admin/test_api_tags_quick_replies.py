"""Admin API: tags and quick replies."""
from atendimento.extensions import db
from atendimento.models import Contact, QuickReply


def test_tag_create_list_patch_delete(factory, admin_api):
    api = admin_api(factory.admin())

    created = api.post("/tags", json={"name": "VIP", "color": "#FFAA00"})
    assert created.status_code == 201
    tag = created.json
    assert tag == {"id": tag["id"], "name": "VIP", "color": "#ffaa00"}
    assert api.post("/tags", json={"name": "Atrasado"}).json["color"] == "#7f8c8d"
    assert [t["name"] for t in api.get("/tags").json["items"]] == ["Atrasado", "VIP"]

    patched = api.patch(f"/tags/{tag['id']}", json={"name": "Cliente VIP"})
    assert patched.status_code == 200 and patched.json["color"] == "#ffaa00"

    assert api.delete(f"/tags/{tag['id']}").status_code == 204
    assert [t["name"] for t in api.get("/tags").json["items"]] == ["Atrasado"]


def test_tag_validation_duplicates_and_contacts_losing_it(factory, admin_api):
    api = admin_api(factory.admin())
    vip = factory.tag("VIP")
    ticket = factory.ticket()
    ticket.contact.tags = [vip]
    db.session.commit()

    invalid = api.post("/tags", json={"name": "x" * 61, "color": "#12"})
    assert invalid.status_code == 422 and set(invalid.json["error"]["fields"]) == {"name", "color"}
    assert api.post("/tags", json={"name": "vip"}).status_code == 409
    assert api.patch(f"/tags/{factory.tag('Outra').id}", json={"name": "VIP"}).status_code == 409

    assert api.delete(f"/tags/{vip.id}").status_code == 204
    db.session.expire_all()
    assert db.session.get(Contact, ticket.contact_id).tags == []


def test_quick_replies_global_and_personal(factory, admin_api):
    admin = factory.admin()
    api = admin_api(admin)
    other = factory.user()
    someone_elses = QuickReply(shortcut="/minha", text="Pessoal de outro", user_id=other.id)
    db.session.add(someone_elses)
    db.session.commit()

    greeting = api.post("/quick-replies", json={"shortcut": "ola", "text": "Olá! Como posso ajudar?",
                                                "global": True})
    assert greeting.status_code == 201, greeting.json
    assert greeting.json == {"id": greeting.json["id"], "shortcut": "/ola", "text": "Olá! Como posso ajudar?",
                             "global": True, "user_id": None, "media_url": None, "media_name": None,
                             "media_mime": None, "media_size": None}
    mine = api.post("/quick-replies", json={"shortcut": "/ola", "text": "Oi, aqui é a chefe."})
    assert mine.status_code == 201, "a personal shortcut may reuse a global one"
    assert mine.json["global"] is False and mine.json["user_id"] == admin.id

    listed = api.get("/quick-replies").json["items"]
    assert {r["id"] for r in listed} == {greeting.json["id"], mine.json["id"]}, "other users' replies stay theirs"
    assert api.patch(f"/quick-replies/{someone_elses.id}", json={"text": "x"}).status_code == 404

    patched = api.patch(f"/quick-replies/{greeting.json['id']}", json={"text": "Olá!", "shortcut": "/oi"})
    assert patched.status_code == 200 and patched.json["shortcut"] == "/oi"
    assert api.delete(f"/quick-replies/{mine.json['id']}").status_code == 204
    assert [r["shortcut"] for r in api.get("/quick-replies").json["items"]] == ["/oi"]


def test_quick_reply_validation_and_duplicates(factory, admin_api):
    api = admin_api(factory.admin())
    api.post("/quick-replies", json={"shortcut": "/preco", "text": "Tabela", "global": True})

    duplicate = api.post("/quick-replies", json={"shortcut": "/PRECO", "text": "Outra", "global": True})
    assert duplicate.status_code == 409 and "shortcut" in duplicate.json["error"]["fields"]

    invalid = api.post("/quick-replies", json={"shortcut": "/com espaço", "text": "", "global": "sim"})
    assert invalid.status_code == 422
    assert set(invalid.json["error"]["fields"]) == {"shortcut", "text", "global"}
