"""TRUSTED_PROXIES: the client's address and scheme come from the proxies we trust, and only them."""
from flask import jsonify, request

from atendimento import create_app


def _app(tmp_path, proxies):
    app = create_app({"TESTING": True, "TRUSTED_PROXIES": proxies,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite'}",
                      "MEDIA_DIR": str(tmp_path / "media")})
    return app


HEADERS = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


def _seen(app):
    @app.get("/_seen")
    def seen():
        return jsonify(addr=request.remote_addr, scheme=request.scheme)

    return app.test_client().get("/_seen", headers=HEADERS).get_json()


def test_default_trusts_no_proxy(tmp_path):
    assert _seen(_app(tmp_path, 0)) == {"addr": "127.0.0.1", "scheme": "http"}


def test_one_trusted_proxy_gives_the_clients_address_and_scheme(tmp_path):
    assert _seen(_app(tmp_path, 1)) == {"addr": "203.0.113.7", "scheme": "https"}
