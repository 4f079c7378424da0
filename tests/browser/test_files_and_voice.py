"""The composer's files and voice notes in a real Chromium (issue 12, parts 1, 2 and 8):
files attached by the button, dropped on the conversation and pasted wait in the tray and
go one message each with their captions; a 2 s recording from the fake microphone reaches
each channel's local provider as an OGG/Opus mono voice note; a file over the channel's
limit is refused before any upload; a send whose answer is lost, tried again, sends once;
a refused microphone is told in plain words."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from atendimento.extensions import db
from atendimento.models import Message
from atendimento.outbox import deliver_due
from tests.factories import Factory

from ..audio_samples import describe
from ..channels.helpers import PNG, provider  # noqa: F401  (fixture)
from ..test_voice_notes import CUSTOMER, KINDS
from .conftest import ana_handles, open_inbox

pytestmark = pytest.mark.browser


def _ana_ticket(f, connection) -> int:
    """Ana Lima (ana@example.com, sector Suporte) handles a ticket of ``connection``."""
    suporte = f.sector("Suporte")
    ana = f.user("Ana Lima", email="ana@example.com", sectors=[suporte])
    return f.ticket(connection, sector=suporte, status="open", assignee=ana, sender=CUSTOMER).id


def _ana_on(live_app, provider, kind):
    """Ana's open ticket on a connection of ``kind`` whose provider is the local fake."""
    with live_app.app_context():
        f = Factory()
        connection, received = KINDS[kind](f, provider)
        return _ana_ticket(f, connection), received


def _deliver(live_app, live_server):
    """The outbox's round, as its worker runs it; a generic gateway fetches files from PUBLIC_URL."""
    live_app.config["PUBLIC_URL"] = live_server.url
    with live_app.app_context(), live_app.test_request_context(base_url=live_server.url):  # as outbox.Worker
        deliver_due()


def _outgoing(live_app, ticket_id):
    with live_app.app_context():
        return [(m.kind, m.body, m.media_name, m.voice) for m in db.session.query(Message)
                .filter_by(ticket_id=ticket_id, direction="out").order_by(Message.id)]


DROP_AND_PASTE = """([kind, name, type, bytes]) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([new Uint8Array(bytes)], name, {type}));
  if (kind === "drop") {
    const zone = document.querySelector(".conversation-pane");
    for (const step of ["dragenter", "dragover", "drop"]) {
      zone.dispatchEvent(new DragEvent(step, {dataTransfer: transfer, bubbles: true, cancelable: true}));
    }
  } else {
    document.getElementById("composer").dispatchEvent(
      new ClipboardEvent("paste", {clipboardData: transfer, bubbles: true, cancelable: true}));
  }
}"""


def test_files_by_button_drop_and_paste_go_with_their_captions(live_app, live_server, browser, tmp_path, provider):
    provider.on("POST", "/send", lambda r, m: (200, {"id": f"gw-{r.json['id']}"}))
    with live_app.app_context():
        f = Factory()
        connection = f.connection(settings={"outbound_url": provider.url + "/send"})
        ticket_id = _ana_ticket(f, connection)
    catalog = tmp_path / "catalogo.pdf"
    catalog.write_bytes(b"%PDF-1.4\n" + b"1" * 2000 + b"\n%%EOF")
    context, page = open_inbox(browser, live_server, "ana@example.com", f"/tickets/{ticket_id}")

    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Anexar arquivo").click()
    chooser.value.set_files(str(catalog))
    page.evaluate(DROP_AND_PASTE, ["drop", "lista.txt", "text/plain", list("preços".encode())])
    page.evaluate(DROP_AND_PASTE, ["paste", "print.png", "image/png", list(PNG)])
    tray = page.get_by_role("list", name="Arquivos a enviar")
    expect(tray.get_by_role("listitem")).to_have_count(3)
    expect(tray.locator(".file-name")).to_have_text(["catalogo.pdf", "lista.txt", "print.png"])
    expect(tray.locator("img.file-thumb")).to_have_count(1)  # the picture shows itself
    tray.get_by_role("textbox", name="Legenda — catalogo.pdf").fill("Nosso catálogo")
    tray.get_by_role("button", name="Remover arquivo — lista.txt").click()
    expect(tray.get_by_role("listitem")).to_have_count(2)
    page.get_by_role("button", name="Enviar", exact=True).click()

    expect(page.locator(".msg-out")).to_have_count(2)
    expect(tray).to_be_hidden()
    assert _outgoing(live_app, ticket_id) == [("document", "Nosso catálogo", "catalogo.pdf", False),
                                              ("image", "", "print.png", False)]
    _deliver(live_app, live_server)
    sends = [c.json for c in provider.calls("POST", "/send")]
    assert [(s["text"], s["media"]["filename"]) for s in sends] == [("Nosso catálogo", "catalogo.pdf"),
                                                                    ("", "print.png")]
    context.close()


