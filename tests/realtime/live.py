"""Talking to real server processes over sockets: start/stop, log in, open raw streams."""
from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import redis

from .conftest import PATIENCE, parse_frame

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A ``redis-server`` of the test's own, without persistence: stopped or killed, it comes back empty."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        try:
            for _ in range(200):  # bounded wait for the server to answer
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    time.sleep(0.05)
            raise RuntimeError(f"redis-server did not start on port {self.port}")
        finally:
            client.close()

    def stop(self, sig=signal.SIGTERM):
        self.process.send_signal(sig)
        self.process.wait(timeout=10)

    def kill(self):
        """As a crash: no shutdown, connections cut."""
        self.stop(signal.SIGKILL)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class ServerProcess:
    """A server started as a separate process; waits (bounded) until it accepts connections."""

    def __init__(self, argv: list[str], port: int, log_dir: Path, env: dict | None = None,
                 stop_signal=signal.SIGTERM):
        self.port = port
        self.stop_signal = stop_signal
        self.host = "127.0.0.1"
        self.log = log_dir / f"server-{port}.log"
        self._log_file = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **(env or {})},
                                        stdout=self._log_file, stderr=subprocess.STDOUT)
        for _ in range(600):
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                socket.create_connection((self.host, port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not start: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()

    def request(self, method: str, path: str, body=None, headers=None) -> tuple[int, dict, bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def json(self, method: str, path: str, payload=None, token: str | None = None) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        status, _headers, body = self.request(method, path, json.dumps(payload) if payload is not None else None,
                                              headers)
        return status, (json.loads(body) if body else {})

    def token(self, email: str, password: str = "secret123") -> str:
        status, body = self.json("POST", "/api/v1/tokens", {"email": email, "password": password})
        assert status == 201, body
        return body["token"]

    def login(self, email: str, password: str = "secret123") -> str:
        """The session cookie after logging in through the form (CSRF token and all)."""
        status, headers, body = self.request("GET", "/login")
        cookie = headers["Set-Cookie"].split(";", 1)[0]
        csrf = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', body)
        form = {"email": email, "password": password, **({"csrf_token": csrf.group(1).decode()} if csrf else {})}
        status, headers, body = self.request("POST", "/login", urlencode(form), {
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
        assert status == 302, body[:500]
        return headers["Set-Cookie"].split(";", 1)[0]

    def stream(self, cookie: str, last_event_id: str | None = None) -> RawStream:
        return RawStream(self.host, self.port, cookie, last_event_id)


class RawStream:
    """``GET /stream`` on a plain socket (HTTP/1.0: no chunking), read frame by frame."""

    def __init__(self, host: str, port: int, cookie: str, last_event_id: str | None = None):
        self.sock = socket.create_connection((host, port), timeout=30)
        extra = f"Last-Event-ID: {last_event_id}\r\n" if last_event_id else ""
        self.sock.sendall(f"GET /stream HTTP/1.0\r\nHost: {host}:{port}\r\nCookie: {cookie}\r\n"
                          f"Accept: text/event-stream\r\n{extra}\r\n".encode())
        self._buffer = b""
        while b"\r\n\r\n" not in self._buffer:
            self._read()
        head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        self.status = int(head.split(b" ", 2)[1])
        self.headers = head.decode("latin-1")

    def _read(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("stream closed")
        self._buffer += data

    def next_frame(self) -> dict:
        while b"\n\n" not in self._buffer:
            self._read()
        raw, self._buffer = self._buffer.split(b"\n\n", 1)
        return parse_frame(raw.decode())

    def next_event(self) -> dict:
        # Heartbeats come every 15 s on a real server; the socket timeout bounds the wait.
        for _ in range(PATIENCE):
            frame = self.next_frame()
            if "event" in frame:
                return frame
        raise AssertionError("no event")

    def events_until(self, name: str) -> list[dict]:
        seen = []
        while not seen or seen[-1]["event"] != name:
            seen.append(self.next_event())
        return seen

    def close(self) -> None:
        self.sock.close()


def python_server(port: int, overrides: dict, log_dir: Path) -> ServerProcess:
    return ServerProcess([sys.executable, "-m", "tests.realtime.server", "127.0.0.1", str(port),
                          json.dumps(overrides)], port, log_dir)
