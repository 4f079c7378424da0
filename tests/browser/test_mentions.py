"""@mentions and notes for those who only read (issue 12, part 6) in a real Chromium:
Bruno sees Ana's ticket but does not handle it, so his composer writes notes only; "@"
offers the users who may see the ticket, Enter picks one; Ana, named, gets a notice on
her page at once, through the stream."""
import pytest
from playwright.sync_api import expect

from atendimento.extensions import db
from atendimento.models import Message

from .conftest import ana_handles, open_inbox

pytestmark = pytest.mark.browser


def test_a_reader_notes_a_ticket_and_the_one_named_is_told(live_app, live_server, browser):
    ((ticket_id, _ids),) = ana_handles(live_app, ("Maria", ["Meu pedido atrasou"]))
    with live_app.app_context():
        from atendimento.models import Sector
        from tests.factories import Factory

        Factory().user("Bruno Costa", email="bruno@example.com", sectors=[db.session.query(Sector).one()])
    ana_context, ana = open_inbox(browser, live_server, "ana@example.com", f"/tickets/{ticket_id}")
    bruno_context, bruno = open_inbox(browser, live_server, "bruno@example.com", f"/tickets/{ticket_id}?tab=open")

    composer = bruno.locator("#composer")
    expect(bruno.get_by_role("button", name="Adicionar nota")).to_be_visible()
    expect(bruno.get_by_role("button", name="Anexar arquivo")).to_have_count(0)  # no answering here
    composer.click()
    composer.type("Cliente VIP, @An")
    options = bruno.get_by_role("listbox", name="Mencionar").get_by_role("option")
    expect(options).to_have_text(["@Ana Lima"])
    bruno.keyboard.press("Enter")  # picks, does not send
    expect(composer).to_have_value("Cliente VIP, @Ana Lima ")
    composer.type("pode priorizar?")
    bruno.keyboard.press("Enter")

    expect(bruno.locator(".msg-note")).to_contain_text("Cliente VIP, @Ana Lima pode priorizar?")
    expect(ana.locator(".msg-note")).to_contain_text("pode priorizar?")  # the stream brings the note
    notice = ana.locator(".mention-notice")
    expect(notice).to_contain_text(f"Bruno Costa mencionou você numa nota do ticket #{ticket_id}")
    with live_app.app_context():
        note = db.session.query(Message).filter_by(ticket_id=ticket_id, kind="note").one()
        assert note.body == "Cliente VIP, @Ana Lima pode priorizar?" and note.status == "sent"
    expect(bruno.locator(".mention-notice")).to_have_count(0)  # the author is not told
    ana_context.close()
    bruno_context.close()


def test_the_mention_list_answers_to_the_keys_of_a_listbox(live_app, live_server, browser):
    """Arrows move the highlight (and the composer names it to a screen reader), wrapping
    round; Esc closes with the text kept; Tab picks the highlighted name."""
    ((ticket_id, _ids),) = ana_handles(live_app, ("Maria", ["Oi"]))
    with live_app.app_context():
        from atendimento.models import Sector
        from tests.factories import Factory

        suporte = db.session.query(Sector).one()
        Factory().user("Bruno Costa", email="bruno@example.com", sectors=[suporte])
        Factory().user("Beatriz Reis", email="beatriz@example.com", sectors=[suporte])
        Factory().user("Bianca Dias", email="bianca@example.com", sectors=[suporte])
    context, page = open_inbox(browser, live_server, "bruno@example.com", f"/tickets/{ticket_id}?tab=open")
    composer = page.locator("#composer")
    composer.click()
    composer.type("Veja @")
    listbox = page.get_by_role("listbox", name="Mencionar")
    options = listbox.get_by_role("option")
    expect(options).to_have_count(3)  # Ana, Beatriz, Bianca: not Bruno, who writes
    expect(composer).to_have_attribute("aria-expanded", "true")

    def highlighted(index):
        expect(options.nth(index)).to_have_attribute("aria-selected", "true")
        expect(composer).to_have_attribute("aria-activedescendant", options.nth(index).get_attribute("id"))

    highlighted(0)
    composer.press("ArrowDown")
    highlighted(1)
    composer.press("ArrowUp")
    composer.press("ArrowUp")
    highlighted(2)  # from the first, up wraps to the last
    composer.press("Escape")
    expect(listbox).to_have_count(0)
    expect(composer).to_have_attribute("aria-expanded", "false")
    expect(composer).to_have_value("Veja @")

    composer.type("B")
    expect(options).to_have_count(2)
    b_names = options.all_inner_texts()
    assert sorted(b_names) == ["@Beatriz Reis", "@Bianca Dias"]
    composer.press("ArrowDown")
    composer.press("Tab")
    expect(listbox).to_have_count(0)
    expect(composer).to_have_value(f"Veja {b_names[1]} ")
    context.close()
