"""Issue 15, part 4: every page carries a strict Content-Security-Policy and its companions;
behind HTTPS (a trusted proxy's X-Forwarded-Proto) HSTS and Secure cookies, over plain http
neither. tests/browser/test_csp.py checks in Chromium that the pages live with the policy."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from atendimento.security import CONTENT_SECURITY_POLICY

from .conftest import make_overrides, running_app

ROOT = Path(__file__).resolve().parent.parent
HTTPS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}


def _directives(header: str) -> dict[str, list[str]]:
    parts = (d.split() for d in header.split(";") if d.strip())
    return {p[0]: p[1:] for p in parts}


def _assert_protected(response) -> None:
    policy = _directives(response.headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"], "no inline script, no eval, no other host"
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert not any("'unsafe-inline'" in v or "'unsafe-eval'" in v for v in policy.values()), policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_every_kind_of_page_carries_the_policy(client, factory, auth):
    sector = factory.sector("Suporte")
    admin = factory.admin(email="chefe@example.com")
    connection = factory.connection("Loja", sectors=[sector])
    ticket = factory.ticket(connection, sector=sector, status="open", assignee=admin)
    login_page = client.get("/login")
    assert login_page.status_code == 200
    _assert_protected(login_page)
    auth.login(admin)
    for path in ("/tickets?tab=pending", f"/tickets/{ticket.id}", "/admin/", "/admin/sectors",
                 "/admin/sectors/new", "/admin/users/new", "/admin/connections", "/admin/tags/new",
                 "/admin/quick-replies", "/admin/chatbots", "/profile/", "/tickets/999999"):
        response = client.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        assert response.mimetype == "text/html", path
        _assert_protected(response)


def test_plain_http_gets_no_hsts_and_no_secure_cookie(client, factory, auth):
    response = auth.login(factory.user(email="ana@example.com"))
    assert "Strict-Transport-Security" not in response.headers
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("session=") and "Secure" not in cookie


@pytest.fixture
def proxied_app(backend, tmp_path, request):
    """The app behind one trusted proxy (nginx on the same host), as TRUSTED_PROXIES=1 says."""
    with running_app(backend, {**make_overrides(backend, tmp_path, request), "TRUSTED_PROXIES": 1}) as app:
        yield app


def test_behind_https_the_session_cookie_is_secure_and_hsts_is_sent(proxied_app):
    from tests.factories import Factory

    user = Factory().user(email="ana@example.com")
    client = proxied_app.test_client()
    login = client.post("/login", data={"email": user.email, "password": "secret123"}, headers=HTTPS)
    assert login.status_code == 302
    assert login.headers["Strict-Transport-Security"] == "max-age=31536000"
    cookies = login.headers.getlist("Set-Cookie")
    assert cookies and all(re.search(r";\s*Secure(;|$)", c) for c in cookies), cookies
    assert any(c.startswith("session=") for c in cookies)
    page = client.get("/tickets", headers=HTTPS)
    assert page.status_code == 200, "the Secure cookie still logs in over https"
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    _assert_protected(page)

    logout = client.post("/logout", headers=HTTPS)
    assert all("Secure" in c for c in logout.headers.getlist("Set-Cookie"))

    plain = client.get("/login")  # the same proxy, a plain-http request
    assert "Strict-Transport-Security" not in plain.headers


def test_x_forwarded_proto_from_an_untrusted_client_changes_nothing(client, factory):
    """TRUSTED_PROXIES=0 (the default): anybody may send the header, so it is not believed."""
    user = factory.user(email="ana@example.com")
    login = client.post("/login", data={"email": user.email, "password": "secret123"}, headers=HTTPS)
    assert login.status_code == 302
    assert "Strict-Transport-Security" not in login.headers
    assert not any("Secure" in c for c in login.headers.getlist("Set-Cookie"))


# -- the pages need no 'unsafe-inline' ----------------------------------------------------------

INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE), "inline <script>"),
    (re.compile(r"<style\b", re.IGNORECASE), "<style> element"),
    (re.compile(r"\sstyle\s*=", re.IGNORECASE), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=\s*[\"']", re.IGNORECASE), "on* handler attribute"),
    (re.compile(r"javascript:", re.IGNORECASE), "javascript: URL"),
]


def test_templates_and_our_scripts_need_no_inline_script_or_style():
    """Every template, and every script of ours that writes markup, is free of what the policy
    refuses; the browser test finds what a pattern would miss."""
    found = []
    files = sorted((ROOT / "templates").rglob("*.html")) + sorted((ROOT / "static" / "js").glob("*.js"))
    for path in files:
        text = path.read_text()
        for pattern, what in INLINE:
            found += [f"{path.relative_to(ROOT)}: {what}: {m.group(0)!r}" for m in pattern.finditer(text)]
        found += [f"{path.relative_to(ROOT)}: setAttribute('style')"
                  for _ in re.finditer(r"setAttribute\(\s*[\"']style", text)]
    assert found == []
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
