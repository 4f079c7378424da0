"""An admin API client with PATCH, on top of the shared ``api`` fixture."""
import pytest


@pytest.fixture
def admin_api(client, api):
    """``admin_api(user)``: get/post/patch/delete on /api/v1 with ``user``'s bearer token."""

    def make(user):
        base = api(user)

        class Client:
            headers = base.headers
            get, post, delete = base.get, base.post, base.delete

            @staticmethod
            def patch(path, json=None, **kw):
                return client.patch("/api/v1" + path, json=json, headers=base.headers, **kw)

        return Client

    return make
