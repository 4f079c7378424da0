"""The content of ``seed-demo``: a small home-goods shop, Loja Aurora, on an ordinary day.

Only data lives here (Portuguese, since it plays the customers and attendants);
``demo.py`` plays it through the service layer.

A conversation's ``when`` is minutes before the seed for today's tickets, or
``(days_ago, "HH:MM")`` in São Paulo time for older ones. Its turns are ``(C, text)``
from the customer, ``(A, text)`` from the attendant, or ``(TRANSFER, sector_key)``
when the attendant hands the ticket to another sector. The admin routes the ticket
to ``sector`` before the first answer; a ``closed`` conversation ends with a close.
"""
from __future__ import annotations

from dataclasses import dataclass

C, A, TRANSFER = "c", "a", "transfer"
SHOP = "Loja Aurora"
EMAIL_DOMAIN = "demo.atendimento.local"

# key: (name, colour, greeting); positions follow this order.
SECTORS = {
    "comercial": ("Comercial", "#2f80ed",
                  "Olá! Você está falando com o Comercial da Loja Aurora. Em instantes alguém do time te responde. 😊"),
    "suporte": ("Suporte técnico", "#27ae60",
                "Oi! Aqui é o Suporte técnico da Loja Aurora. Já vamos verificar o seu caso, só um momento."),
    "financeiro": ("Financeiro", "#f2994a",
                   "Olá! Você está no Financeiro da Loja Aurora. Boletos, Pix, notas fiscais e estornos são com a gente."),
}

# key (also the e-mail's local part): (name, sector keys)
ATTENDANTS = {
    "ana": ("Ana Paula Ribeiro", ("comercial",)),
    "bruno": ("Bruno Carvalho", ("suporte",)),
    "camila": ("Camila Nogueira", ("financeiro", "comercial")),
    "diego": ("Diego Fernandes", ("suporte",)),
}
ADMIN_NAME = "Admin Demo"

CONNECTION = {
    "name": "WhatsApp Loja",
    "greeting": "Olá! 👋 Você está falando com a Loja Aurora. Como podemos ajudar?",
    "farewell": "Obrigado pelo contato! Se precisar, é só chamar por aqui. 💛",
}

# A chatbot on a second connection (Telegram, flow "chatbot"), to show the tree an admin
# builds. Nodes by key: (message, options); an option is (title, keyword, action, target,
# reply) where action is node/sector/human/close and target a node or sector key.
CHATBOT_NAME = "Assistente Loja Aurora"
# The demo's connections point at a local port that refuses at once (discard, 9): a
# demo answer fails visibly (Reenviar) instead of reaching a real provider, and the
# settings pass the same rules an admin saves them under. Replace them to go live.
CONNECTION_SETTINGS = {"outbound_url": "http://127.0.0.1:9/gateway"}
# The generic connection's webhook URL token and signing secret are fixed, so the README's
# curl (The first hour) signs a test message without looking anything up. A demo's logins
# are public anyway; rotate both (or create a real connection) before going live.
CONNECTION_TOKEN = "demo-loja-aurora"
CONNECTION_SECRET = "demo-segredo-troque-me"
CHATBOT_CONNECTION_SETTINGS = {"bot_token": "0:demo-replace-with-the-token-from-botfather",
                               "base_url": "http://127.0.0.1:9"}
CHATBOT_CONNECTION = "Telegram Loja"
CHATBOT = {
    "inicio": ("Olá! 👋 Sou a assistente virtual da Loja Aurora. Sobre o que você quer falar?", (
        ("Quero comprar", "comprar", "sector", "comercial", ""),
        ("Meu pedido", "pedido", "node", "pedido", ""),
        ("Boletos, Pix e notas", "pagamento", "sector", "financeiro", ""),
        ("Falar com um atendente", "atendente", "human", None, "Certo! Já chamei alguém do time. 😊"),
        ("Horário de funcionamento", "horario", "close", None,
         "Atendemos de segunda a sexta, das 9h às 18h, e aos sábados das 9h às 13h. Até logo!"),
    )),
    "pedido": ("Entendi, é sobre um pedido. O que aconteceu?", (
        ("Ainda não chegou", "atraso", "sector", "suporte", "Vamos rastrear para você. Tenha o número do pedido em mãos."),
        ("Quero trocar ou devolver", "troca", "node", "troca", ""),
    )),
    "troca": ("Trocas e devoluções são gratuitas em até 30 dias após o recebimento.", (
        ("Quero iniciar a troca", "iniciar", "sector", "suporte", ""),
        ("Só queria saber, obrigado", "obrigado", "close", None, "Por nada! Qualquer coisa, é só chamar. 💛"),
    )),
}

