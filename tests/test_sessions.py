"""Sessions end for real (SPEC §9): logging out, changing one's password or an admin's reset
ends the user's other sessions — a copy of an old session cookie stops working — and a
password change ends the user's API tokens too."""
import pytest
from flask import g

from atendimento.extensions import db
from atendimento.models import ApiToken

SESSION = "session"


@pytest.fixture(autouse=True)
def each_request_loads_its_user(app):
    """Test requests share the test's app context, so Flask-Login's ``g._login_user`` would carry
    one browser's user into the next browser's request; in production each request has its own
    context. Forgetting it first makes each request read its own cookie, as a server does."""
    def forget_the_last_requests_user():
        g.pop("_login_user", None)

    app.before_request_funcs.setdefault(None, []).insert(0, forget_the_last_requests_user)


@pytest.fixture
def patch_as(client, api):
    """``patch_as(user, path, json)``: PATCH /api/v1 with a bearer token of ``user``."""
    return lambda user, path, json: client.patch("/api/v1" + path, json=json, headers=api(user).headers)


@pytest.fixture
def browsers(app):
    """``browsers(user)``: two browsers signed in as ``user``: the first through the login form,
    the second holding a copy of the first one's session cookie (a stolen or forgotten one)."""

    def open_two(user, password="secret123"):
        first, second = app.test_client(), app.test_client()
        assert first.post("/login", data={"email": user.email, "password": password}).status_code == 302
        second.set_cookie(SESSION, first.get_cookie(SESSION).value)
        assert first.get("/tickets").status_code == 200
        assert second.get("/tickets").status_code == 200, "the copy works while the session lives"
        return first, second

    return open_two


def signed_out(client) -> bool:
    page = client.get("/tickets")
    signed_out_page = page.status_code == 302 and "/login" in page.headers["Location"]
    return signed_out_page and client.get("/stream").status_code == 401


def test_logging_out_ends_the_copied_session_too(factory, browsers):
    ana = factory.user("Ana")
    first, copy = browsers(ana)

    assert first.post("/logout").status_code == 302

    assert signed_out(first)
    assert signed_out(copy)


def test_logging_out_ends_the_users_other_browsers(app, factory, browsers):
    ana = factory.user("Ana")
    laptop, _copy = browsers(ana)
    phone = app.test_client()
    assert phone.post("/login", data={"email": ana.email, "password": "secret123"}).status_code == 302

    phone.post("/logout")

    assert signed_out(laptop)
    assert laptop.post("/login", data={"email": ana.email, "password": "secret123"}).status_code == 302
    assert laptop.get("/tickets").status_code == 200, "a new login starts a new session"


def test_changing_ones_password_ends_the_other_sessions_and_keeps_this_one(factory, browsers):
    ana = factory.user("Ana")
    first, copy = browsers(ana)

    changed = first.post("/profile/password", data={"current_password": "secret123", "new_password": "gato-azul-97",
                                                     "confirm_password": "gato-azul-97"})

    assert changed.status_code == 302
    assert first.get("/tickets").status_code == 200, "the browser that changed it stays signed in"
    assert signed_out(copy)


def test_changing_ones_password_revokes_ones_api_tokens(client, factory, auth, api):
    ana, bruno = factory.user("Ana"), factory.user("Bruno")
    ana_api, bruno_api = api(ana), api(bruno)
    assert ana_api.get("/tickets").status_code == 200
    auth.login(ana)

    client.post("/profile/password", data={"current_password": "secret123", "new_password": "gato-azul-97",
                                           "confirm_password": "gato-azul-97"})

    assert ana_api.get("/tickets").status_code == 401
    assert all(token.revoked_at is not None for token in db.session.query(ApiToken).filter_by(user_id=ana.id))
    assert bruno_api.get("/tickets").status_code == 200, "only the user's own tokens end"


def test_a_refused_password_change_ends_nothing(factory, browsers, api):
    ana = factory.user("Ana")
    first, copy = browsers(ana)
    ana_api = api(ana)

    refused = first.post("/profile/password", data={"current_password": "errada", "new_password": "gato-azul-97",
                                                     "confirm_password": "gato-azul-97"})

    assert refused.status_code == 422
    assert copy.get("/tickets").status_code == 200
    assert ana_api.get("/tickets").status_code == 200


def test_an_admins_reset_on_the_page_ends_the_users_sessions(app, factory, browsers):
    ana = factory.user("Ana")
    boss = factory.admin("Chefe", email="chefe@example.com")
    first, copy = browsers(ana)
    admin_browser = app.test_client()
    admin_browser.post("/login", data={"email": boss.email, "password": "secret123"})

    saved = admin_browser.post(f"/admin/users/{ana.id}", data={
        "name": ana.name, "email": ana.email, "profile": "user", "active": "on", "password": "gato-azul-97"})

    assert saved.status_code == 302
    assert signed_out(first) and signed_out(copy)
    assert admin_browser.get("/tickets").status_code == 200, "the admin's own session is not touched"


def test_an_admins_reset_through_the_api_ends_the_users_sessions(factory, browsers, patch_as):
    ana = factory.user("Ana")
    first, copy = browsers(ana)

    assert patch_as(factory.admin(), f"/users/{ana.id}", {"password": "gato-azul-97"}).status_code == 200

    assert signed_out(first) and signed_out(copy)


def test_an_admin_changing_their_own_password_on_the_page_stays_signed_in(factory, browsers):
    boss = factory.admin("Chefe", email="chefe@example.com")
    first, copy = browsers(boss)

    saved = first.post(f"/admin/users/{boss.id}", data={
        "name": boss.name, "email": boss.email, "profile": "admin", "active": "on", "password": "gato-azul-97"})

    assert saved.status_code == 302
    assert first.get("/tickets").status_code == 200
    assert signed_out(copy)


def test_an_edit_without_a_new_password_ends_no_session(factory, browsers, patch_as):
    ana = factory.user("Ana")
    _first, copy = browsers(ana)

    assert patch_as(factory.admin(), f"/users/{ana.id}", {"name": "Ana Lima"}).status_code == 200

    assert copy.get("/tickets").status_code == 200


def test_a_session_cookie_from_before_the_epoch_is_refused(app, factory):
    """Cookies signed before sessions carried an epoch (``_user_id`` = ``"7"``) are sessions
    that cannot be ended: they count as signed out."""
    ana = factory.user("Ana")
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(ana.id)
        session["_fresh"] = True
    assert signed_out(client)


def test_an_admin_resetting_their_own_password_through_the_api_ends_their_tokens(factory, api, patch_as, client):
    """A password change ends the user's tokens, the one making the change included: a script
    that changes its own password asks for a new token with it."""
    boss = factory.admin()

    assert patch_as(boss, f"/users/{boss.id}", {"password": "gato-azul-97"}).status_code == 200

    assert db.session.query(ApiToken).filter_by(user_id=boss.id, revoked_at=None).count() == 0
    assert client.post("/api/v1/tokens", json={"email": boss.email, "password": "gato-azul-97"}).status_code == 201
