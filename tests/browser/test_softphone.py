"""The softphone (issue 16) against a real registrar: Debian's Kamailio on loopback
(tests/calls/kamailio.py), two or three Chromium contexts with fake microphones, each user
registered with their own SIP account. Audio must flow both ways (getStats), every step is
recorded through /calls, and a refusal says why in the widget."""
from __future__ import annotations

import time
from contextlib import contextmanager

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import expect

from tests.calls.kamailio import Kamailio
from tests.factories import Factory

# Signalling and media between browsers, on the production pair (PostgreSQL + Redis) only: the
# call records and their races run on both engines in tests/calls, tests/test_calls.py and
# tests/channels/test_whatsapp_calls.py, and the in-process stream in the other browser tests.
pytestmark = pytest.mark.parametrize("backend", ["postgresql"])


SHOTS = "/tmp/shots"
PASSWORDS = {"1001": "ana-sip-secret", "1002": "bruno-sip-secret", "1003": "carla-sip-secret"}
INBOUND_BYTES = """async () => {
  const session = window.AtendimentoSoftphone.session;
  if (!session || !session.connection) return -1;
  let bytes = 0;
  (await session.connection.getStats()).forEach(r => {
    if (r.type === "inbound-rtp" && r.kind === "audio") bytes += r.bytesReceived;
  });
  return bytes;
}"""


@pytest.fixture
def kamailio(tmp_path):
    with Kamailio(tmp_path / "kamailio", PASSWORDS) as sip:
        yield sip


def give_sip_account(user, sip, extension, password=None) -> None:
    """The user's SIP account as the profile saves it (SPEC §2), pointing at the test Kamailio."""
    from atendimento.calls import sip_account  # seals the password at rest

    sip_account.save_sip_account(user, {
        "ws_url": sip.ws_url, "sip_uri": f"sip:{extension}@{sip.domain}", "authorization_user": extension,
        "password": password or PASSWORDS[extension], "display_name": user.name})


def pt(app, msgid: str) -> str:
    with app.test_request_context(), force_locale("pt_BR"):
        return gettext(msgid)


@pytest.fixture
def team(live_app, kamailio):
    """Ana (1001) has an open ticket whose contact's phone is Bruno's extension (1002);
    Carla is 1003. Answers the ticket id."""
    from atendimento.extensions import db
    from atendimento.tickets import service

    f = Factory()
    suporte = f.sector("Suporte")
    users = {}
    for name, email, ext in (("Ana Lima", "ana", "1001"), ("Bruno Costa", "bruno", "1002"), ("Carla Dias", "carla", "1003")):
        users[ext] = f.user(name, email=f"{email}@example.com", sectors=[suporte])
        give_sip_account(users[ext], kamailio, ext)
    gateway = f.connection("Gateway", sectors=[suporte], settings={"outbound_url": "http://127.0.0.1:9/send"})
    ticket = f.inbound(gateway, sender="1002", name="Ramal do Bruno", text="Me liga?").ticket
    ticket.sector_id = suporte.id
    db.session.commit()
    service.accept_ticket(users["1001"], ticket.id)
    ticket_id = ticket.id
    db.session.commit()
    db.session.remove()  # SQLite: no read transaction left open under the live server's writes
    return ticket_id


