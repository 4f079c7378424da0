"""A WhatsApp Business call answered in the page (issue 16, part 3): a second Chromium page
plays the customer's WhatsApp (its fake microphone makes the SDP offer the signed ``calls``
webhook carries), a local server plays Meta's Graph ``/{phone_number_id}/calls``; the
attendant answers, the answer Meta received goes back to the customer's page, audio flows
both ways (getStats), and Meta's ``terminate`` ends the call in the page."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.channels.fake_provider import FakeProvider
from tests.factories import Factory

from .conftest import open_inbox
from .test_softphone import pt

# Signalling and media between browsers, on the production pair (PostgreSQL + Redis) only: the
# call records and their races run on both engines in tests/calls, tests/test_calls.py and
# tests/channels/test_whatsapp_calls.py, and the in-process stream in the other browser tests.
pytestmark = pytest.mark.parametrize("backend", ["postgresql"])


PNID = "106540352242922"
CUSTOMER = "5511987654321"
CALL_ID = "wacid.BROWSER1"
SECRET = "meta-app-secret"
CUSTOMER_OFFER = """async () => {
  const stream = await navigator.mediaDevices.getUserMedia({audio: true});
  const pc = new RTCPeerConnection({iceServers: []});
  stream.getTracks().forEach(t => pc.addTrack(t, stream));
  window.customerPc = pc;
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== "complete") {
    await new Promise(r => pc.addEventListener("icegatheringstatechange",
      () => pc.iceGatheringState === "complete" && r()));
  }
  return pc.localDescription.sdp;
}"""
BYTES = """async (which) => {
  const pc = which === "customer" ? window.customerPc : (window.AtendimentoWhatsAppCall || {}).pc;
  if (!pc) return -1;
  let bytes = 0;
  (await pc.getStats()).forEach(r => { if (r.type === "inbound-rtp" && r.kind === "audio") bytes += r.bytesReceived; });
  return bytes;
}"""


def webhook(server, token, call):
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "calls", "value": {
        "messaging_product": "whatsapp", "metadata": {"phone_number_id": PNID, "display_phone_number": "15550783881"},
        "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": CUSTOMER}],
        "calls": [{"id": CALL_ID, "from": CUSTOMER, "to": "15550783881", "direction": "USER_INITIATED",
                   "timestamp": "1749416383", **call}]}}]}]}).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(f"{server.url}/webhooks/whatsapp_cloud/{token}", data=body, method="POST",
                                     headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


OUT_CALL_ID = "wacid.BROWSER-OUT"


def meta_calls(request, _match):
    """Meta's ``/{phone_number_id}/calls``: a ``connect`` (a call we place) gets its call id."""
    if request.json.get("action") == "connect":
        return 200, {"messaging_product": "whatsapp", "calls": [{"id": OUT_CALL_ID}]}
    return 200, {"messaging_product": "whatsapp", "success": True}


@pytest.fixture
def graph():
    fake = FakeProvider().start()
    fake.on("POST", rf"/v21\.0/{PNID}/calls", meta_calls)
    yield fake
    fake.stop()


def whatsapp_team(graph, *people):
    """A whatsapp_cloud connection of Suporte on the fake Graph, and its attendants; its token."""
    from atendimento.extensions import db

    f = Factory()
    suporte = f.sector("Suporte")
    for name, email in people:
        f.user(name, email=email, sectors=[suporte])
    connection = f.connection("WhatsApp", kind="whatsapp_cloud", sectors=[suporte], secret=SECRET, settings={
        "phone_number_id": PNID, "access_token": "EAAG-test", "verify_token": "v", "base_url": graph.url + "/v21.0"})
    token = connection.token
    db.session.remove()
    return token


def customer_page(browser, server):
    context = browser.new_context(viewport={"width": 800, "height": 600})
    page = context.new_page()
    page.goto(server.url + "/login")  # a secure origin (loopback) for the microphone
    return context, page


def grows(page, which):
    first = page.evaluate(BYTES, which)
    deadline = time.time() + 15
    while time.time() < deadline:
        time.sleep(0.5)
        now = page.evaluate(BYTES, which)
        if first >= 0 and now > first > 0 or (first == 0 and now > 2000):
            return now
        first = first if first > 0 else now
    raise AssertionError(f"no audio reached the {which}: {first} bytes")


