"""Translations: the catalogues live as .po files; the .mo files are compiled from
them when missing or stale, so a checkout never serves outdated strings.

Workflow for a new string: wrap it in ``_()`` (English text), then
``pybabel extract -F babel.cfg -k _l -o atendimento/translations/messages.pot .`` and
``pybabel update -i atendimento/translations/messages.pot -d atendimento/translations``,
and fill in the ``msgstr`` of ``pt_BR``.
"""
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).parent / "translations"


def compile_translations(directory: Path = TRANSLATIONS) -> list[Path]:
    compiled = []
    for po_path in directory.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        tmp = mo_path.with_suffix(".mo.tmp")
        with tmp.open("wb") as mo_file:
            write_mo(mo_file, catalog, use_fuzzy=False)
        tmp.replace(mo_path)
        compiled.append(mo_path)
    return compiled
