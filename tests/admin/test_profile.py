"""The profile page: every user's own language, time zone, password and personal quick replies."""
import re

from atendimento.extensions import db
from atendimento.models import QuickReply


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_profile_needs_a_login(client):
    response = client.get("/profile/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_language_and_time_zone_change_the_pages(factory, client, auth):
    ana = factory.user("Ana")
    auth.login(ana)
    assert "Preferências" in _text(client.get("/profile/"))

    saved = client.post("/profile/", data={"language": "en", "timezone": "Europe/Lisbon"}, follow_redirects=True)
    assert "Preferences saved." in _text(saved), "the confirmation already speaks the new language"
    db.session.refresh(ana)
    assert (ana.language, ana.timezone) == ("en", "Europe/Lisbon")

    refused = client.post("/profile/", data={"language": "fr", "timezone": "Mars/Base"})
    assert refused.status_code == 422
    assert "Unknown time zone." in _text(refused)

    client.post("/profile/", data={"language": "pt_BR", "timezone": ""})
    db.session.refresh(ana)
    assert (ana.language, ana.timezone) == ("pt_BR", None)


def test_changing_ones_own_password(factory, client, auth):
    ana = factory.user("Ana")
    auth.login(ana)

    wrong = client.post("/profile/password", data={"current_password": "nope", "new_password": "novasenha1",
                                                   "confirm_password": "novasenha1"})
    assert wrong.status_code == 422 and "Esta não é a sua senha atual." in _text(wrong)
    differ = client.post("/profile/password", data={"current_password": "secret123", "new_password": "novasenha1",
                                                    "confirm_password": "novasenha2"})
    assert differ.status_code == 422 and "As duas senhas são diferentes." in _text(differ)

    done = client.post("/profile/password", data={"current_password": "secret123", "new_password": "novasenha1",
                                                  "confirm_password": "novasenha1"}, follow_redirects=True)
    assert "Senha alterada." in _text(done)
    db.session.refresh(ana)
    assert ana.check_password("novasenha1")


def test_personal_quick_replies_belong_to_their_author(factory, client, auth):
    ana, bruno = factory.user("Ana"), factory.user("Bruno")
    global_reply = QuickReply(shortcut="/ola", text="Olá!")
    bruno_reply = QuickReply(shortcut="/bruno", text="Do Bruno", user_id=bruno.id)
    db.session.add_all([global_reply, bruno_reply])
    db.session.commit()
    auth.login(ana)

    client.post("/profile/quick-replies/new", data={"shortcut": "/ola", "text": "Oi, é a Ana", "scope": "global"})
    mine = db.session.query(QuickReply).filter_by(user_id=ana.id).one()
    assert mine.shortcut == "/ola", "an attendant's reply is personal, even if the form says otherwise"

    listed = _text(client.get("/profile/quick-replies"))
    assert "Oi, é a Ana" in listed and "Do Bruno" not in listed
    assert client.get(f"/profile/quick-replies/{bruno_reply.id}").status_code == 404
    assert client.get(f"/profile/quick-replies/{global_reply.id}").status_code == 404
    assert client.post(f"/profile/quick-replies/{bruno_reply.id}/delete").status_code == 404

    client.post(f"/profile/quick-replies/{mine.id}", data={"shortcut": "/ana", "text": "Editada"})
    db.session.refresh(mine)
    assert (mine.shortcut, mine.text) == ("/ana", "Editada")
    client.post(f"/profile/quick-replies/{mine.id}/delete")
    assert db.session.query(QuickReply).filter_by(user_id=ana.id).count() == 0
