"""One error-handling place for pages (``web.register_errors``): what a service refuses is
flashed on the area's index, every failing status renders ``errors/error.html``, and the
API and the webhooks keep answering JSON."""
import re

import pytest

from atendimento.errors import Conflict, NotFound


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def _status_shown(response) -> int:
    return int(re.search(r'class="error-card" data-status="(\d+)"', response.get_data(as_text=True)).group(1))


def _page_raising(app, endpoint: str, rule: str, error: Exception) -> str:
    """A page of ``endpoint``'s blueprint (its before_request included) that raises ``error``."""

    def view():
        raise error

    app.add_url_rule(rule, endpoint=endpoint, view_func=view, methods=["GET", "POST"])
    return rule


@pytest.mark.parametrize("area, index", [("tickets", "/tickets"), ("admin", "/admin/"), ("profile", "/profile/")])
def test_a_refusal_on_a_page_is_flashed_on_its_areas_index(app, client, factory, auth, area, index):
    url = _page_raising(app, f"{area}.refusing", f"/{area}-refusing", Conflict("Alguém chegou antes."))
    auth.login(factory.admin())

    response = client.post(url)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(index)
    assert "Alguém chegou antes." in _text(client.get(response.headers["Location"]))


def test_a_refusal_outside_any_area_goes_back_to_the_inbox(app, client, factory, auth):
    url = _page_raising(app, "auth.refusing", "/auth-refusing", Conflict("Não deu."))
    auth.login(factory.admin())
    response = client.post(url)
    assert response.status_code == 303 and response.headers["Location"].endswith("/tickets")


@pytest.mark.parametrize("area", ["tickets", "admin", "profile"])
def test_a_missing_thing_on_a_page_is_the_404_page(app, client, factory, auth, area):
    url = _page_raising(app, f"{area}.missing", f"/{area}-missing", NotFound())
    auth.login(factory.admin())
    response = client.get(url)
    assert response.status_code == 404 and _status_shown(response) == 404
    assert "Não encontrado" in _text(response)


def test_every_failing_status_renders_the_one_error_page_in_portuguese(app, client, factory, auth):
    _page_raising(app, "tickets.broken", "/broken", RuntimeError("bug"))
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the 500 handler answers
    app.config["MAX_CONTENT_LENGTH"] = 1000
    auth.login(factory.user("Ana"))

    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and _status_shown(missing) == 404
    wrong_method = client.get("/logout")
    assert wrong_method.status_code == 405 and _status_shown(wrong_method) == 405
    too_large = client.post("/profile/", data={"language": "x" * 5000})
    assert too_large.status_code == 413 and _status_shown(too_large) == 413
    assert "16 MB" in _text(too_large)
    broken = client.get("/broken")
    assert broken.status_code == 500 and _status_shown(broken) == 500
    assert '<html lang="pt-BR">' in broken.get_data(as_text=True)
    assert "Voltar ao Atendimento" in _text(broken)


def test_the_api_and_the_webhooks_keep_their_json_errors(app, client, factory, api):
    _page_raising(app, "api.broken", "/api/v1/broken", RuntimeError("bug"))
    _page_raising(app, "api.refusing", "/api/v1/refusing", Conflict("Alguém chegou antes."))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    headers = api(factory.user("Ana")).headers

    for url, method, status, code in [("/api/v1/nope", "get", 404, "not_found"),
                                      ("/api/v1/tickets", "delete", 405, "method_not_allowed"),
                                      ("/api/v1/broken", "get", 500, "error"),
                                      ("/api/v1/refusing", "post", 409, "conflict")]:
        response = getattr(client, method)(url, headers=headers)
        assert response.status_code == status, url
        assert response.is_json and response.json["error"]["code"] == code, url

    webhook = client.post(f"/webhooks/generic/{'x' * 32}", json={})
    assert webhook.status_code == 404 and webhook.is_json
