"""The service files (issue 17, part 3), checked as far as this machine can: docker does not run
here, so the compose file is parsed and its settings and commands compared with the README; the
systemd units go through ``systemd-analyze verify`` (configparser where it is missing); and the
worker's command really runs: it delivers a queued reply and stops cleanly on SIGTERM."""
from __future__ import annotations

import configparser
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

import uuid

import pytest
import redis
import yaml

from ..channels.fake_provider import FakeProvider
from ..conftest import REDIS_URL
from .servers import ROOT, Process, environment, flask

DEPLOY = ROOT / "deploy"
UNITS = ("atendimento-web.service", "atendimento-worker.service")
# What a production installation must set, of the README's settings table: where the data is
# (database, files), the broker shared by the workers, the key that signs sessions, the address
# providers reach, the proxy in front, and the upload limit the proxy's own limit is sized for.
PRODUCTION = {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PUBLIC_URL", "MEDIA_DIR", "TRUSTED_PROXIES"}


def readme_settings() -> set[str]:
    section = (ROOT / "README.md").read_text().split("## Settings (environment)", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", section, re.M))


def production_section() -> str:
    """The README's Production section with its whitespace collapsed, to look commands up in."""
    text = (ROOT / "README.md").read_text().split("\n## Production", 1)[1].split("\n## ", 1)[0]
    return " ".join(text.replace("\\\n", " ").split())


def _words(command) -> str:
    return " ".join(command) if isinstance(command, list) else " ".join(command.split())


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def dockerfile_commands() -> list[str]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    commands = []
    for line in text.splitlines():
        instruction, _, rest = line.strip().partition(" ")
        if instruction in ("RUN", "CMD", "ENTRYPOINT"):
            rest = rest.strip()
            commands.append(_words(yaml.safe_load(rest)) if rest.startswith("[") else _words(rest))
    return commands


def test_compose_has_every_service_and_the_settings_production_needs():
    services = compose()["services"]
    assert {"app", "worker", "db", "redis", "nginx"} <= set(services)
    known = readme_settings()
    assert PRODUCTION <= known
    for name in ("app", "worker", "migrate"):
        environment = services[name]["environment"]
        assert PRODUCTION <= set(environment), (name, PRODUCTION - set(environment))
        assert set(environment) <= known | {"BIND"}, f"{name} sets what the README does not list"
    assert services["app"]["environment"]["OUTBOX_WORKER"] == "0", "the worker service delivers"
    assert services["app"]["environment"]["TRUSTED_PROXIES"] == "1"
    nginx_conf = [v for v in services["nginx"]["volumes"] if v.endswith("/etc/nginx/conf.d/default.conf:ro")]
    assert nginx_conf == ["./nginx/atendimento.conf:/etc/nginx/conf.d/default.conf:ro"], "the tested file"


def test_the_dockerfile_and_compose_run_the_readmes_production_commands():
    readme = production_section()
    commands = dockerfile_commands()
    assert commands, "the Dockerfile runs something"
    commands += [_words(s["command"]) for s in compose()["services"].values() if "command" in s and "image" in s
                 and s["image"].startswith("atendimento")]
    assert any("gunicorn -c gunicorn.conf.py app:app" in c for c in commands)
    assert any("flask --app app outbox" in c for c in commands)
    missing = [c for c in commands if c not in readme]
    assert missing == [], "every container command is one the README's Production section shows"


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string((DEPLOY / "systemd" / name).read_text())
    return parser


@pytest.mark.parametrize("name", UNITS)
def test_the_systemd_units_restart_read_the_environment_file_and_run_as_their_user(name):
    service = _unit(name)["Service"]
    assert service["Restart"] == "on-failure"
    assert service["EnvironmentFile"] == "/etc/atendimento/atendimento.env"
    assert service["User"] == "atendimento" and service["WorkingDirectory"] == "/srv/atendimento"
    command = shlex.split(service["ExecStart"])
    assert command[0].startswith("/srv/atendimento/.venv/bin/")
    shown = " ".join([command[0].removeprefix("/srv/atendimento/"), *command[1:]])
    assert shown in production_section(), f"{shown!r}: the README shows what the unit runs"
    if name == "atendimento-web.service":
        assert command[1:] == ["-c", "gunicorn.conf.py", "app:app"]
        assert "OUTBOX_WORKER=0" in service["Environment"].split() and \
            "BIND=127.0.0.1:8000" in service["Environment"].split(), "only nginx reaches it; the worker delivers"
    else:
        assert command[1:] == ["--app", "app", "outbox"]


def test_the_systemd_units_pass_systemd_analyze(tmp_path):
    """``systemd-analyze verify`` wants the commands to exist: the units are checked with the
    code's folder as this checkout, their only change."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:  # configparser above has read them; nothing more to check without systemd
        for name in UNITS:
            assert set(_unit(name)) >= {"Unit", "Service", "Install"}
        return
    for name in UNITS:
        (tmp_path / name).write_text((DEPLOY / "systemd" / name).read_text().replace("/srv/atendimento", str(ROOT)))
    result = subprocess.run([analyze, "verify", *(str(tmp_path / name) for name in UNITS)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr.strip() == "" and result.stdout.strip() == "", \
        result.stdout + result.stderr


def test_the_environment_file_names_what_production_needs():
    template = (DEPLOY / "systemd" / "atendimento.env").read_text()
    named = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", template, re.M))
    assert PRODUCTION <= named <= readme_settings()


@pytest.fixture
def gateway():
    fake = FakeProvider().start()
    fake.on("POST", "/send", lambda req, m: (200, {"id": f"gw-{req.json['id']}"}))
    yield fake
    fake.stop()


def _installation(tmp_path, gateway, **settings) -> tuple[dict, str]:
    env = environment(DATABASE_URL=f"sqlite:///{tmp_path / 'atendimento.db'}", MEDIA_DIR=tmp_path / "media",
                      SECRET_KEY="worker-test-secret-0123456789abcdef", **settings)
    flask("db", "upgrade", env=env)
    return env, gateway.url + "/send"


def _delivered(gateway, log, within: float) -> list[str]:
    deadline = time.monotonic() + within
    while not gateway.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gateway.requests, log.read_text()
    return [r.json["text"] for r in gateway.requests]


def _stops_on_sigterm(worker: Process) -> None:
    worker.popen.send_signal(signal.SIGTERM)
    assert worker.popen.wait(timeout=15) == 0
    worker.stop()
    assert "Outbox stopped." in worker.log.read_text()


def test_the_worker_command_delivers_and_stops_on_sigterm(tmp_path, gateway):
    """What atendimento-worker.service runs: `flask --app app outbox`, with the web's workers off."""
    env, outbound_url = _installation(tmp_path, gateway, OUTBOX_POLL_S=1)
    _queue_a_reply(env, outbound_url)
    worker = Process([sys.executable, "-m", "flask", "--app", "app", "outbox"], env, tmp_path / "worker.log")
    try:
        assert _delivered(gateway, worker.log, within=30) == ["Olá, em que posso ajudar?"]
        _stops_on_sigterm(worker)
    finally:
        worker.stop()
    status = _python("from atendimento.models import Message\nfrom atendimento.extensions import db\n"
                     "print(db.session.scalar(db.select(Message.status).where(Message.direction == 'out')))", env)
    assert status.strip() == "sent"


def test_a_reply_queued_by_the_web_wakes_the_worker_through_redis(tmp_path, gateway, services_up):
    """The web's processes have no worker (OUTBOX_WORKER=0): they wake the worker process through
    Redis, so the reply leaves at once, not at its next look a minute later."""
    prefix = f"wake-test-{uuid.uuid4().hex[:8]}"
    env, outbound_url = _installation(tmp_path, gateway, OUTBOX_POLL_S=60, REDIS_URL=REDIS_URL,
                                    REALTIME_KEY_PREFIX=prefix)
    worker = Process([sys.executable, "-m", "flask", "--app", "app", "outbox"], env, tmp_path / "worker.log")
    try:
        listening = redis.Redis.from_url(REDIS_URL)
        number = listening.connection_pool.connection_kwargs.get("db", 0)
        deadline = time.monotonic() + 30
        while not listening.pubsub_numsub(f"{prefix}:db{number}:outbox")[0][1] and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # its first look at the (empty) queue is over
        queued = time.monotonic()
        _queue_a_reply(env, outbound_url)
        assert _delivered(gateway, worker.log, within=30) == ["Olá, em que posso ajudar?"]
        assert time.monotonic() - queued < 20, "woken, not found by the next look (OUTBOX_POLL_S=60)"
        _stops_on_sigterm(worker)
    finally:
        worker.stop()


def _python(code: str, env: dict) -> str:
    """Python in the installed app (``from app import app``), as ``flask shell`` would give."""
    result = subprocess.run([sys.executable, "-c", "from app import app\nwith app.app_context():\n" +
                             "".join(f"    {line}\n" for line in code.strip().splitlines())],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _queue_a_reply(env: dict, outbound_url: str) -> None:
    """An admin and a generic connection (the CLI's services); a customer writes, the admin
    accepts and answers through the webhook and the API: one queued reply."""
    _python(f"""
import hashlib, hmac, json
from atendimento.admin.users import create_admin_account
from atendimento.auth.service import issue_token
from atendimento.extensions import db
admin = create_admin_account({{"email": "admin@example.com", "password": "worker-test-password", "name": "Admin"}})
_token, token = issue_token(admin)
db.session.commit()
client = app.test_client()
auth = {{"Authorization": f"Bearer {{token}}"}}
made = client.post("/api/v1/connections", headers=auth, json={{"name": "Loja", "kind": "generic",
                   "settings": {{"outbound_url": {outbound_url!r}}}}})
assert made.status_code == 201, made.json
conn = made.json
raw = json.dumps({{"id": "in-1", "from": "5511955554444", "name": "Cliente", "text": "Oi"}}).encode()
signature = "sha256=" + hmac.new(conn["secret"].encode(), raw, hashlib.sha256).hexdigest()
answer = client.post(f"/webhooks/generic/{{conn['token']}}", data=raw,
                     headers={{"X-Signature-256": signature, "Content-Type": "application/json"}})
assert answer.status_code == 200, answer.data
ticket = client.get("/api/v1/tickets", headers=auth).json["items"][0]
assert client.post(f"/api/v1/tickets/{{ticket['id']}}/accept", headers=auth).status_code == 200
answer = client.post(f"/api/v1/tickets/{{ticket['id']}}/messages", json={{"text": "Olá, em que posso ajudar?"}},
                     headers=auth)
assert answer.status_code == 201 and answer.json["status"] == "queued", answer.json
""", {**env, "OUTBOX_WORKER": "0"})