# The browser's part (record, convert, store, deliver) once per database, on two kinds; each
# kind's voice-note shape, from each browser family's recording, is tests/test_voice_notes.py's.
@pytest.mark.parametrize("backend, kind", [("sqlite", "telegram"), ("postgresql", "whatsapp_cloud")])
def test_a_two_second_recording_reaches_the_channel_as_a_voice_note(live_app, live_server, browser, provider, kind):
    ticket_id, received = _ana_on(live_app, provider, kind)
    context, page = open_inbox(browser, live_server, "ana@example.com", f"/tickets/{ticket_id}")
    page.get_by_role("button", name="Gravar áudio").click()
    recording = page.get_by_role("group", name="Gravando")
    expect(recording).to_be_visible()
    expect(page.locator("#rec-time")).to_have_text("0:02", timeout=5000)
    page.get_by_role("button", name="Enviar gravação").click()

    bubble = page.locator(".msg-out .msg-audio-box.is-voice")
    expect(bubble).to_have_count(1, timeout=15_000)  # converted on the server first
    expect(recording).to_be_hidden()
    expect(page.locator("#composer")).to_be_visible()
    ((stored_kind, _body, name, voice),) = _outgoing(live_app, ticket_id)
    assert (stored_kind, name, voice) == ("audio", "voice-note.ogg", True)
    _deliver(live_app, live_server)
    with live_app.app_context():
        sent, as_voice = received(live_app.test_client())
    assert as_voice is True
    container, codec, channels, _rate, seconds = describe(sent)
    assert (container, codec, channels) == ("ogg", "opus", 1)
    assert seconds == pytest.approx(2.0, abs=0.8)  # the click after the timer showed 0:02
    context.close()


def test_cancelling_a_recording_sends_nothing(live_app, live_server, browser):
    ((ticket_id, _ids),) = ana_handles(live_app, ("Maria", ["Oi"]))
    context, page = open_inbox(browser, live_server, "ana@example.com", f"/tickets/{ticket_id}")
    page.get_by_role("button", name="Gravar áudio").click()
    expect(page.locator("#rec-time")).to_have_text("0:01", timeout=5000)
    page.keyboard.press("Escape")
    expect(page.get_by_role("group", name="Gravando")).to_be_hidden()
    page.get_by_role("button", name="Gravar áudio").click()
    page.get_by_role("button", name="Cancelar gravação").click()
    page.wait_for_timeout(300)
    assert _outgoing(live_app, ticket_id) == []
    context.close()


def test_a_refused_microphone_is_told_in_plain_words(live_app, live_server, browser):
    ((ticket_id, _ids),) = ana_handles(live_app, ("Maria", ["Oi"]))
    context, page = open_inbox(browser, live_server, "ana@example.com", f"/tickets/{ticket_id}")
    # What Chromium answers when the person clicks "Block" on its prompt.
    page.evaluate("""() => { navigator.mediaDevices.getUserMedia = () =>
        Promise.reject(new DOMException("Permission denied", "NotAllowedError")); }""")
    page.get_by_role("button", name="Gravar áudio").click()
    expect(page.locator("#composer-error")).to_contain_text("O microfone foi recusado")
    expect(page.get_by_role("group", name="Gravando")).to_be_hidden()
    context.close()


