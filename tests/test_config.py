"""Every setting is read in one place (``config.SETTINGS``), listed in the README, and
really changes the app; a value of the wrong type stops the app with the variable named."""
import re
from pathlib import Path

import pytest

from atendimento import create_app
from atendimento.config import FORM_ALLOWANCE, SETTINGS, Config, SettingError

ROOT = Path(__file__).resolve().parent.parent
ROW = re.compile(r"^\| `([A-Z][A-Z0-9_]*)` \| ([^|]*) \|", re.M)


def _readme_tables() -> tuple[dict, dict]:
    """The app's settings table and gunicorn's: variable -> default cell."""
    section = ROOT.joinpath("README.md").read_text().split("## Settings (environment)", 1)[1].split("\n## ", 1)[0]
    app_part, server_part = section.split("gunicorn.conf.py", 1)
    return dict(ROW.findall(app_part)), dict(ROW.findall(server_part))


def _shown(default) -> str:
    """How the README writes a plain default: `16`, `0`, `15`, `atendimento:realtime`."""
    if isinstance(default, bool):
        return f"`{int(default)}`"
    if isinstance(default, float) and default.is_integer():
        return f"`{int(default)}`"
    return f"`{default}`"


def test_the_readme_lists_every_setting_with_its_default():
    listed, _server = _readme_tables()
    assert set(listed) == {s.name for s in SETTINGS}
    for declared in SETTINGS:
        if declared.default is not None and not callable(declared.default):
            assert listed[declared.name].startswith(_shown(declared.default)), declared.name


def test_the_readme_lists_what_gunicorn_conf_reads():
    _listed, server = _readme_tables()
    source = ROOT.joinpath("gunicorn.conf.py").read_text()
    assert set(re.findall(r"environ\.get\([\"'](\w+)[\"']", source)) - {"REDIS_URL"} <= set(server)


def test_no_module_but_config_reads_the_environment():
    readers = [str(path.relative_to(ROOT)) for path in ROOT.joinpath("atendimento").rglob("*.py")
               if path.name != "config.py" and re.search(r"os\.environ|getenv\(", path.read_text())]
    assert readers == []


@pytest.mark.parametrize("name, value", [("MAX_UPLOAD_MB", "lots"), ("REALTIME_QUEUE_SIZE", "1.5"),
                                         ("REALTIME_HEARTBEAT_S", "soon"), ("OUTBOX_WORKER", "maybe")])
def test_a_value_of_the_wrong_type_names_the_variable(tmp_path, name, value):
    with pytest.raises(SettingError, match=rf"^{name} must be .*'{re.escape(value)}'"):
        Config(str(tmp_path), environ={name: value})


def test_unset_or_empty_variables_keep_the_defaults(tmp_path):
    empty = Config(str(tmp_path), environ={s.name: "" for s in SETTINGS if s.name != "SECRET_KEY"})
    unset = Config(str(tmp_path), environ={})
    for declared in SETTINGS:
        key = declared.key or declared.name
        assert getattr(empty, key) == getattr(unset, key), key
    assert (unset.MAX_UPLOAD_MB, unset.OUTBOX_WORKER, unset.REALTIME_HEARTBEAT_S) == (16, True, 15.0)
    assert unset.SQLALCHEMY_DATABASE_URI == f"sqlite:///{tmp_path / 'atendimento.db'}"


@pytest.fixture
def app_from_env(monkeypatch, tmp_path):
    """``create_app`` under the given environment (SQLite in ``tmp_path``, tests' overrides)."""
    made = []

    def make(env: dict, overrides: dict | None = None):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("REDIS_URL", raising=False)
        app = create_app({"TESTING": True, "SECRET_KEY": "test",
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.db'}", **(overrides or {})})
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["realtime"].close()


def test_the_environment_changes_the_running_app(app_from_env):
    app = app_from_env({"REALTIME_QUEUE_SIZE": "7", "REALTIME_HEARTBEAT_S": "2.5", "REALTIME_KEY_PREFIX": "loja2",
                        "OUTBOX_BATCH": "3", "MEDIA_FETCH_PRIVATE": "1", "MAX_UPLOAD_MB": "2",
                        "DATABASE_URL": "postgresql://someone@db/atendimento"})
    broker = app.extensions["realtime"]
    assert (broker.queue_size, broker.heartbeat_s) == (7, 2.5), "the broker runs with the environment's values"
    assert app.config["REALTIME_KEY_PREFIX"] == "loja2"
    assert (app.config["OUTBOX_BATCH"], app.config["MEDIA_FETCH_PRIVATE"]) == (3, True)
    assert app.config["MAX_CONTENT_LENGTH"] == 2 * 1024 * 1024 + FORM_ALLOWANCE  # a 2 MB file and its form
    # create_app's overrides win over the environment (the database here)
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")


def test_overrides_win_and_tests_do_not_start_the_outbox_worker(app_from_env):
    assert app_from_env({"OUTBOX_WORKER": "1"}).config["OUTBOX_WORKER"] is False
    assert app_from_env({}, {"OUTBOX_WORKER": True}).config["OUTBOX_WORKER"] is True
    assert app_from_env({"REALTIME_LOG_SIZE": "50"}, {"REALTIME_LOG_SIZE": 9}).extensions["realtime"].log_size == 9