# name: (colour, contact keys)
TAGS = {
    "VIP": ("#f2c94c", ("mariana", "larissa", "andre")),
    "Atacado": ("#2d9cdb", ("andre", "thiago")),
    "Reclamação": ("#eb5757", ("tatiane", "gustavo", "eduardo")),
}

# key: (name as the customer's profile shows it, phone)
CONTACTS = {
    "mariana": ("Mariana Costa", "+5511987123456"),
    "joao": ("João Pedro Almeida", "+5521996342210"),
    "fernanda": ("Fernanda Lima", "+5531991457788"),
    "rafael": ("Rafael Souza", "+5511974418802"),
    "juliana": ("Juliana Martins", "+5541998125530"),
    "lucas": ("Lucas Oliveira", "+5551984406671"),
    "patricia": ("Patrícia Gomes", "+5571992273014"),
    "thiago": ("Thiago Barbosa", "+5581995560129"),
    "aline": ("Aline Rocha", "+5585988734402"),
    "gustavo": ("Gustavo Pereira", "+5561999018836"),
    "beatriz": ("Beatriz Araújo", "+5519981127745"),
    "carlos": ("Carlos Eduardo Santos", "+5511963380917"),
    "larissa": ("Larissa Teixeira", "+5527997645120"),
    "felipe": ("Felipe Moreira", "+5548991833064"),
    "vanessa": ("Vanessa Cardoso", "+5562985512276"),
    "rodrigo": ("Rodrigo Mendes", "+5511958806143"),
    "tatiane": ("Tatiane Freitas", "+5592993124587"),
    "marcelo": ("Marcelo Dias", "+5531987760234"),
    "renata": ("Renata Castro", "+5521981549903"),
    "andre": ("André Luiz Pinto", "+5547996218850"),
    "daniela": ("Daniela Ramos", "+5511947632218"),
    "eduardo": ("Eduardo Monteiro", "+5584994405561"),
    "priscila": ("Priscila Correia", "+5513997781402"),
    "leandro": ("Leandro Vieira", "+5598991670345"),
    "simone": ("Simone Batista", "+5565984423719"),
    "vinicius": ("Vinícius Cunha", "+5511991356608"),
    "gabriela": ("Gabriela Farias", "+5583996604127"),
    "roberto": ("Roberto Nunes", "+5567992218853"),
    "isabela": ("Isabela Moura", "+5515998347761"),
    "cida": ("Cida 🌻", "+5511966152290"),
}


@dataclass(frozen=True)
class Conversation:
    contact: str
    status: str  # how it ends: pending, open or closed
    sector: str | None
    attendant: str | None
    when: int | tuple[int, str]
    turns: tuple


