"""A connection's team SIP line (issue 16) against Debian's Kamailio: Bruno and Carla have no
SIP account of their own, so both softphones register the line of Loja (extension 2000).
Ana calls 2000 from her own extension: both phones ring, Bruno answers with audio both ways,
and Carla's phone stops and says a teammate took it ("Call completed elsewhere" in the
PBX's CANCEL); the server keeps one record of the call, Bruno's. A call nobody answers is one
missed call, however many phones rang."""
from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.browser.test_softphone import PASSWORDS, assert_audio_both_ways, give_sip_account, pt, registered, softphone
from tests.calls.kamailio import Kamailio
from tests.factories import Factory

# Signalling and media between browsers, on the production pair (PostgreSQL + Redis) only: the
# call records and their races run on both engines in tests/calls, tests/test_calls.py and
# tests/channels/test_whatsapp_calls.py, and the in-process stream in the other browser tests.
pytestmark = pytest.mark.parametrize("backend", ["postgresql"])


SHOTS = "/tmp/shots"
LINE_PASSWORD = "linha-da-loja"


@pytest.fixture
def kamailio(tmp_path):
    with Kamailio(tmp_path / "kamailio", {**PASSWORDS, "2000": LINE_PASSWORD}) as sip:
        yield sip


@pytest.fixture
def shop(live_app, kamailio):
    """Loja (serving Vendas) has the team line 2000; Bruno and Carla sell without an account of
    their own; Ana has extension 1001. Answers Loja's id."""
    from atendimento.calls import sip_account
    from atendimento.extensions import db

    f = Factory()
    vendas = f.sector("Vendas")
    loja = f.connection("Loja", sectors=[vendas])
    sip_account.save_team_line(loja, {"ws_url": kamailio.ws_url, "sip_uri": f"sip:2000@{kamailio.domain}",
                                      "password": LINE_PASSWORD})
    f.user("Bruno Costa", email="bruno@example.com", sectors=[vendas])
    f.user("Carla Dias", email="carla@example.com", sectors=[vendas])
    give_sip_account(f.user("Ana Lima", email="ana@example.com"), kamailio, "1001")
    loja_id = loja.id
    db.session.commit()
    db.session.remove()
    return loja_id


def dial(page, app, number):
    page.get_by_role("button", name=pt(app, "Keypad")).click()
    page.get_by_label(pt(app, "Number to call")).fill(number)
    page.get_by_label(pt(app, "Number to call")).press("Enter")


def team_calls(app, loja_id):
    from sqlalchemy import select

    from atendimento.extensions import db
    from atendimento.models import Call

    with app.app_context():
        rows = db.session.scalars(select(Call).where(Call.connection_id == loja_id)).all()
        found = [(c.direction, c.number, c.outcome, c.user.name if c.user else None, c.ended_at is not None)
                 for c in rows]
        db.session.remove()
    return found


def wait_for(check, what, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, what
        time.sleep(0.3)


def test_the_team_line_rings_everyone_and_the_first_answer_takes_the_call(browser, live_server, live_app, shop):
    pages = {name: softphone(browser, live_server, f"{name}@example.com") for name in ("ana", "bruno", "carla")}
    (ana_ctx, ana), (bruno_ctx, bruno), (carla_ctx, carla) = pages["ana"], pages["bruno"], pages["carla"]
    try:
        for page in (ana, bruno, carla):
            registered(page)
        expect(bruno.locator(".sp-status")).to_have_text(pt(live_app, "Ready") + " · " + pt(live_app, "team line") + " Loja")
        bruno.screenshot(path=f"{SHOTS}/team-line-idle.png")
        dial(ana, live_app, "2000")
        for page in (bruno, carla):
            expect(page.get_by_role("alertdialog")).to_contain_text("1001")
        carla.screenshot(path=f"{SHOTS}/team-line-ringing.png")
        bruno.get_by_role("alertdialog").get_by_role("button", name=pt(live_app, "Answer")).click()

        for page in (ana, bruno):
            expect(page.locator("#softphone")).to_have_attribute("data-state", "incall")
        expect(carla.locator("#softphone")).to_have_attribute("data-state", "idle")
        expect(carla.locator(".sp-notice")).to_contain_text(pt(live_app, "A teammate answered the call from"))
        carla.screenshot(path=f"{SHOTS}/team-line-answered-elsewhere.png")
        assert_audio_both_ways(ana, bruno)

        ana.get_by_role("button", name=pt(live_app, "Hang up")).click()
        for page in (ana, bruno):
            expect(page.locator("#softphone")).to_have_attribute("data-state", "idle")
        calls = wait_for(lambda: [c for c in team_calls(live_app, shop) if c[4]] and team_calls(live_app, shop),
                         "the team call ended")
        assert calls == [("in", "1001", "answered", "Bruno Costa", True)]  # one record, Bruno's
        assert all(page.refused == [] for page in (ana, bruno, carla))
        bruno.goto(live_server.url + "/profile/#sip-account")
        expect(bruno.locator("#team-line-note")).to_contain_text("Loja")
        bruno.locator("#sip-account").screenshot(path=f"{SHOTS}/team-line-profile.png")
    finally:
        for ctx in (ana_ctx, bruno_ctx, carla_ctx):
            ctx.close()


def test_a_team_call_nobody_answers_is_one_missed_call(browser, live_server, live_app, shop):
    pages = [softphone(browser, live_server, f"{name}@example.com") for name in ("ana", "bruno", "carla")]
    (_, ana), (_, bruno), (_, carla) = pages
    try:
        for page in (ana, bruno, carla):
            registered(page)
        dial(ana, live_app, "2000")
        for page in (bruno, carla):
            expect(page.get_by_role("alertdialog")).to_be_visible()
        # Carla declines: only her phone stops, Bruno's goes on ringing (a 6xx would stop both).
        carla.get_by_role("alertdialog").get_by_role("button", name=pt(live_app, "Reject")).click()
        expect(carla.locator("#softphone")).to_have_attribute("data-state", "idle")
        time.sleep(1)
        expect(bruno.get_by_role("alertdialog")).to_be_visible()
        ana.get_by_role("button", name=pt(live_app, "Hang up")).click()
        expect(bruno.locator("#softphone")).to_have_attribute("data-state", "idle")
        calls = wait_for(lambda: [c for c in team_calls(live_app, shop) if c[4]] and team_calls(live_app, shop),
                         "the team call ended")
        assert calls == [("in", "1001", "missed", None, True)]
    finally:
        for ctx, _page in pages:
            ctx.close()
