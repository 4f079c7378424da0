"""Guessable passwords are refused wherever a password is set (issue 15, part 5): the admin's
user form and API, the profile, ``create-admin`` and ``manage``. One rule, ``schema.check_password``.
The demo's ``demo1234`` is set by the seed as it is and still logs in (tests/test_cli.py)."""
import re

import pytest
from flask_babel import force_locale, gettext

from atendimento.extensions import db
from atendimento.models import User

TOO_EASY = ("This password is too easy to guess: avoid common passwords, sequences such as "
            "12345678 and repeated characters. A few unrelated words make a good one.")
PERSONAL = "Do not build the password from your name or e-mail."
WEAK = ("12345678", "password", "aaaaaaaa", "senha123", "qwertyui")


def said(app, msgid: str, locale: str = "pt_BR") -> str:
    """The message as the reader sees it (pt-BR by default), translated or not yet."""
    with app.test_request_context(), force_locale(locale):
        return gettext(msgid)


def page_text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


@pytest.mark.parametrize("password", WEAK)
def test_the_admin_api_refuses_a_guessable_password(app, client, factory, api, password):
    admin_api = api(factory.admin())

    refused = admin_api.post("/users", json={"name": "Bia", "email": "bia@example.com", "password": password})

    assert refused.status_code == 422
    assert refused.json["error"]["fields"] == {"password": said(app, TOO_EASY)}
    assert db.session.query(User).filter_by(email="bia@example.com").count() == 0


def test_the_admin_api_refuses_the_users_own_name_or_email(app, client, factory, api):
    admin_api = api(factory.admin())
    for password in ("bia.souza@example.com", "BiaSouza1", "souza2024"):
        refused = admin_api.post("/users", json={"name": "Bia Souza", "email": "bia.souza@example.com",
                                                  "password": password})
        assert refused.status_code == 422, password
        assert refused.json["error"]["fields"] == {"password": said(app, PERSONAL)}

    created = admin_api.post("/users", json={"name": "Bia Souza", "email": "bia.souza@example.com",
                                              "password": "gato-azul-97"})
    assert created.status_code == 201


def test_an_admins_reset_checks_against_the_stored_name_and_email(app, client, factory, api):
    ana = factory.user("Ana Lima", email="ana.lima@example.com")
    headers = api(factory.admin()).headers

    def reset(password):
        return client.patch(f"/api/v1/users/{ana.id}", json={"password": password}, headers=headers)

    assert reset("analima1").json["error"]["fields"] == {"password": said(app, PERSONAL)}
    assert reset("aaaaaaaa").json["error"]["fields"] == {"password": said(app, TOO_EASY)}
    assert reset("gato-azul-97").status_code == 200
    db.session.expire_all()
    assert ana.check_password("gato-azul-97")


def test_the_admin_user_form_refuses_a_guessable_password(app, client, factory, auth):
    auth.login(factory.admin())

    refused = client.post("/admin/users/new", data={"name": "Bia", "email": "bia@example.com",
                                                    "password": "12345678", "profile": "user"})

    assert refused.status_code == 422
    assert said(app, TOO_EASY) in page_text(refused)
    assert 'value="bia@example.com"' in refused.get_data(as_text=True), "what was typed stays"


def test_the_profile_refuses_a_guessable_new_password(app, client, factory, auth):
    ana = factory.user("Ana Lima", email="ana.lima@example.com")
    auth.login(ana)

    for password, message in (("password", TOO_EASY), ("ana.lima@example.com", PERSONAL)):
        refused = client.post("/profile/password", data={"current_password": "secret123", "new_password": password,
                                                         "confirm_password": password})
        assert refused.status_code == 422
        assert said(app, message) in page_text(refused)
    db.session.expire_all()
    assert ana.check_password("secret123")


def test_create_admin_refuses_a_guessable_password(app, flask_cli):
    result = flask_cli("create-admin", "--email", "dona@loja.com.br", "--password", "12345678")

    assert result.exit_code != 0
    assert f"--password: {said(app, TOO_EASY, 'en')}" in result.output
    assert db.session.query(User).count() == 0


def test_manage_refuses_a_guessable_password(app, factory, flask_cli):
    factory.admin()

    created = flask_cli("manage", "create", "users", "name=Bia", "email=bia@example.com", "password=aaaaaaaa")

    assert created.exit_code != 0 and said(app, TOO_EASY, "en") in created.output
    assert db.session.query(User).filter_by(email="bia@example.com").count() == 0


def test_a_long_password_is_judged_quickly_and_accepted(app, client, factory, api):
    """zxcvbn's time grows steeply with length: only the first characters are estimated."""
    admin_api = api(factory.admin())
    long_one = "gato-azul-97 " * 15  # 195 characters

    assert admin_api.post("/users", json={"name": "Bia", "email": "bia@example.com",
                                           "password": long_one}).status_code == 201

