"""Look at the Atendimento page: seed believable data, serve it, take screenshots.

    .venv/bin/python -m tests.browser.screenshot /tmp/shots [--lang en]

Not a test (pytest does not collect it): a tool to iterate on the design at the
1366×768 of a typical attendant's laptop.
"""
from __future__ import annotations

import argparse
import tempfile
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright

from atendimento import create_app
from atendimento.extensions import db
from atendimento.models import Message, Ticket, TicketEvent, utcnow
from atendimento.tickets import outgoing, service
from tests.factories import Factory

from .server import LiveServer, launch_chromium

PASSWORD = "secret123"


def _age(ticket_id: int, minutes: float) -> None:
    """Move a ticket's story back in time so the list shows realistic ages."""
    ticket = db.session.get(Ticket, ticket_id)
    shift = timedelta(minutes=minutes)
    messages = db.session.query(Message).filter_by(ticket_id=ticket_id).order_by(Message.id).all()
    for i, message in enumerate(messages):
        message.created_at = utcnow() - shift - timedelta(minutes=2 * (len(messages) - i))
    for event in db.session.query(TicketEvent).filter_by(ticket_id=ticket_id):
        event.created_at = utcnow() - shift - timedelta(minutes=1)
    ticket.created_at = utcnow() - shift - timedelta(minutes=2 * len(messages) + 1)
    ticket.last_message_at = utcnow() - shift
    db.session.commit()


