"""The pt_BR catalogue is complete, compiles, and is what users see by default."""
import gettext
from io import BytesIO
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PT_BR = ROOT / "atendimento" / "translations" / "pt_BR" / "LC_MESSAGES" / "messages.po"
# The keywords of the documented workflow: ``pybabel extract -F babel.cfg -k _l``.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None}


def _catalog():
    with PT_BR.open("rb") as po_file:
        return read_po(po_file, locale="pt_BR")


def _key(msgid):
    return msgid[0] if isinstance(msgid, (tuple, list)) else msgid


def test_pt_br_has_no_empty_or_fuzzy_entries():
    problems = []
    for message in _catalog():
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        if not all(strings):
            problems.append(f"empty: {message.id!r}")
    assert not problems, "\n".join(problems)


def test_pt_br_placeholders_match_and_it_compiles():
    catalog = _catalog()
    errors = [(message.id, [str(e) for e in errs]) for message, errs in catalog.check()]
    assert not errors
    mo = BytesIO()
    write_mo(mo, catalog, use_fuzzy=False)
    mo.seek(0)
    translations = gettext.GNUTranslations(mo)
    assert translations.gettext("Waiting") == "Esperando"
    assert translations.gettext("In progress") == "Em atendimento"
    assert translations.gettext("Closed") == "Finalizados"


def test_every_string_in_the_sources_is_translated():
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    extracted = {}
    for filename, lineno, msgid, _comments, _context in extract_from_dir(
            ROOT, method_map, options_map, keywords=KEYWORDS):
        extracted.setdefault(_key(msgid), f"{filename}:{lineno}")
    assert "Waiting" in extracted  # the extraction itself found the templates
    known = {_key(message.id) for message in _catalog() if message.id}
    missing = sorted(f"{where}: {msgid!r}" for msgid, where in extracted.items() if msgid not in known)
    assert not missing, "Run the pybabel extract/update of atendimento/i18n.py and translate:\n" + "\n".join(missing)


def test_the_page_speaks_portuguese_by_default(client, factory, auth):
    sector = factory.sector("Suporte")
    ana = factory.user("Ana Lima", sectors=[sector])
    auth.login(ana)
    html = client.get("/tickets").get_data(as_text=True)
    for name in ("Esperando", "Em atendimento", "Finalizados"):
        assert f'<span class="tab-label">{name}</span>' in html
    assert '<html lang="pt-BR">' in html


def test_english_is_available(client, factory, auth):
    ana = factory.user("Ana Lima", language="en")
    auth.login(ana)
    html = client.get("/tickets").get_data(as_text=True)
    for name in ("Waiting", "In progress", "Closed"):
        assert f'<span class="tab-label">{name}</span>' in html
