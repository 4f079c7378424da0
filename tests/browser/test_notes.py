"""The composer's "Nota interna" switch in a real browser: the composer turns yellow, the
note appears in the conversation as a note, and it is stored as one (never queued)."""
import pytest
from playwright.sync_api import expect

from atendimento.extensions import db
from atendimento.models import Message

from .conftest import ana_handles, open_inbox

pytestmark = pytest.mark.browser


def test_the_internal_note_switch_writes_a_note(live_app, live_server, browser):
    ((ticket_id, _),) = ana_handles(live_app, ("Maria", ["Oi"]))

    context, page = open_inbox(browser, live_server, "ana@example.com", f"/tickets/{ticket_id}")
    page.get_by_role("checkbox", name="Nota interna").check()
    page.locator("#composer").type("Cliente pediu retorno amanhã às 10h.")
    page.keyboard.press("Enter")
    note = page.locator(".msg-note")
    expect(note).to_contain_text("Cliente pediu retorno amanhã às 10h.")
    expect(note).to_contain_text("Nota interna")
    expect(note.locator(".msg-status")).to_have_count(0)  # no delivery ticks: it goes nowhere
    with live_app.app_context():
        stored = db.session.query(Message).filter_by(ticket_id=ticket_id, direction="out").one()
        assert (stored.kind, stored.status) == ("note", "sent")
    context.close()