def test_an_attendant_answers_a_whatsapp_call_and_audio_flows(browser, live_app, live_server, graph):
    from atendimento.extensions import db
    from atendimento.models import Call, TicketEvent
    from sqlalchemy import select

    f = Factory()
    suporte = f.sector("Suporte")
    f.user("Ana Lima", email="ana@example.com", sectors=[suporte])
    connection = f.connection("WhatsApp", kind="whatsapp_cloud", sectors=[suporte], secret=SECRET, settings={
        "phone_number_id": PNID, "access_token": "EAAG-test", "verify_token": "v", "base_url": graph.url + "/v21.0"})
    token = connection.token
    db.session.remove()

    context, page = open_inbox(browser, live_server, "ana@example.com")
    customer_context = browser.new_context(viewport={"width": 800, "height": 600})
    customer = customer_context.new_page()
    customer.goto(live_server.url + "/login")  # a secure origin (loopback) for the microphone
    offer = customer.evaluate(CUSTOMER_OFFER)
    assert "m=audio" in offer and "a=candidate" in offer

    webhook(live_server, token, {"event": "connect", "session": {"sdp_type": "offer", "sdp": offer}})
    popup = page.get_by_role("alertdialog")
    expect(popup).to_be_visible()
    expect(popup).to_contain_text("Sheena Nelson")
    page.screenshot(path="/tmp/shots/wacall-ringing.png")
    popup.get_by_role("button", name=pt(live_app, "Answer")).click()
    bar = page.get_by_role("region", name=pt(live_app, "In a WhatsApp call"))
    expect(bar).to_be_visible()
    actions = [r.json for r in graph.calls("POST", f"/v21.0/{PNID}/calls")]
    assert [a["action"] for a in actions] == ["pre_accept", "accept"]
    answer = actions[-1]["session"]
    assert answer["sdp_type"] == "answer" and "a=candidate" in answer["sdp"]
    customer.evaluate("(sdp) => window.customerPc.setRemoteDescription({type: 'answer', sdp})", answer["sdp"])
    grows(customer, "customer")
    grows(page, "attendant")
    expect(bar.locator(".wa-call-timer")).not_to_have_text("0:00", timeout=5000)
    page.screenshot(path="/tmp/shots/wacall-in-call.png")

    webhook(live_server, token, {"event": "terminate", "status": "COMPLETED", "duration": 3})
    expect(bar).to_be_hidden()
    customer.evaluate("() => window.customerPc.close()")
    call = db.session.scalars(select(Call)).one()
    assert call.outcome == "answered" and call.ended_at is not None and call.duration is not None
    kinds = db.session.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == call.ticket_id)).all()
    assert {"call_started", "call_answered", "call_ended"} <= set(kinds)
    db.session.remove()
    customer_context.close()
    context.close()


def test_two_attendants_answering_at_once_one_takes_the_call(browser, live_app, live_server, graph):
    """Both click Atender in the same instant: the database gives the call to one, Meta hears
    one answer, and the other's card says who took it."""
    from sqlalchemy import select

    from atendimento.extensions import db
    from atendimento.models import Call

    token = whatsapp_team(graph, ("Ana Lima", "ana@example.com"), ("Bruno Costa", "bruno@example.com"))
    pages = [open_inbox(browser, live_server, email) for email in ("ana@example.com", "bruno@example.com")]
    customer_context, customer = customer_page(browser, live_server)
    try:
        offer = customer.evaluate(CUSTOMER_OFFER)
        webhook(live_server, token, {"event": "connect", "session": {"sdp_type": "offer", "sdp": offer}})
        buttons = []
        for _context, page in pages:
            popup = page.get_by_role("alertdialog")
            expect(popup).to_contain_text("Sheena Nelson")
            buttons.append(popup.get_by_role("button", name=pt(live_app, "Answer")))
        for button in buttons:  # no wait between: each page's answer is still gathering ICE
            button.click(no_wait_after=True)
        bars = [page.get_by_role("region", name=pt(live_app, "In a WhatsApp call")) for _c, page in pages]
        deadline = time.time() + 15
        while sum(bar.count() for bar in bars) == 0:
            assert time.time() < deadline, "nobody got the call"
            time.sleep(0.2)
        time.sleep(1.5)  # the loser's answer has come back by now
        winners = [i for i, bar in enumerate(bars) if bar.count()]
        assert len(winners) == 1, winners
        loser = pages[1 - winners[0]][1]
        names = ("Ana Lima", "Bruno Costa")
        expect(loser.locator(".wa-call-popup.is-taken")).to_contain_text(names[winners[0]])
        loser.screenshot(path="/tmp/shots/wacall-taken.png")
        actions = [r.json["action"] for r in graph.calls("POST", f"/v21.0/{PNID}/calls")]
        assert actions == ["pre_accept", "accept"]  # one answer reached Meta
        call = db.session.scalars(select(Call)).one()
        assert call.user.name == names[winners[0]] and call.outcome == "answered"
        assert call.ticket.status == "open" and call.ticket.user_id == call.user_id  # the winner handles it
        expect(loser.locator(".wa-call-popup")).to_have_count(0, timeout=8000)
        db.session.remove()
    finally:
        customer_context.close()
        for context, _page in pages:
            context.close()


