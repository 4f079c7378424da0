"""Small factories: build data through the models and the service layer, never raw SQL."""
from __future__ import annotations

import itertools

from atendimento.extensions import db
from atendimento.models import Connection, Sector, Tag, User
from atendimento.tickets import service
from atendimento.tickets.inbound import Inbound, receive_inbound

_seq = itertools.count(1)


class Factory:
    def sector(self, name=None, color="#2f80ed", position=0, **kw) -> Sector:
        sector = Sector(name=name or f"Setor {next(_seq)}", color=color, position=position, **kw)
        db.session.add(sector)
        db.session.commit()
        return sector

    def user(self, name=None, *, profile="user", sectors=(), password="secret123", active=True, **kw) -> User:
        n = next(_seq)
        user = User(name=name or f"Atendente {n}", email=kw.pop("email", f"user{n}@example.com"),
                    profile=profile, active=active, **kw)
        user.set_password(password)
        user.sectors = list(sectors)
        db.session.add(user)
        db.session.commit()
        return user

    def admin(self, name="Admin", **kw) -> User:
        return self.user(name, profile="admin", **kw)

    def connection(self, name=None, kind="generic", sectors=(), **kw) -> Connection:
        connection = Connection(name=name or f"Conexão {next(_seq)}", kind=kind, settings=kw.pop("settings", {}),
                                **kw)
        connection.sectors = list(sectors)
        db.session.add(connection)
        db.session.commit()
        return connection

    def tag(self, name=None, color="#ff0000") -> Tag:
        tag = Tag(name=name or f"tag{next(_seq)}", color=color)
        db.session.add(tag)
        db.session.commit()
        return tag

    def inbound(self, connection, sender="5511999990000", text="Olá", name="Cliente", external_id=None, **kw):
        return receive_inbound(connection, Inbound(sender_id=sender, body=text, name=name,
                                                   phone=kw.pop("phone", sender), external_id=external_id, **kw))

    def ticket(self, connection=None, *, sector=None, status="pending", assignee=None, sender=None, text="Olá"):
        """A ticket as it would arrive, then moved through the service to ``status``."""
        connection = connection or self.connection()
        message = self.inbound(connection, sender=sender or f"55119{next(_seq):08d}", text=text)
        ticket = message.ticket
        if sector is not None:
            ticket.sector_id = sector.id
            db.session.commit()
        if status in ("open", "closed"):
            actor = assignee or self.admin(f"Admin {next(_seq)}", email=f"admin{next(_seq)}@example.com")
            service.accept_ticket(actor, ticket.id)
        if status == "closed":
            service.close_ticket(actor, ticket.id)
        db.session.refresh(ticket)
        return ticket
