"""What bench/scale.py and bench/search.py both build: the vocabulary, the people, four sectors,
a PostgreSQL database filled by bulk SQL, and the timing of a case (p50/p95 in ms)."""
from __future__ import annotations

import statistics
import time

import sqlalchemy as sa

WORDS = ("pedido entrega prazo produto troca devolução pagamento boleto cartão pix nota fiscal endereço "
         "atraso transportadora rastreio código cliente loja compra site aplicativo cadastro senha acesso "
         "cancelamento reembolso estorno valor desconto cupom promoção frete grátis caixa embalagem "
         "quebrado defeito garantia assistência técnica manual instruções instalação montagem peça "
         "tamanho cor modelo estoque disponível reserva retirada agência correio semana amanhã hoje ontem "
         "manhã tarde noite horário atendimento obrigado bom dia boa tarde por favor ajuda dúvida problema "
         "resolver urgente ainda não chegou já paguei quando vai chegar preciso saber qual status confirmar "
         "número protocolo informação contato telefone email whatsapp mensagem resposta retorno ligação "
         "sistema erro falha tentativa novamente funcionou obrigada perfeito certo combinado aguardo "
         "aguardando verificar conferir enviar envio recebi recebido faltando item quantidade unidade "
         "parcela juros vencimento segunda via atualizar alterar trocar mudar endereço bairro cidade estado").split()
RARE = "cafeteira"
FIRST = "Ana Bruno Carla Diego Elaine Fábio Gabriela Heitor Isabela João Karina Lucas Mariana Natália Otávio " \
        "Paula Rafael Sofia Tiago Vitória".split()
LAST = "Silva Santos Oliveira Souza Lima Pereira Ferreira Almeida Costa Gomes Ribeiro Martins Carvalho " \
       "Araújo Rocha Barbosa Mendes Conceição Nascimento Moreira".split()
SECTORS = ("Vendas", "Suporte", "Financeiro", "Logística")


def percentiles(samples):
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000


def time_it(fn, rounds, end=None):
    """p50/p95 of ``fn`` over ``rounds`` calls after one warm call (plans and pages), the
    session rolled back between calls (or ended by ``end``), untimed."""
    from atendimento.extensions import db

    fn()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
        (end or db.session.rollback)()
    return percentiles(samples)


def _array(words):
    return "ARRAY[" + ", ".join("'%s'" % w for w in words) + "]"


RARE_HITS = 20


def rare_every(messages: int) -> int:
    """One message in this many carries RARE: about ``RARE_HITS`` of ``messages``."""
    return max(messages // RARE_HITS, 8)


def fill_postgresql(db, tickets, per_ticket, sector_ids, connection_id, attendants=None):
    """``tickets`` contacts with one ticket each of ``per_ticket`` messages (12 words of WORDS;
    RARE in twenty messages spread over the history, whatever its size: at 1 M messages one in
    50 000, and at 10 k as many hits, so that a page of rare hits is timed at both). Without ``attendants`` the statuses rotate
    (pending, open, closed); with them it is a help desk's history: the newest 20 wait, the
    next 30 are in progress with the sector's attendant, every other one is closed."""
    n = len(WORDS)
    if attendants:
        user = f"CASE WHEN c.id <= 20 THEN NULL ELSE (ARRAY{list(attendants)})[1 + c.id % 4] END"
        status = "CASE WHEN c.id <= 20 THEN 'pending' WHEN c.id <= 50 THEN 'open' ELSE 'closed' END"
        closed = "CASE WHEN c.id > 50 THEN now() END"
    else:
        user, status, closed = "NULL", "(ARRAY['pending', 'open', 'closed'])[1 + c.id % 3]", "NULL"
    sql = [
        f"""INSERT INTO contacts (name, phone, email, custom_fields, created_at)
        SELECT ({_array(FIRST)})[1 + i % {len(FIRST)}] || ' ' ||
               ({_array(LAST)})[1 + (i / {len(FIRST)}) % {len(LAST)}] || ' ' || i,
               '55119' || lpad(i::text, 8, '0'), 'cliente' || i || '@exemplo.com.br', '{{}}', now()
        FROM generate_series(1, {tickets}) i""",
        f"""INSERT INTO tickets (contact_id, connection_id, sector_id, user_id, status, unread, last_message,
                                last_message_at, created_at, updated_at, closed_at, bot_turn)
        SELECT c.id, {connection_id}, (ARRAY{list(sector_ids)})[1 + c.id % 4], {user}, {status}, 0, 'Olá',
               now() - c.id * interval '1 minute', now() - c.id * interval '1 minute', now(), {closed}, 0
        FROM contacts c""",
        f"""INSERT INTO messages (ticket_id, connection_id, direction, kind, body, status, attempts, from_bot, voice,
                                 created_at)
        SELECT t.id, {connection_id}, CASE WHEN k % 2 = 0 THEN 'out' ELSE 'in' END, 'text',
               CASE WHEN (t.id * {per_ticket} + k) % {rare_every(tickets * per_ticket)} = 7 THEN 'minha {RARE} chegou quebrada ' ELSE '' END ||
               array_to_string(ARRAY(SELECT ({_array(WORDS)})[1 + abs(hashint8(t.id * 1000 + k * 37 + g)) % {n}]
                                     FROM generate_series(1, 12) g), ' '),
               'received', 0, false, false, t.created_at + k * interval '1 second'
        FROM tickets t, generate_series(1, {per_ticket}) k""",
    ]
    with db.engine.begin() as conn:
        raw = conn.connection.dbapi_connection  # no parameters: '%' is the modulo operator
        for statement in sql:
            raw.execute(statement)
    # What autovacuum does soon after a bulk load, done before timing rather than during it
    # (a first run timed 100 k while it worked, every figure doubled): statistics, and the
    # visibility map that index-only scans read instead of the rows.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE)")


def ensure_database(url):
    from atendimento.config import normalize_database_url

    url = sa.engine.make_url(normalize_database_url(url))
    server = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}):
            conn.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
    server.dispose()
    return url.render_as_string(hide_password=False)
