"""Debian's Kamailio as the test registrar and proxy: SIP over WebSocket on a free loopback
port, digest auth against the extensions and passwords given, killed at teardown."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

KAMAILIO = "/usr/sbin/kamailio"
TEMPLATE = Path(__file__).with_name("kamailio.cfg.in")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Kamailio:
    """``with Kamailio(tmp_path, {"1001": "pw"}) as sip: sip.ws_url, sip.domain``."""

    def __init__(self, workdir: Path, users: dict[str, str]):
        self.workdir = Path(workdir)
        self.users = users
        self.port = free_port()
        self.domain = "127.0.0.1"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.log = self.workdir / "kamailio.log"
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> Kamailio:
        self.workdir.mkdir(parents=True, exist_ok=True)
        lines = "\n".join(f'    $sht(users=>{user}) = "{password}";' for user, password in self.users.items())
        cfg = self.workdir / "kamailio.cfg"
        cfg.write_text(TEMPLATE.read_text().format(port=self.port, rundir=self.workdir, users=lines))
        # Its own process group: the children it forks die with it.
        self._process = subprocess.Popen(
            [KAMAILIO, "-DD", "-E", "-f", str(cfg)], cwd=self.workdir,
            stdout=self.log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError("kamailio exited:\n" + self.log.read_text()[-3000:])
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("kamailio did not listen:\n" + self.log.read_text()[-3000:])

    def __exit__(self, *exc) -> None:
        if self._process and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