def softphone(browser, server, email, path="/tickets"):
    """A browser of its own for ``email`` on ``path``; ``page.refused`` collects what the
    Content-Security-Policy refused (the SIP socket among it, were connect-src wrong)."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="pt-BR")
    page = context.new_page()
    page.refused = []
    page.on("console", lambda m: page.refused.append(m.text) if "Content Security Policy" in m.text else None)
    page.set_default_timeout(15_000)
    page.goto(server.url + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "secret123")
    page.click("button[type=submit]")
    page.goto(server.url + path)
    return context, page


def registered(page):
    expect(page.locator("#softphone")).to_have_attribute("data-registration", "registered", timeout=15_000)


def calls_of(page, **query) -> list[dict]:
    return page.evaluate("""async (q) => {
      const r = await fetch("/calls?" + new URLSearchParams(q), {headers: {Accept: "application/json"}});
      const body = await r.json();
      return Array.isArray(body) ? body : (body.calls || body.items || []);
    }""", {k: str(v) for k, v in query.items()})


def inbound_bytes(page) -> int:
    return page.evaluate(INBOUND_BYTES)


def assert_audio_both_ways(one, other, seconds=2.0) -> None:
    """Inbound RTP bytes grow on both pages of a call over ``seconds``."""
    first = (inbound_bytes(one), inbound_bytes(other))
    time.sleep(seconds)
    second = (inbound_bytes(one), inbound_bytes(other))
    assert second[0] > first[0] > 0 and second[1] > first[1] > 0, (first, second)


def test_a_call_from_the_ticket_header_is_answered_with_audio_both_ways(browser, live_server, live_app, team):
    ticket_id = team
    ana_ctx, ana = softphone(browser, live_server, "ana@example.com", f"/tickets/{ticket_id}")
    bruno_ctx, bruno = softphone(browser, live_server, "bruno@example.com")
    try:
        registered(ana)
        registered(bruno)
        expect(ana.locator(".sp-status")).to_have_text(pt(live_app, "Ready"))
        ana.screenshot(path=f"{SHOTS}/softphone-idle.png")

        ligar = ana.locator("button[data-call-number]")
        expect(ligar).to_have_text(pt(live_app, "Call"))
        ligar.click()
        popup = bruno.get_by_role("alertdialog")
        expect(popup).to_be_visible()
        expect(popup).to_contain_text("1001")
        bruno.screenshot(path=f"{SHOTS}/softphone-ringing.png")
        popup.get_by_role("button", name=pt(live_app, "Answer")).click()

        for page in (ana, bruno):
            expect(page.locator("#softphone")).to_have_attribute("data-state", "incall")
        assert_audio_both_ways(ana, bruno)
        expect(ana.locator(".sp-timer")).not_to_have_text("00:00")
        ana.screenshot(path=f"{SHOTS}/softphone-incall.png")

        # The keypad sends DTMF during the call; Em espera puts the other side on hold and back (the re-INVITE's ACK must reach it: JsSIP 3.10 sent it with the first INVITE's CSeq and the call dropped).
        keypad = ana.get_by_role("group", name=pt(live_app, "Keypad"))
        keypad.get_by_role("button", name="5", exact=True).click()
        keypad.get_by_role("button", name="#", exact=True).click()
        bruno.wait_for_function("() => window.AtendimentoSoftphone.receivedDtmf === '5#'")
        hold = ana.get_by_role("button", name=pt(live_app, "Hold"))
        hold.click()
        expect(hold).to_have_attribute("aria-pressed", "true")
        bruno.wait_for_function("() => { const s = window.AtendimentoSoftphone.session; return s && s.isOnHold().remote; }")
        expect(hold).to_be_enabled()
        hold.click()
        expect(hold).to_have_attribute("aria-pressed", "false")
        bruno.wait_for_function("() => { const s = window.AtendimentoSoftphone.session; return s && !s.isOnHold().remote; }")
        mute = ana.get_by_role("button", name=pt(live_app, "Mute"))
        mute.click()
        expect(mute).to_have_attribute("aria-pressed", "true")
        assert ana.evaluate("() => window.AtendimentoSoftphone.session.isMuted().audio")

        ana.get_by_role("button", name=pt(live_app, "Hang up")).click()
        for page in (ana, bruno):
            expect(page.locator("#softphone")).to_have_attribute("data-state", "idle")

        deadline = time.monotonic() + 10
        while True:
            placed = calls_of(ana, ticket_id=ticket_id)
            if placed and placed[0].get("ended_at"):
                break
            assert time.monotonic() < deadline, placed
            time.sleep(0.3)
        call = placed[0]
        assert (call["direction"], call["number"], call["outcome"]) == ("out", "1002", "answered")
        assert call["duration"] is not None and call["duration"] >= 2
        assert ana.refused == [] and bruno.refused == []
        ana.reload()
        # The ticket's timeline tells the call's story, its duration on the end.
        ended = ana.locator(".timeline-item.event-call_ended")
        expect(ended).to_contain_text(f"{call['duration'] // 60}:{call['duration'] % 60:02d}")
        expect(ana.locator(".timeline-item.event-call_answered")).to_have_count(1)
        ended.scroll_into_view_if_needed()
        ana.screenshot(path=f"{SHOTS}/softphone-timeline.png")
    finally:
        ana_ctx.close()
        bruno_ctx.close()


def test_a_call_nobody_answers_is_missed_for_the_callee(browser, live_server, live_app, team):
    ana_ctx, ana = softphone(browser, live_server, "ana@example.com", f"/tickets/{team}")
    bruno_ctx, bruno = softphone(browser, live_server, "bruno@example.com")
    try:
        registered(ana)
        registered(bruno)
        ana.locator("[data-call-number]").click()
        expect(bruno.get_by_role("alertdialog")).to_be_visible()
        time.sleep(1)
        ana.get_by_role("button", name=pt(live_app, "Hang up")).click()
        expect(bruno.locator("#softphone")).to_have_attribute("data-state", "idle")
        deadline = time.monotonic() + 10
        while True:
            received = [c for c in calls_of(bruno) if c["direction"] == "in"]
            if received and received[0].get("outcome"):
                break
            assert time.monotonic() < deadline, received
            time.sleep(0.3)
        assert (received[0]["number"], received[0]["outcome"]) == ("1001", "missed")
    finally:
        ana_ctx.close()
        bruno_ctx.close()


@contextmanager
def ana_talking_to_bruno(browser, live_server, live_app, team):
    """Ana, Bruno and Carla registered; Ana's Ligar on the ticket rings Bruno, who answers."""
    ana_ctx, ana = softphone(browser, live_server, "ana@example.com", f"/tickets/{team}")
    bruno_ctx, bruno = softphone(browser, live_server, "bruno@example.com")
    carla_ctx, carla = softphone(browser, live_server, "carla@example.com")
    try:
        for page in (ana, bruno, carla):
            registered(page)
        ana.locator("[data-call-number]").click()
        bruno.get_by_role("alertdialog").get_by_role("button", name=pt(live_app, "Answer")).click()
        for page in (ana, bruno):
            expect(page.locator("#softphone")).to_have_attribute("data-state", "incall")
        yield ana, bruno, carla
    finally:
        for ctx in (ana_ctx, bruno_ctx, carla_ctx):
            ctx.close()


