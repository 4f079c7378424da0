"""Tab counts that stay flat as the history grows (issue 13, part 6): waiting and in progress
exact, Finalizados counted up to a cap and shown as "999+" beyond; visibility unchanged."""
from atendimento.tickets import queries
from atendimento.tickets.queries import tab_counts


def test_counts_are_exact_below_the_cap_and_capped_above(factory, monkeypatch):
    sales, support = factory.sector("Comercial"), factory.sector("Suporte")
    ana = factory.user("Ana", sectors=[sales])
    conn = factory.connection(sectors=[sales, support])
    factory.ticket(conn, sector=sales)
    factory.ticket(conn, sector=sales, status="open", assignee=ana)
    for _ in range(3):
        factory.ticket(conn, sector=sales, status="closed")
    factory.ticket(conn, sector=support, status="closed")  # not Ana's to see
    assert tab_counts(ana) == {"pending": 1, "open": 1, "closed": 3, "mine": 1}
    monkeypatch.setattr(queries, "CLOSED_COUNT_CAP", 2)
    assert tab_counts(ana) == {"pending": 1, "open": 1, "closed": "2+", "mine": 1}
    monkeypatch.setattr(queries, "CLOSED_COUNT_CAP", 3)
    assert tab_counts(ana)["closed"] == 3
    assert tab_counts(factory.admin())["closed"] == "3+"
