"""A small HTTP client for the providers' APIs, on the standard library.

urllib is cooperative under gevent's monkey patching, needs no dependency, and
the few features we use (JSON, multipart upload, size-capped downloads) fit here.
Redirects are followed only to http(s): a provider's URL never leads to a local file.
"""
from __future__ import annotations

import ipaddress
import json
import secrets
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

DEFAULT_TIMEOUT = 30


class TransportError(Exception):
    """The request never got an HTTP answer (refused, reset, timed out, bad URL)."""


class TooLarge(Exception):
    pass


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self):
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def text(self, limit: int = 500) -> str:
        return self.body[:limit].decode("utf-8", "replace")


class Refused(Exception):
    """A URL we will not fetch (it points into our own network)."""


class _SafeRedirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, guard=None):
        super().__init__()
        self.guard = guard

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not newurl.lower().startswith(("http://", "https://")):
            raise urllib.error.HTTPError(newurl, code, "redirect to a non-HTTP URL refused", headers, fp)
        if self.guard is not None:
            self.guard(newurl)  # a public URL must not redirect into our network
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_opener = urllib.request.build_opener(_SafeRedirects)


def public_only(trusted_hosts=()):
    """A guard for URLs that arrive in webhook payloads (SSRF): refuse any host that is, or
    resolves to, a loopback, private, link-local or otherwise non-public address, unless it
    is one of ``trusted_hosts`` (the hosts an admin configured for this connection).

    The check resolves the name before connecting; a DNS answer that changes between the
    two (rebinding) is not caught here — a proxy with its own egress rules is the full fix."""
    trusted = {h.lower() for h in trusted_hosts if h}

    def guard(url: str) -> None:
        host = (urllib.parse.urlsplit(url).hostname or "").lower()
        if not host:
            raise Refused("URL without a host")
        if host in trusted:
            return
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
        except (socket.gaierror, UnicodeError) as error:
            raise TransportError(f"cannot resolve {host}: {error}") from None
        for address in addresses:
            if not ipaddress.ip_address(address.split("%", 1)[0]).is_global:
                raise Refused(f"{host} is not a public address ({address})")

    return guard


def request(method: str, url: str, *, json_body=None, data: bytes | None = None, headers: dict | None = None,
            timeout: float = DEFAULT_TIMEOUT, max_bytes: int | None = None, guard=None) -> Response:
    """One request; any HTTP status comes back as a ``Response``, only transport failures raise
    (and ``Refused`` when ``guard`` rejects the URL or a redirect)."""
    if not url.lower().startswith(("http://", "https://")):
        raise TransportError(f"not an HTTP URL: {url[:80]}")
    opener = _opener
    if guard is not None:
        guard(url)
        opener = urllib.request.build_opener(_SafeRedirects(guard))
    headers = dict(headers or {})
    if json_body is not None:
        data = json.dumps(json_body, separators=(",", ":")).encode()
        headers.setdefault("Content-Type", "application/json")
    headers.setdefault("User-Agent", "Atendimento/1.0")
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with opener.open(req, timeout=timeout) as resp:
            return Response(resp.status, dict(resp.headers), _read(resp, max_bytes))
    except urllib.error.HTTPError as error:
        try:
            body = error.read(1 << 20)
        except OSError:
            body = b""
        finally:
            error.close()
        return Response(error.code, dict(error.headers or {}), body)
    except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise TransportError(f"{type(error).__name__}: {reason}") from None


def _read(stream, max_bytes: int | None) -> bytes:
    if max_bytes is None:
        return stream.read()
    declared = stream.headers.get("Content-Length") if stream.headers else None
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge(f"{declared} bytes, limit {max_bytes}")
    body = stream.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise TooLarge(f"more than {max_bytes} bytes")
    return body


def multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    """Encode form ``fields`` and ``files`` ({name: (filename, content_type, bytes)})."""
    boundary = "atd" + secrets.token_hex(16)
    parts = []
    for name, value in fields.items():
        if value is None:
            continue
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                     + str(value).encode() + b"\r\n")
    for name, (filename, content_type, content) in files.items():
        safe_name = (filename or "file").replace('"', "").replace("\r", "").replace("\n", "")
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{safe_name}"\r\n'
            f"Content-Type: {content_type or 'application/octet-stream'}\r\n\r\n".encode()
            + content + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def post_multipart(url: str, fields: dict, files: dict, *, headers: dict | None = None,
                   timeout: float = DEFAULT_TIMEOUT) -> Response:
    body, content_type = multipart(fields, files)
    return request("POST", url, data=body, headers={**(headers or {}), "Content-Type": content_type},
                   timeout=timeout)


def json_bytes(value) -> bytes:
    """The exact bytes we sign and send."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def is_permanent(status: int) -> bool:
    """4xx means this request will never work as is, except timeouts and rate limits."""
    return 400 <= status < 500 and status not in (408, 425, 429)
