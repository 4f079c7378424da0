"""The ticket actions are declared once (atendimento/tickets/actions.py): the page's
buttons, the page's and the API's routes and the API document all follow that table,
and each action behaves the same through the page and the API."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from werkzeug.exceptions import NotFound

from atendimento.extensions import db
from atendimento.models import Ticket
from atendimento.tickets.actions import TICKET_ACTIONS

ROOT = Path(__file__).resolve().parent.parent

# The conversation's buttons that are not actions of the table.
OTHER_BUTTONS = {"peek", "transfer", "close-confirm"}

# Today's rules (SPEC §3), spelled out so that a change to the table shows up here:
# which actions each viewer is offered, and where each one takes the ticket.
OFFERED = {
    ("pending", "ana"): {"accept", "close"},
    ("pending", "admin"): {"accept", "close"},
    ("open", "ana"): {"close"},  # Ana's own
    ("open", "bruno"): set(),  # Ana's: Bruno may read it, not move it
    ("open", "admin"): {"close"},
    ("closed", "ana"): {"reopen"},
    ("closed", "bruno"): {"reopen"},
}
LEADS_TO = {"accept": "open", "close": "closed", "reopen": "open"}
DONE = {"accept": "Ticket aceito. Agora ele está em Em atendimento.", "close": "Ticket finalizado.",
        "reopen": "Ticket reaberto e atribuído a você."}


@pytest.fixture
def team(factory):
    suporte = factory.sector("Suporte")
    people = {"ana": factory.user("Ana Lima", sectors=[suporte]),
              "bruno": factory.user("Bruno Costa", sectors=[suporte]),
              "admin": factory.admin()}
    return people, factory.connection("WhatsApp Loja", sectors=[suporte])


def _ticket(factory, team, status) -> Ticket:
    people, connection = team
    return factory.ticket(connection, status=status, assignee=people["ana"])


def _fresh(ticket_id) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def _action_buttons(html: str) -> set[str]:
    region = html.split('<div class="conv-actions">', 1)[1].split("</header>", 1)[0]
    return set(re.findall(r'id="btn-([\w-]+)"', region)) - OTHER_BUTTONS


def test_the_table_is_todays_three_actions():
    assert list(TICKET_ACTIONS) == ["accept", "close", "reopen"]
    assert set(LEADS_TO) == set(DONE) == set(TICKET_ACTIONS)


@pytest.mark.parametrize(("status", "viewer"), sorted(OFFERED))
def test_the_page_offers_exactly_the_tables_available_actions(client, auth, factory, team, status, viewer):
    people, _connection = team
    ticket = _ticket(factory, team, status)
    auth.login(people[viewer])
    html = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    offered = _action_buttons(html)
    assert offered == OFFERED[status, viewer]
    assert offered == {name for name, action in TICKET_ACTIONS.items()
                       if action.available(_fresh(ticket.id), people[viewer])}
    for name in offered:
        action = TICKET_ACTIONS[name]
        if action.confirm:  # the button opens the dialog; the dialog's form posts
            assert f'id="btn-{name}" data-open-dialog="{name}-dialog"' in html
            assert f'<dialog id="{name}-dialog"' in html
        assert f'action="/tickets/{ticket.id}/{name}"' in html
    if "close" in offered:
        assert "Fechar o ticket" in html  # close asks first
    else:
        assert 'id="close-dialog"' not in html


def test_the_buttons_keep_their_names_and_look(client, auth, factory, team):
    people, _connection = team
    pending = _ticket(factory, team, "pending")
    closed = _ticket(factory, team, "closed")
    auth.login(people["ana"])
    html = client.get(f"/tickets/{pending.id}").get_data(as_text=True)
    assert re.search(rf'<form method="post" action="/tickets/{pending.id}/accept" data-shortcut="accept">\s*'
                     r'<input type="hidden" name="csrf_token" value="[^"]*">\s*'
                     r'<button type="submit" class="btn btn-primary" id="btn-accept">Atender <kbd>a</kbd></button>',
                     html)
    assert ('<button type="button" class="btn btn-danger-ghost" id="btn-close" data-open-dialog="close-dialog">'
            'Fechar</button>') in html
    # Espiar, Atender, Transferir, Fechar: the order of the header.
    positions = [html.index(f'id="btn-{name}"') for name in ("peek", "accept", "transfer", "close")]
    assert positions == sorted(positions)
    html = client.get(f"/tickets/{closed.id}").get_data(as_text=True)
    assert '<button type="submit" class="btn btn-primary" id="btn-reopen">Reabrir</button>' in html
    # The shortcut help of the empty page lists the actions' keys.
    assert "<li><kbd>a</kbd> atender</li>" in client.get("/tickets").get_data(as_text=True)


def test_every_action_of_the_table_is_routed_on_the_page_and_the_api(app):
    urls = app.url_map.bind("localhost")
    for name in TICKET_ACTIONS:
        assert urls.match(f"/tickets/1/{name}", method="POST")[0] == "tickets.act"
        assert urls.match(f"/api/v1/tickets/1/{name}", method="POST")[0] == "api.ticket_action"
    for path in ("/tickets/1/snooze", "/api/v1/tickets/1/snooze"):  # nothing outside the table
        with pytest.raises(NotFound):
            urls.match(path, method="POST")


def test_the_api_document_lists_the_tables_actions(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for name, action in TICKET_ACTIONS.items():
        assert paths[f"/tickets/{{ticket_id}}/{name}"]["post"]["summary"] == action.summary


@pytest.mark.parametrize("name", list(TICKET_ACTIONS))
@pytest.mark.parametrize(("status", "viewer"), sorted(OFFERED))
def test_each_action_does_the_same_through_the_page_and_the_api(client, auth, api, factory, team, name, status,
                                                                 viewer):
    """Offered: it works, with its flash on the page; not offered: refused, nothing moves."""
    people, _connection = team
    actor = people[viewer]
    offered = name in OFFERED[status, viewer]

    by_api = _ticket(factory, team, status)
    response = api(actor).post(f"/tickets/{by_api.id}/{name}")
    if offered:
        assert response.status_code == 200 and response.json["status"] == LEADS_TO[name]
    else:
        assert response.status_code in (403, 409) and set(response.json) == {"error"}
    assert _fresh(by_api.id).status == (LEADS_TO[name] if offered else status)

    on_page = _ticket(factory, team, status)
    auth.login(actor)
    response = client.post(f"/tickets/{on_page.id}/{name}", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert _fresh(on_page.id).status == (LEADS_TO[name] if offered else status)
    if offered:
        assert 'class="flash flash-success"' in html and DONE[name] in html
    else:
        assert 'class="flash flash-error"' in html


# -- a new row in the table, and nothing else -------------------------------------------

NEW_ROW = '''    TicketAction(
        "pause", service.close_ticket, "Pausar", "Pausado.", "Pausar: an action added for a test",
        from_statuses=("open",), button_class="btn-ghost", shortcut="p"),
'''

PROBE = '''
import json, tempfile
import atendimento
from atendimento import create_app
from atendimento.auth.service import issue_token
from atendimento.extensions import db
from tests.factories import Factory

media = tempfile.mkdtemp()
app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "test", "SERVER_NAME": "localhost",
                  "SQLALCHEMY_DATABASE_URI": "sqlite:///" + media + "/probe.db", "REDIS_URL": None,
                  "MEDIA_DIR": media, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
with app.app_context():
    db.create_all()
    factory = Factory()
    sector = factory.sector("Suporte")
    ana = factory.user("Ana", sectors=[sector], email="ana@example.com")
    connection = factory.connection("WhatsApp", sectors=[sector])
    on_page, by_api = (factory.ticket(connection, status="open", assignee=ana).id for _ in range(2))
    _token, token = issue_token(ana)
page = app.test_client()  # its requests outside the setup's app context: a g of their own
page.post("/login", data={"email": "ana@example.com", "password": "secret123"})
html = page.get(f"/tickets/{on_page}").get_data(as_text=True)
posted = page.post(f"/tickets/{on_page}/pause", follow_redirects=True)
api = app.test_client().post(f"/api/v1/tickets/{by_api}/pause", headers={"Authorization": "Bearer " + token})
document = app.test_client().get("/api/v1/openapi.json").get_json()
empty_page = page.get("/tickets").get_data(as_text=True)
app.extensions["realtime"].close()
print(json.dumps({
    "package": atendimento.__file__, "on_page": on_page, "html": html, "help": empty_page,
    "posted": posted.get_data(as_text=True), "api_status": api.status_code, "api": api.get_json(),
    "summary": document["paths"].get(f"/tickets/{{ticket_id}}/pause", {}).get("post", {}).get("summary"),
}))
'''


def test_a_row_added_to_the_table_is_on_the_page_and_in_the_api(tmp_path):
    """A copy of the package with one more row in actions.py, and no other change: the
    page shows its button and routes its form, the API routes it, the document lists it."""
    root = tmp_path / "checkout"
    shutil.copytree(ROOT / "atendimento", root / "atendimento",
                    ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    for shared in ("templates", "static", "migrations", "tests"):
        (root / shared).symlink_to(ROOT / shared)
    table = root / "atendimento" / "tickets" / "actions.py"
    source = table.read_text()
    assert source.count("\n)}\n") == 1  # the end of TICKET_ACTIONS
    table.write_text(source.replace("\n)}\n", "\n" + NEW_ROW + ")}\n"))

    run = subprocess.run([sys.executable, "-c", PROBE], cwd=root, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(root)})
    assert run.returncode == 0, run.stderr
    probe = json.loads(run.stdout.strip().splitlines()[-1])
    assert probe["package"].startswith(str(root))
    assert _action_buttons(probe["html"]) == {"close", "pause"}
    assert f'<form method="post" action="/tickets/{probe["on_page"]}/pause" data-shortcut="pause">' in probe["html"]
    assert 'class="btn btn-ghost" id="btn-pause">Pausar <kbd>p</kbd></button>' in probe["html"]
    assert "<li><kbd>p</kbd> pausar</li>" in probe["help"]
    assert "Pausado." in probe["posted"]
    assert probe["api_status"] == 200 and probe["api"]["status"] == "closed"
    assert probe["summary"] == "Pausar: an action added for a test"