def seed(f: Factory) -> dict:
    suporte = f.sector("Suporte", color="#2f80ed", position=1)
    vendas = f.sector("Vendas", color="#f2994a", position=2)
    financeiro = f.sector("Financeiro", color="#9b51e0", position=3)
    ana = f.user("Ana Paula Ribeiro", email="ana@example.com", sectors=[suporte, vendas])
    bruno = f.user("Bruno Costa", email="bruno@example.com", sectors=[vendas])
    carla = f.admin("Carla Mendes", email="carla@example.com")
    whatsapp = f.connection("WhatsApp Loja", kind="evolution", sectors=[suporte, vendas, financeiro])
    f.connection("WhatsApp Matriz", kind="whatsapp_cloud")
    vip, atacado, f_ = f.tag("VIP", "#d4a017"), f.tag("Atacado", "#27ae60"), f.tag("Reclamação", "#eb5757")

    def conversation(name, sender, texts, sector=None):
        message = None
        for text in texts:
            message = f.inbound(whatsapp, sender=sender, name=name, text=text)
        ticket = message.ticket
        if sector is not None:
            ticket.sector_id = sector.id
            db.session.commit()
        return ticket

    pending = [
        ("Maria Souza", "5511988887777", ["Oi, bom dia!", "Meu pedido 4821 ainda não chegou, podem verificar?"], suporte, 3),
        ("João Pereira", "5511977776666", ["Vocês têm a camiseta azul no tamanho G?"], vendas, 22),
        ("Fernanda Lima", "5521966665555", ["Preciso da segunda via do boleto de março"], financeiro, 48),
        ("Ricardo Alves", "5531955554444", ["Olá", "Quero trocar um produto com defeito", "📷 foto do defeito"], suporte, 0.5),
        ("+55 41 94444-3333", "5541944443333", ["Boa tarde, qual o horário de funcionamento no feriado?"], None, 95),
        ("Luciana Martins", "5511933332222", ["Vi o anúncio do tênis em promoção, ainda vale?"], vendas, 7),
    ]
    pending_ids = []
    for name, sender, texts, sector, age in pending:
        ticket = conversation(name, sender, texts, sector)
        _age(ticket.id, age)
        pending_ids.append(ticket.id)

    old = conversation("Patrícia Gomes", "5511922221111", ["Meu pedido veio com a cor errada"], suporte)
    service.accept_ticket(ana, old.id)
    outgoing.send_text(ana, old.id, "Sinto muito! Já enviamos a cor certa, chega em 3 dias úteis.")
    service.close_ticket(ana, old.id)
    _age(old.id, 60 * 24 * 12)

    # Open tickets: Ana's, with replies in every delivery state.
    t = conversation("Patrícia Gomes", "5511922221111", ["Olá! Comprei um fone ontem e ele não liga.",
                                                         "Já tentei carregar a noite toda."], suporte)
    service.accept_ticket(ana, t.id)
    for text, status, error in [
        ("Oi Patrícia, tudo bem? Sou a Ana, do suporte. Vou te ajudar!", "read", None),
        ("Você pode me dizer o modelo do fone e o número do pedido?", "read", None),
    ]:
        m = outgoing.send_text(ana, t.id, text)
        m.status, m.error = status, error
    db.session.commit()
    f.inbound(whatsapp, sender="5511922221111", text="Modelo XF-200, pedido 4799")
    for text, status, error in [
        ("Obrigada! Esse modelo tem um botão de reset: segure o botão de ligar por 10 segundos.", "delivered", None),
        ("Se não funcionar, já abro a troca para você.", "sent", None),
    ]:
        m = outgoing.send_text(ana, t.id, text)
        m.status, m.error = status, error
    db.session.commit()
    f.inbound(whatsapp, sender="5511922221111", text="Funcionou!!! Muito obrigada 😊\nVocês são demais.")
    m = outgoing.send_text(ana, t.id, "Que ótimo! Qualquer coisa é só chamar.")
    m.status, m.error = "failed", "WhatsApp recusou: número fora da janela de 24 h"
    db.session.commit()
    outgoing.send_text(ana, t.id, "Posso ajudar em algo mais?")
    open_id = t.id
    contact = t.contact
    contact.email = "patricia.gomes@example.com"
    contact.custom_fields = {"CPF": "123.456.789-00", "Cidade": "São Paulo"}
    contact.tags = [vip, f_]
    db.session.commit()
    _age(open_id, 4)
    # Yesterday's earlier messages: a day separator.
    first = db.session.query(Message).filter_by(ticket_id=open_id).order_by(Message.id).limit(2).all()
    for m in first:
        m.created_at = m.created_at - timedelta(days=1)
    db.session.commit()

    for name, sender, texts, sector, who, age in [
        ("Gustavo Rocha", "5511911110000", ["Quero fechar um pedido de 200 unidades"], vendas, ana, 12),
        ("Beatriz Nunes", "5511900009999", ["Meu cartão foi cobrado duas vezes"], suporte, ana, 35),
        ("Eduardo Santos", "5511899998888", ["Vocês entregam em Campinas?"], vendas, bruno, 18),
    ]:
        ticket = conversation(name, sender, texts, sector)
        service.accept_ticket(who, ticket.id)
        _age(ticket.id, age)
    f.inbound(whatsapp, sender="5511911110000", text="Consegue um desconto?")
    f.inbound(whatsapp, sender="5511911110000", text="É para a loja toda")

    # Closed tickets: a history for Patrícia and a few others.
    closed_ids = []
    for name, sender, text, sector, age in [
        ("Otávio Ramos", "5511844443333", "Obrigado pelo atendimento da semana passada", suporte, 60 * 24 * 6),
        ("Carlos Eduardo", "5511877776666", "Recebi, tudo certo!", vendas, 60 * 26),
        ("Helena Prado", "5511866665555", "Ok, aguardo o reembolso", financeiro, 60 * 3),
        ("Igor Teixeira", "5511855554444", "Valeu!", suporte, 90),
    ]:
        ticket = conversation(name, sender, [text], sector)
        who = carla if sector is financeiro else ana
        service.accept_ticket(who, ticket.id)
        outgoing.send_text(who, ticket.id, "Por nada! Tenha um ótimo dia.")
        service.close_ticket(who, ticket.id)
        _age(ticket.id, age)
        closed_ids.append(ticket.id)
    return {"ana": ana.email, "carla": carla.email, "pending": pending_ids, "open": open_id,
            "closed": closed_ids, "tags": [vip.id, atacado.id]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--lang", default=None)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="atd-shots-"))
    app = create_app({"TESTING": False, "WTF_CSRF_ENABLED": True, "SECRET_KEY": "shots",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'shots.db'}", "MEDIA_DIR": str(tmp / "media"),
                      "REDIS_URL": None})
    with app.app_context():
        db.create_all()
        data = seed(Factory())
        if args.lang:
            from atendimento.models import User
            for user in db.session.query(User):
                user.language = args.lang
            db.session.commit()
    with LiveServer(app) as server, sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1366, "height": 768})

        def shot(name):
            page.screenshot(path=str(args.out / f"{name}.png"))
            print("wrote", args.out / f"{name}.png")

        page.goto(server.url + "/login")
        shot("01-login")
        page.fill("input[name=email]", data["ana"])
        page.fill("input[name=password]", "wrong-password")
        page.click("button[type=submit]")
        shot("02-login-error")
        page.fill("input[name=email]", data["ana"])
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        shot("03-pending-tab")
        page.goto(f"{server.url}/tickets/{data['pending'][0]}")
        shot("04-pending-selected")
        page.click("#btn-peek")
        shot("05-pending-peek")
        page.goto(f"{server.url}/tickets?tab=open")
        shot("06-open-tab-mine")
        page.goto(f"{server.url}/tickets/{data['open']}?tab=open")
        shot("07-open-ticket")
        page.fill("#composer", "Oi Patrícia ")
        page.click("#btn-emoji")
        page.wait_for_selector("#emoji-popover emoji-picker [role=tabpanel] [role=menuitem]")
        shot("07b-emoji-picker")
        page.keyboard.press("Escape")
        page.fill("#composer", "")
        page.click("#btn-transfer")
        shot("08-transfer-dialog")
        page.keyboard.press("Escape")
        page.goto(f"{server.url}/tickets?tab=open&view=all")
        shot("09-open-tab-all")
        page.goto(f"{server.url}/tickets?tab=closed")
        shot("10-closed-tab")
        page.goto(f"{server.url}/tickets/{data['closed'][1]}?tab=closed")
        shot("11-closed-ticket")
        page.goto(f"{server.url}/tickets?tab=closed&q=igor")
        shot("12-closed-search")
        page.keyboard.press("Escape")
        page.goto(f"{server.url}/tickets?tab=pending")
        page.keyboard.press("j")
        page.keyboard.press("j")
        shot("13-keyboard-focus")
        # Somebody else accepts the ticket Ana is looking at: her page changes in place.
        page.goto(f"{server.url}/tickets/{data['pending'][1]}")
        page.wait_for_function("() => window.AtendimentoLive && window.AtendimentoLive.connected")
        with app.app_context(), app.test_request_context():
            from atendimento.models import User
            carla = db.session.query(User).filter_by(email=data["carla"]).one()
            service.accept_ticket(carla, data["pending"][1])
        page.wait_for_selector("#btn-accept", state="detached")
        page.wait_for_timeout(300)
        shot("15-taken-elsewhere")
        page.goto(f"{server.url}/tickets/{data['pending'][3]}")
        page.click("#btn-accept")
        shot("16-accepted")
        page.fill("#composer", "Olá! Já estou verificando.")
        page.keyboard.press("Enter")
        page.wait_for_selector("#messages .msg-out >> text=Já estou verificando")
        shot("17-sent")
        page.click("#btn-close")
        shot("18-close-confirm")
        page.keyboard.press("Escape")
        page.fill("#ticket-search", "ma")
        page.wait_for_timeout(600)
        shot("19-search-as-you-type")
        page.goto(f"{server.url}/nope")
        shot("14-not-found")
        browser.close()


if __name__ == "__main__":
    main()
