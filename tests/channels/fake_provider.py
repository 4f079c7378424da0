"""A real local HTTP server that plays a provider's API: it records every request,
serves files, answers with handlers the test registers, and fails on demand."""
from __future__ import annotations

import io
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from werkzeug.datastructures import Headers
from werkzeug.formparser import parse_form_data


@dataclass
class Recorded:
    method: str
    path: str
    query: dict
    headers: Headers  # case-insensitive, like HTTP
    body: bytes
    json: object = None
    form: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)  # name -> (filename, content_type, bytes)


class FakeProvider:
    def __init__(self):
        self.requests: list[Recorded] = []
        self._routes: list[tuple[str, re.Pattern, object]] = []
        self._failures: dict[tuple[str, str], list[tuple[int, object]]] = {}
        self._files: dict[str, tuple[bytes, str]] = {}
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.provider = self
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- what the test sets up ---------------------------------------------------

    def on(self, method: str, path_pattern: str, handler) -> None:
        """``handler(request, match)`` answers ``(status, body)`` or ``(status, body, headers)``;
        a dict/list body is sent as JSON."""
        self._routes.insert(0, (method, re.compile(path_pattern + "$"), handler))

    def fail(self, method: str, path: str, times: int = 1, status: int = 503, body=None) -> None:
        """The next ``times`` requests to ``path`` answer ``status`` (``status=0`` drops the connection)."""
        with self._lock:
            self._failures.setdefault((method, path), []).extend([(status, body)] * times)

    def file(self, path: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        self._files[path] = (data, content_type)
        return self.url + path

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests
                    if (method is None or r.method == method) and (path is None or re.fullmatch(path, r.path))]

    # -- serving -----------------------------------------------------------------

    def _respond(self, recorded: Recorded):
        with self._lock:
            self.requests.append(recorded)
            queue = self._failures.get((recorded.method, recorded.path))
            failure = queue.pop(0) if queue else None
        if failure is not None:
            status, body = failure
            return status, body if body is not None else {"error": "unavailable"}, {}
        if recorded.method == "GET" and recorded.path in self._files:
            data, content_type = self._files[recorded.path]
            return 200, data, {"Content-Type": content_type}
        for method, pattern, handler in self._routes:
            match = pattern.match(recorded.path)
            if method == recorded.method and match:
                answer = handler(recorded, match)
                return answer if len(answer) == 3 else (*answer, {})
        return 404, {"error": f"no route for {recorded.method} {recorded.path}"}, {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output quiet
        pass

    def _handle(self):
        provider: FakeProvider = self.server.provider
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        recorded = Recorded(self.command, parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()},
                            Headers(list(self.headers.items())), body)
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            try:
                recorded.json = json.loads(body)
            except ValueError:
                pass
        elif content_type.startswith("multipart/form-data"):
            environ = {"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
                       "CONTENT_TYPE": content_type, "REQUEST_METHOD": "POST"}
            _stream, form, files = parse_form_data(environ)
            recorded.form = form.to_dict()
            recorded.files = {name: (f.filename, f.mimetype, f.read()) for name, f in files.items()}
        status, answer, headers = provider._respond(recorded)
        if status == 0:  # the channel is down: no HTTP answer at all
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if isinstance(answer, (dict, list)):
            data, headers = json.dumps(answer).encode(), {"Content-Type": "application/json", **headers}
        elif isinstance(answer, str):
            data, headers = answer.encode(), {"Content-Type": "text/plain", **headers}
        else:
            data = answer or b""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = _handle
