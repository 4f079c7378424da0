"""Flow fixtures: the shop's sectors and people, connections in each flow mode on a
local provider server, and customers who talk to them through real webhooks."""
from __future__ import annotations

import pytest
from ..channels.helpers import provider, published  # noqa: F401  (fixtures)
from .conversation import (GREETING, EvolutionCustomer, GenericCustomer, serve_evolution, serve_generic,
                           shop_chatbot, shop_sectors)


@pytest.fixture
def sectors(app):
    return shop_sectors()


@pytest.fixture
def admin(factory):
    return factory.admin("Marina Admin", email="marina@example.com")


@pytest.fixture
def seller(factory, sectors):
    """An attendant of Comercial only."""
    return factory.user("Bruno Vendas", email="bruno@example.com", sectors=[sectors["Comercial"]])


@pytest.fixture
def line(factory, provider, sectors):
    """``line(flow, **settings)``: a generic connection offering the three sectors."""

    def make(flow="menu", *, offered=("Comercial", "Suporte", "Cobrança"), kind="generic", **kw):
        settings = serve_generic(provider) if kind == "generic" else serve_evolution(provider)
        kw.setdefault("greeting", GREETING)
        return factory.connection(f"Loja {flow}", kind=kind, flow=flow, settings=settings,
                                  sectors=[sectors[name] for name in offered], **kw)

    return make


@pytest.fixture
def chatbot(sectors):
    return shop_chatbot(sectors)


@pytest.fixture
def customer(client, provider):
    """``customer(connection, sender=…)``: someone writing to ``connection`` on its channel."""

    def make(connection, **kw):
        kind = EvolutionCustomer if connection.kind == "evolution" else GenericCustomer
        return kind(client, connection, provider, **kw)

    return make