CONVERSATIONS = (
    # -- Finalizados: the last days --------------------------------------------------
    Conversation("mariana", "closed", "comercial", "ana", (6, "10:12"), (
        (C, "Oi! Comprei um jogo de cama casal azul, posso trocar pela cor areia?"),
        (A, "Oi, Mariana! Aqui é a Ana 😊 Pode sim: a troca é grátis em até 30 dias, é só levar na loja com a nota."),
        (C, "Perfeito, passo aí amanhã. Obrigada!"),
        (A, "Imagina! Até amanhã."),
    )),
    Conversation("rafael", "closed", "suporte", "bruno", (5, "14:40"), (
        (C, "Como eu cadastro um cartão novo no app?"),
        (A, "Oi, Rafael! Aqui é o Bruno, do suporte. No app, vá em Perfil > Pagamentos > Adicionar cartão."),
        (C, "Feito, valeu!"),
    )),
    Conversation("priscila", "closed", "comercial", "ana", (5, "09:05"), (
        (C, "Bom dia! A loja abre no feriado de quinta?"),
        (A, "Bom dia, Priscila! No feriado abrimos das 10h às 16h. Nos outros dias, das 9h às 20h."),
        (C, "Ótimo, obrigada!"),
        (A, "Imagina, até mais!"),
    )),
    Conversation("simone", "closed", "financeiro", "camila", (4, "11:30"), (
        (C, "Oi, paguei o Pix do pedido 47688 duas vezes sem querer 😩"),
        (A, "Oi, Simone! Aqui é a Camila, do Financeiro. Localizei os dois pagamentos e já pedi o estorno de um deles."),
        (A, "O valor volta para a sua conta em até 2 dias úteis."),
        (C, "Ah, que alívio. Muito obrigada!"),
    )),
    Conversation("leandro", "closed", "suporte", "bruno", (4, "16:18"), (
        (C, "O app não avisa mais quando o pedido sai para entrega"),
        (A, "Oi, Leandro! Confere em Configurações > Notificações do celular se o app da Loja Aurora está permitido?"),
        (C, "Estava desativado mesmo. Resolvido, obrigado"),
        (A, "Que bom! Qualquer coisa é só chamar."),
    )),
    Conversation("vinicius", "closed", "suporte", "diego", (3, "13:47"), (
        (C, "Chegou a toalha de mesa errada, eu pedi a redonda e veio a retangular"),
        (A, "Oi, Vinícius! Sou o Diego. Desculpe pela confusão: envio a redonda hoje e a transportadora recolhe a outra na entrega, sem custo."),
        (C, "Show, obrigado"),
    )),
    Conversation("gabriela", "closed", "comercial", "ana", (3, "19:02"), (
        (C, "Oi! Vocês fazem lista de casamento?"),
        (A, "Oi, Gabriela! Fazemos sim. Você cria no site em Minha conta > Listas e os convidados compram com entrega no seu endereço."),
        (C, "Que legal, vou criar hoje mesmo"),
        (A, "Felicidades ao casal! 💐"),
    )),
    Conversation("roberto", "closed", "comercial", "camila", (2, "10:25"), (
        (C, "Meu pedido era pra chegar ontem e até agora nada"),
        (C, "Pedido 48011"),
        (A, "Oi, Roberto, aqui é a Camila. Seu pedido está em rota de entrega e chega hoje até as 18h. Desculpe pelo atraso!"),
        (C, "Chegou agora, obrigado"),
        (A, "Oba! Obrigada por avisar 😊"),
    )),
    Conversation("isabela", "closed", None, None, (2, "21:14"), (
        (C, "Boa noite, como faço pra mudar o endereço de entrega?"),
        (C, "Ah, esquece, consegui mudar pelo site. Obrigada!"),
    )),
    Conversation("joao", "closed", "financeiro", "camila", (1, "09:40"), (
        (C, "Bom dia. Preciso da nota fiscal do pedido 47200 para o reembolso da empresa"),
        (A, "Bom dia, João Pedro! Enviei a DANFE e o XML para o e-mail do cadastro."),
        (C, "Recebi. Obrigado"),
    )),
    Conversation("patricia", "closed", "financeiro", "camila", (1, "15:55"), (
        (C, "Dá pra parcelar no boleto?"),
        (A, "Oi, Patrícia! No boleto é só à vista, mas no cartão parcelamos em até 10x sem juros."),
        (C, "Ok, vou no cartão então"),
        (A, "Combinado! Qualquer dúvida, estou por aqui."),
    )),
    Conversation("fernanda", "closed", "suporte", "diego", (1, "17:20"), (
        (C, "Meu pedido aparece como entregue mas eu não recebi"),
        (A, "Oi, Fernanda, sou o Diego. Abri uma ocorrência com a transportadora; às vezes fica na portaria. Consegue verificar?"),
        (C, "Estava na portaria mesmo, desculpa!"),
        (A, "Imagina, que bom que apareceu!"),
    )),
    # -- Em atendimento: today --------------------------------------------------------
    Conversation("larissa", "open", "comercial", "ana", 230, (
        (C, "Boa tarde! Queria um orçamento do conjunto de panelas 5 peças com o faqueiro de 24 peças"),
        (A, "Boa tarde, Larissa! Aqui é a Ana 😊 O conjunto sai R$ 389,90 e o faqueiro R$ 149,90. Levando os dois, faço R$ 499,00 no Pix."),
        (C, "Consegue parcelar no cartão?"),
        (A, "Consigo sim: até 6x sem juros, total de R$ 538,98. No Pix continua R$ 499,00."),
        (C, "Vou pensar e te falo ainda hoje"),
    )),
    Conversation("felipe", "open", "comercial", "ana", 95, (
        (C, "Oi, posso comprar pelo site e retirar na loja?"),
        (A, "Oi, Felipe! Pode sim: escolha \"Retirar na loja\" no checkout. Fica pronto em até 2 horas."),
        (C, "Perfeito. E hoje vocês ficam abertos até que horas?"),
        (A, "Hoje até as 20h. Sábado, das 9h às 14h."),
    )),
    Conversation("vanessa", "open", "comercial", "ana", 48, (
        (C, "O cupom BEMVINDA10 não está funcionando no site"),
        (A, "Oi, Vanessa! Esse cupom vale na primeira compra acima de R$ 150. Quanto está o seu carrinho?"),
        (C, "Dá 142 reais"),
        (C, "Ah, entendi, então preciso colocar mais alguma coisa"),
        (A, "Isso! O pano de prato de R$ 12,90 já completa 😉"),
    )),
    Conversation("rodrigo", "open", "suporte", "bruno", 180, (
        (C, "O app não mostra o rastreio do meu pedido"),
        (C, "pedido 48102"),
        (A, "Olá, Rodrigo! Aqui é o Bruno, do suporte técnico. Seu app está na versão 3.2? Ela corrigiu um erro no rastreio."),
        (C, "Tô com a 3.1"),
        (A, "Então atualize pela loja de aplicativos e abra de novo, por favor. Se continuar, me mande um print da tela."),
        (C, "Atualizei e agora apareceu! Valeu"),
    )),
    Conversation("tatiane", "open", "suporte", "bruno", 130, (
        (C, "Boa tarde, a air fryer parou de esquentar com 2 meses de uso"),
        (A, "Boa tarde, Tatiane! Sinto muito. Ela está na garantia de 12 meses. Pode me mandar o número do pedido e uma foto da etiqueta de série?"),
        (C, "Pedido 46588. Vou tirar a foto"),
        (A, "Combinado, fico no aguardo."),
    )),
    Conversation("marcelo", "open", "suporte", "bruno", 62, (
        (C, "Esqueci a senha do app"),
        (A, "Oi, Marcelo! Na tela de entrada toque em \"Esqueci minha senha\" e informe o seu e-mail. O link chega em até 5 minutos."),
        (C, "Chegou, mas o link diz que expirou"),
        (A, "Ele vale por 30 minutos. Gerei um novo agora, confere a caixa de entrada?"),
    )),
    Conversation("renata", "open", "financeiro", "camila", 150, (
        (C, "Oi, preciso da segunda via do boleto, perdi o e-mail"),
        (A, "Oi, Renata, aqui é a Camila, do Financeiro. Me passa o número do pedido, por favor?"),
        (C, "É o 47731"),
        (A, "Pronto! Reenviei o boleto atualizado para o seu e-mail, com vencimento na sexta-feira."),
        (C, "Recebi, obrigada!"),
        (A, "Por nada! Qualquer coisa estou por aqui."),
    )),
    Conversation("andre", "open", "comercial", "camila", 75, (
        (C, "Boa tarde. Tenho uma loja em Joinville e quero revender os potes herméticos de vocês"),
        (A, "Boa tarde, André! Para revenda temos 25% de desconto a partir de 60 unidades. Posso te mandar o catálogo?"),
        (C, "Pode mandar sim"),
        (C, "Vocês faturam no boleto para 28 dias?"),
    )),
    Conversation("daniela", "open", "suporte", "diego", 110, (
        (C, "Comprei a cafeteira expresso e a luz fica piscando"),
        (A, "Oi, Daniela, sou o Diego, do suporte. Luz piscando indica reservatório vazio ou mal encaixado. Pode conferir?"),
        (C, "Estava mal encaixado mesmo 🤦‍♀️ agora foi"),
        (A, "Que ótimo! Bom café ☕"),
    )),
    Conversation("eduardo", "open", "suporte", "diego", 70, (
        (C, "Quero trocar o ventilador, veio 220V e eu pedi 127V"),
        (A, "Olá, Eduardo! Peço desculpas pelo erro. Vou agendar a coleta sem custo. Confirma o endereço de entrega?"),
        (C, "Rua das Acácias, 120, Lagoa Nova, Natal"),
        (A, "Pronto! A transportadora passa em até 3 dias úteis e o ventilador 127V sai assim que a coleta for feita."),
        (C, "Beleza, mas na quinta não vou estar em casa"),
    )),
    # -- Esperando: the last minutes -------------------------------------------------
    Conversation("gustavo", "pending", "comercial", "ana", 55, (
        (C, "Oi, fiz um pedido no cartão e apareceu cobrança duplicada na fatura"),
        (A, "Olá, Gustavo! Aqui é a Ana. Sinto muito pelo transtorno. Qual o número do pedido?"),
        (C, "Pedido 47950"),
        (A, "Obrigada! Como é cobrança, vou te passar para o nosso Financeiro, que resolve isso rapidinho."),
        (TRANSFER, "financeiro"),
        (C, "Ok, fico no aguardo"),
    )),
    Conversation("thiago", "pending", "comercial", None, 40, (
        (C, "Olá, queria um orçamento de 40 jogos de xícaras para brinde de fim de ano da empresa"),
        (C, "Vocês emitem nota com CNPJ?"),
        (C, "Precisamos até o dia 10"),
    )),
    Conversation("juliana", "pending", "financeiro", None, 34, (
        (C, "Bom dia, preciso da segunda via do boleto do pedido 48213, o meu venceu ontem"),
    )),
    Conversation("rafael", "pending", "suporte", None, 28, (
        (C, "Oi de novo! Agora o app fica travado na tela de carregamento"),
        (C, "Já desinstalei e instalei de novo, não resolveu"),
    )),
    Conversation("aline", "pending", "suporte", None, 22, (
        (C, "Não consigo entrar no app, diz que minha senha está errada"),
        (C, "Pedi pra redefinir mas o e-mail não chega"),
        (C, "Já olhei no spam"),
        (C, "??"),
    )),
    Conversation("carlos", "pending", "suporte", None, 17, (
        (C, "O liquidificador que comprei chegou com a jarra trincada"),
        (C, "Pedido 48007, comprei semana passada. Como faço pra trocar?"),
    )),
    Conversation("cida", "pending", None, None, 12, (
        (C, "Bom dia! Que horas vocês abrem no sábado?"),
        (C, "É a loja da Av. Brasil"),
    )),
    Conversation("beatriz", "pending", "comercial", None, 9, (
        (C, "Vocês entregam em Campinas?"),
        (C, "Qual o prazo e o frete pro CEP 13083-970?"),
    )),
    Conversation("mariana", "pending", "comercial", None, 6, (
        (C, "Oi, boa tarde!"),
        (C, "Vocês têm a panela de pressão elétrica de 6 litros?"),
        (C, "Se tiver, quero saber o valor no Pix 😊"),
    )),
    Conversation("lucas", "pending", None, None, 2, (
        (C, "oi"),
    )),
)