def test_a_file_over_the_channels_limit_is_refused_before_upload(live_app, live_server, browser, provider):
    ticket_id, _received = _ana_on(live_app, provider, "whatsapp_cloud")
    context, page = open_inbox(browser, live_server, "ana@example.com", f"/tickets/{ticket_id}")
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.evaluate("""() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([new Uint8Array(6 * 1024 * 1024)], "foto-grande.png", {type: "image/png"}));
      document.getElementById("composer").dispatchEvent(
        new ClipboardEvent("paste", {clipboardData: transfer, bubbles: true, cancelable: true}));
    }""")
    expect(page.locator("#composer-error")).to_contain_text(
        "foto-grande.png é grande demais: WhatsApp Cloud API aceita imagens de até 5 MB.")
    expect(page.get_by_role("list", name="Arquivos a enviar")).to_be_hidden()
    assert posts == [] and _outgoing(live_app, ticket_id) == []
    context.close()


def test_a_send_whose_answer_is_lost_sends_once_when_tried_again(live_app, live_server, browser):
    ((ticket_id, _ids),) = ana_handles(live_app, ("Maria", ["Oi"]))
    context, page = open_inbox(browser, live_server, "ana@example.com", f"/tickets/{ticket_id}")
    lost = []

    def lose_the_answer(route):
        if not lost:  # the server gets it and answers; the answer never comes back
            lost.append(route.fetch().status)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(f"**/tickets/{ticket_id}/messages", lose_the_answer)
    page.locator("#composer").fill("Já enviei o boleto")
    page.keyboard.press("Enter")
    expect(page.locator("#composer-error")).to_contain_text("Sem conexão com o servidor")
    expect(page.locator("#composer")).to_have_value("Já enviei o boleto")  # nothing lost
    page.keyboard.press("Enter")  # tried again: the same key, the first message
    expect(page.locator(".msg-out")).to_have_count(1)
    expect(page.locator("#composer")).to_have_value("")
    assert lost == [201]
    assert _outgoing(live_app, ticket_id) == [("text", "Já enviei o boleto", None, False)]
    # A double click sends once too.
    page.locator("#composer").fill("Obrigada!")
    page.get_by_role("button", name="Enviar", exact=True).dblclick()
    expect(page.locator(".msg-out")).to_have_count(2)
    page.wait_for_timeout(500)
    assert [body for _k, body, _n, _v in _outgoing(live_app, ticket_id)] == ["Já enviei o boleto", "Obrigada!"]
    context.close()


def test_a_quick_reply_with_a_file_puts_it_in_the_tray_with_its_text(live_app, live_server, browser):
    ((ticket_id, _ids),) = ana_handles(live_app, ("Maria Souza", ["Tem tabela de preços?"]))
    with live_app.app_context():
        from atendimento.media import store
        from atendimento.models import QuickReply

        media = store(b"%PDF-1.4\n" + b"2" * 500 + b"\n%%EOF", declared_mime="application/pdf", filename="precos.pdf")
        db.session.add(QuickReply(shortcut="/tabela", text="Segue a tabela, {{primeiro_nome}}.",
                                  media_path=media["path"], media_mime=media["mime"], media_name=media["name"],
                                  media_size=media["size"]))
        db.session.commit()
    context, page = open_inbox(browser, live_server, "ana@example.com", f"/tickets/{ticket_id}")
    page.locator("#composer").type("/tab")
    expect(page.get_by_role("option")).to_have_count(1)
    page.keyboard.press("Enter")
    tray = page.get_by_role("list", name="Arquivos a enviar")
    expect(tray.locator(".file-name")).to_have_text(["precos.pdf"])
    expect(tray.locator(".file-caption")).to_have_value("Segue a tabela, Maria.")
    expect(page.locator("#composer")).to_have_value("")
    page.keyboard.press("Enter")
    expect(page.locator(".msg-out")).to_have_count(1)
    assert _outgoing(live_app, ticket_id) == [("document", "Segue a tabela, Maria.", "precos.pdf", False)]
    context.close()