def test_an_attendant_calls_the_customer_on_whatsapp(browser, live_app, live_server, graph):
    """Ligar pelo WhatsApp: the page's offer goes to Meta's ``connect``, the customer's
    WhatsApp (a second page) answers it, the answer comes back by webhook, audio flows both
    ways, and Desligar tells Meta ``terminate``."""
    from sqlalchemy import select

    from atendimento.extensions import db
    from atendimento.models import Call
    from atendimento.tickets import service

    token = whatsapp_team(graph, ("Ana Lima", "ana@example.com"))
    from atendimento.models import Connection, User

    f = Factory()
    connection = db.session.scalars(select(Connection)).one()
    ticket = f.inbound(connection, sender=CUSTOMER, name="Sheena Nelson", text="Pode me ligar?").ticket
    ticket.sector_id = connection.sectors[0].id
    db.session.commit()
    ana = db.session.scalars(select(User)).one()
    service.accept_ticket(ana, ticket.id)
    ticket_id = ticket.id
    db.session.remove()

    context, page = open_inbox(browser, live_server, "ana@example.com", f"/tickets/{ticket_id}")
    customer_context, customer = customer_page(browser, live_server)
    try:
        page.get_by_role("button", name=pt(live_app, "Call on WhatsApp")).click()
        deadline = time.time() + 15
        while not [r for r in graph.calls("POST", f"/v21.0/{PNID}/calls") if r.json.get("action") == "connect"]:
            assert time.time() < deadline, "no connect reached Meta"
            time.sleep(0.2)
        connect = [r.json for r in graph.calls("POST", f"/v21.0/{PNID}/calls")][0]
        assert connect["to"] == CUSTOMER and connect["session"]["sdp_type"] == "offer"
        answer = customer.evaluate("""async (offer) => {
          const stream = await navigator.mediaDevices.getUserMedia({audio: true});
          const pc = new RTCPeerConnection({iceServers: []});
          stream.getTracks().forEach(t => pc.addTrack(t, stream));
          window.customerPc = pc;
          await pc.setRemoteDescription({type: "offer", sdp: offer});
          await pc.setLocalDescription(await pc.createAnswer());
          if (pc.iceGatheringState !== "complete") {
            await new Promise(r => pc.addEventListener("icegatheringstatechange",
              () => pc.iceGatheringState === "complete" && r()));
          }
          return pc.localDescription.sdp;
        }""", connect["session"]["sdp"])
        webhook(live_server, token, {"id": OUT_CALL_ID, "event": "connect", "direction": "BUSINESS_INITIATED",
                                     "from": "15550783881", "to": CUSTOMER,
                                     "session": {"sdp_type": "answer", "sdp": answer}})
        bar = page.get_by_role("region", name=pt(live_app, "In a WhatsApp call"))
        expect(bar).to_be_visible()
        grows(customer, "customer")
        grows(page, "attendant")
        expect(bar.locator(".wa-call-name")).to_have_text("Sheena Nelson")
        expect(bar.locator(".wa-call-calling")).to_have_count(0)  # "Chamando…" goes once she answers
        box = bar.bounding_box()  # bottom left, clear of the composer's Enviar
        send = page.get_by_role("button", name=pt(live_app, "Send"), exact=True).bounding_box()
        assert box["x"] + box["width"] < send["x"], (box, send)
        page.screenshot(path="/tmp/shots/wacall-placed.png")
        bar.get_by_role("button", name=pt(live_app, "Hang up")).click()
        expect(bar).to_be_hidden()
        actions = [r.json["action"] for r in graph.calls("POST", f"/v21.0/{PNID}/calls")]
        assert actions == ["connect", "terminate"]
        call = db.session.scalars(select(Call)).one()
        assert (call.direction, call.outcome, call.user.name) == ("out", "answered", "Ana Lima")
        assert call.duration is not None and call.ended_at is not None
        db.session.remove()
    finally:
        customer_context.close()
        context.close()
