"""The production pieces as an operator runs them: the `flask` commands, a real gunicorn
(gevent workers, gunicorn.conf.py) and Debian's nginx, each a child process of the test."""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from ..conftest import _pg_url

ROOT = Path(__file__).resolve().parents[2]
# Variables of the test run that must not leak into the app under test.
_OURS = ("PROMETHEUS_MULTIPROC_DIR", "REDIS_URL", "PUBLIC_URL", "DATABASE_URL", "SECRET_KEY", "MEDIA_DIR",
         "TRUSTED_PROXIES", "WEB_CONCURRENCY", "BIND", "PORT", "ACCESS_LOG", "METRICS_TOKEN", "OUTBOX_WORKER")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(**settings) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in _OURS and not k.startswith("PYTEST_")}
    return {**base, **{k: str(v) for k, v in settings.items()}}


def flask(*args: str, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    """``flask --app app ARGS``, the README's way."""
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=180)
    if check:
        assert result.returncode == 0, f"flask {' '.join(args)}: {result.stdout}\n{result.stderr}"
    return result


def fresh_pg_database(name: str) -> str:
    """DROP and CREATE ``name`` beside the test database; answers its plain postgresql:// URL."""
    admin = sa.create_engine(_pg_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = sa.engine.make_url(_pg_url()).set(drivername="postgresql", database=name)
    return url.render_as_string(hide_password=False)


def drop_pg_database(name: str) -> None:
    admin = sa.create_engine(_pg_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def wait_for_http(host: str, port: int, path: str = "/healthz", timeout: float = 60, process=None, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode}: {Path(log).read_text() if log else ''}")
        try:
            conn = http.client.HTTPConnection(host, port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status < 500:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"nothing answered on {host}:{port}{path} within {timeout} s: "
                         f"{Path(log).read_text() if log else ''}")


class Process:
    """A child process with its output in a log file, stopped by SIGTERM (then SIGKILL)."""

    def __init__(self, args: list[str], env: dict, log: Path):
        self.log = log
        self._log_file = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self._log_file, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def children(self) -> set[int]:
        found = set()
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            found |= {int(pid) for pid in (task / "children").read_text().split()}
        return found

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        self._log_file.close()


def gunicorn(env: dict, port: int, log: Path) -> Process:
    """``gunicorn -c gunicorn.conf.py app:app``, the README's production command, on ``port``."""
    process = Process([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:app"],
                      {**env, "BIND": f"127.0.0.1:{port}"}, log)
    try:
        wait_for_http("127.0.0.1", port, process=process.popen, log=log)
    except BaseException:
        process.stop()
        raise
    return process