def test_a_second_call_while_in_a_call_is_refused_busy(browser, live_server, live_app, team):
    with ana_talking_to_bruno(browser, live_server, live_app, team) as (ana, bruno, carla):
        carla.get_by_role("button", name=pt(live_app, "Keypad")).click()
        carla.get_by_label(pt(live_app, "Number to call")).fill("1002")
        carla.get_by_label(pt(live_app, "Number to call")).press("Enter")
        expect(carla.locator(".sp-notice")).to_contain_text("Busy")  # JsSIP's cause for 486
        expect(bruno.locator(".sp-notice")).to_contain_text(pt(live_app, "Busy: refused a call from"))
        expect(bruno.locator("#softphone")).to_have_attribute("data-state", "incall")  # the first call goes on
        assert inbound_bytes(bruno) > 0


def test_a_blind_transfer_hands_the_other_side_to_another_extension(browser, live_server, live_app, team):
    with ana_talking_to_bruno(browser, live_server, live_app, team) as (ana, bruno, carla):
        ana.locator("#softphone").get_by_role("button", name=pt(live_app, "Transfer"), exact=True).click()
        ana.get_by_label(pt(live_app, "Extension to transfer to")).fill("1003")
        ana.get_by_label(pt(live_app, "Extension to transfer to")).press("Enter")
        popup = carla.get_by_role("alertdialog")
        expect(popup).to_contain_text("1002")
        popup.get_by_role("button", name=pt(live_app, "Answer")).click()

        expect(ana.locator("#softphone")).to_have_attribute("data-state", "idle")
        for page in (bruno, carla):
            expect(page.locator("#softphone")).to_have_attribute("data-state", "incall")
        assert_audio_both_ways(bruno, carla, seconds=1.5)


def test_a_wrong_sip_password_says_so_in_the_widget(browser, live_server, live_app, kamailio):
    from atendimento.extensions import db

    f = Factory()
    user = f.user("Ana Lima", email="ana@example.com")
    give_sip_account(user, kamailio, "1001", password="not-the-password")
    db.session.commit()
    db.session.remove()
    ctx, page = softphone(browser, live_server, "ana@example.com")
    try:
        status = page.locator(".sp-status")
        expect(status).to_have_text(pt(live_app, "Not registered") + ": " + pt(live_app, "SIP password refused by the server"))
        expect(page.locator("#softphone")).to_have_attribute("data-registration", "failed")
    finally:
        ctx.close()
