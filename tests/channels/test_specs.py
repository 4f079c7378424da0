"""A channel kind is declared once, in the spec beside its adapter (channels/spec.py), and
everything else reads it: the model's kinds, the admin pages, the composer's warning."""
import ast
import html
import re
import subprocess
import sys
from pathlib import Path

import pytest
from flask_babel import force_locale

from atendimento import models
from atendimento.channels.registry import ADAPTERS, SPECS
from atendimento.channels.spec import ChannelSpec, Setting
from atendimento.extensions import db
from atendimento.models import Connection

ROOT = Path(__file__).resolve().parents[2]
# Files that still name a kind and are being changed to read the spec; each must leave this
# list once it does (the last test fails until then).
PENDING: set[str] = set()


def _text(response) -> str:
    """The page as a reader sees it: entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


def _shown(value, locale="en") -> str:
    """A lazy string in ``locale``."""
    with force_locale(locale):
        return str(value)


@pytest.mark.parametrize("kind", list(SPECS))
def test_every_registered_kind_has_a_complete_spec(kind):
    spec = ADAPTERS[kind].spec
    assert isinstance(spec, ChannelSpec) and spec is SPECS[kind] and spec.kind == kind
    for text in (spec.label, spec.description, spec.secret_label, spec.secret_help):
        assert str(text).strip(), f"{kind}: a blank label or help"
    assert spec.channel and spec.settings and all(isinstance(s, Setting) for s in spec.settings)
    keys = [s.key for s in spec.settings]
    assert len(keys) == len(set(keys)), f"{kind}: a setting declared twice"
    assert all(str(s.label).strip() for s in spec.settings)
    assert not any(s.secret and s.generated for s in spec.settings), "generated settings are shown in full"
    assert (spec.reply_window is None) == (not spec.reply_window_notice), "a window comes with its notice"


def test_the_database_takes_exactly_the_registered_kinds():
    assert models.CONNECTION_KINDS == tuple(SPECS)


def test_the_registry_imports_none_of_the_app_so_the_models_can_read_it():
    """An adapter importing the models, a service or a blueprint would make ``models`` (which
    takes its kinds from the registry) part of an import cycle."""
    code = ("import sys, atendimento.channels.registry; "
            "print(sorted(m for m in sys.modules if m.startswith('atendimento.')))")
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    heavy = [name for name in ast.literal_eval(loaded)
             if name.split(".")[1] in ("models", "tickets", "admin", "api", "webhooks", "outbox", "realtime")]
    assert not heavy


def test_the_kinds_page_shows_each_spec(factory, client, auth):
    auth.login(factory.admin(language="en"))
    page = _text(client.get("/admin/connections/new"))
    for kind, spec in SPECS.items():
        assert f'id="kind-{kind}"' in page
        assert _shown(spec.label) in page and _shown(spec.description) in page


def test_a_description_moved_beside_its_adapter_keeps_its_translation(factory, client, auth):
    auth.login(factory.admin())  # Portuguese, the default
    page = _text(client.get("/admin/connections/new"))
    for spec in SPECS.values():
        assert _shown(spec.description, "pt_BR") != _shown(spec.description), "translated"
        assert _shown(spec.description, "pt_BR") in page


@pytest.mark.parametrize("kind", list(SPECS))
def test_the_form_shows_the_specs_settings_and_secret(factory, client, auth, kind):
    auth.login(factory.admin(language="en"))
    spec = SPECS[kind]
    page = _text(client.get(f"/admin/connections/new?kind={kind}"))
    assert _shown(spec.label) in page
    for setting in spec.settings:
        assert f'name="settings.{setting.key}"' in page and _shown(setting.label) in page
    assert _shown(spec.secret_help) in page
    assert (_shown(spec.secret_label) in page) == spec.secret_from_provider, "asked for only when we cannot make it"


@pytest.mark.parametrize("kind", list(SPECS))
def test_a_saved_connection_shows_what_its_spec_generates_and_rotates(factory, client, auth, kind):
    spec = SPECS[kind]
    settings = {s.key: f"{s.key}-value-1234" for s in spec.settings}
    connection = factory.connection(kind=kind, settings=settings)
    auth.login(factory.admin(language="en"))
    page = _text(client.get(f"/admin/connections/{connection.id}"))
    assert f"<dt>{_shown(spec.secret_label)}</dt>" in page
    rotatable = set(re.findall(r'name="field" value="([^"]+)"', page))
    assert rotatable == {"token", *(s.key for s in spec.generated_settings),
                         *(() if spec.secret_from_provider else ("secret",))}
    for setting in spec.generated_settings:  # copied into the provider's settings
        assert f"<dt>{_shown(setting.label)}</dt>" in page and settings[setting.key] in page


def test_the_composer_warning_is_the_specs_notice(factory, client, auth):
    windowed = [spec for spec in SPECS.values() if spec.reply_window]
    assert windowed, "WhatsApp Cloud has a 24-hour window"
    attendant = factory.user("Ana Lima", sectors=[factory.sector("Suporte")], language="en")
    for spec in windowed:
        connection = factory.connection(kind=spec.kind, sectors=attendant.sectors)
        ticket = factory.ticket(connection, status="open", assignee=attendant)
        db.session.query(models.Message).filter_by(ticket_id=ticket.id).update(
            {"created_at": models.utcnow() - spec.reply_window * 2})
        db.session.commit()
        auth.login(attendant)
        assert _shown(spec.reply_window_notice) in _text(client.get(f"/tickets/{ticket.id}"))


def test_connection_spec_and_channel_come_from_the_registry():
    for kind, spec in SPECS.items():
        connection = Connection(kind=kind)
        assert connection.spec is spec and connection.channel == spec.channel


def _kind_comparisons(text: str) -> list[str]:
    names = "|".join(re.escape(kind) for kind in SPECS)
    literal = rf"""["'](?:{names})["']"""
    pattern = re.compile(rf"""(?:[!=]=\s*{literal}|{literal}\s*[!=]=|\bin\s*[(\[{{][^)\]}}\n]*{literal})""")
    return pattern.findall(text)


def test_outside_channels_no_code_or_template_names_a_kind():
    """A branch on a kind's name belongs in its spec: adding a kind must not mean finding them."""
    offenders, pending_fixed = [], []
    files = [*(ROOT / "atendimento").rglob("*.py"), *(ROOT / "templates").rglob("*.html")]
    for path in files:
        name = path.relative_to(ROOT).as_posix()
        if name.startswith("atendimento/channels/"):
            continue
        found = _kind_comparisons(path.read_text(encoding="utf-8"))
        if name in PENDING:
            pending_fixed += [] if found else [name]
        elif found:
            offenders.append(f"{name}: {found}")
    assert not offenders, "ask the kind's spec instead:\n" + "\n".join(offenders)
    assert not pending_fixed, f"no longer names a kind: take it out of PENDING: {pending_fixed}"
