"""Message files: stored under ``MEDIA_DIR`` with generated names, typed by their content.

Nothing a sender says is trusted for storage or serving: the name on disk is random,
the MIME type comes from the file's first bytes (a declared type is kept only for
harmless document types the bytes cannot tell apart), and every file is size-limited
on the way in. A file that would render as something else (an "image" that is HTML)
is stored as an opaque document.
"""
from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from datetime import datetime, timezone
from pathlib import Path

from flask import current_app, has_request_context, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from .audio import probe_duration
from .channels import http


class MediaUnavailable(Exception):
    """An inbound file could not be fetched or kept. ``permanent`` ones (too big, refused
    by the provider for good) are not retried."""

    def __init__(self, message: str, *, permanent: bool = False):
        self.permanent = permanent
        super().__init__(message)


class MediaTooLarge(MediaUnavailable):
    """Over ``MAX_UPLOAD_MB``."""


OCTET = "application/octet-stream"

# Declared types we keep when the bytes alone cannot say (plain text, Office formats
# that are ZIP or OLE containers). None of them renders inline in a browser.
SAFE_DECLARED = {
    "text/plain", "text/csv", "application/rtf",
    "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation", "application/zip", "application/x-tgsticker",
}
CONTAINERS = {"application/zip": "zip", "application/x-ole-storage": "ole", "application/gzip": "gzip"}

EXTENSIONS = {
    "image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp",
    "audio/ogg": ".ogg", "audio/mpeg": ".mp3", "audio/mp4": ".m4a", "audio/amr": ".amr", "audio/wav": ".wav",
    "audio/aac": ".aac", "video/mp4": ".mp4", "video/3gpp": ".3gp", "video/webm": ".webm",
    "video/quicktime": ".mov", "application/pdf": ".pdf", "application/zip": ".zip", "text/plain": ".txt",
    "text/csv": ".csv", "application/msword": ".doc", "application/vnd.ms-excel": ".xls",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/gzip": ".gz",
}


def sniff(data: bytes, declared: str | None = None) -> str:
    """The MIME type the content shows; ``declared`` only breaks ties among harmless types."""
    head = data[:64]
    declared = (declared or "").split(";")[0].strip().lower()
    found = _magic(head)
    if found in CONTAINERS:
        # A .docx is a ZIP, a .doc an OLE file: the declared Office type is the better name.
        if declared in SAFE_DECLARED:
            return declared
        return found if found != "application/x-ole-storage" else OCTET
    if found:
        return found
    if declared in SAFE_DECLARED and declared != "application/zip":
        return declared
    return OCTET


def _magic(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "audio/aac"  # ADTS frame
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
                                   and head[1] & 0x06 != 0):
        return "audio/mpeg"
    if head.startswith(b"#!AMR"):
        return "audio/amr"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B "):
            return "audio/mp4"
        if brand.startswith(b"3g"):
            return "video/3gpp"
        if brand == b"qt  ":
            return "video/quicktime"
        return "video/mp4"
    if head.startswith(b"\x1aE\xdf\xa3"):
        return "video/webm"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        return "application/zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "application/x-ole-storage"
    if head.startswith(b"\x1f\x8b"):
        return "application/gzip"
    return None


def kind_for(mime: str, hint: str | None = None) -> str:
    """The message kind a file may be shown as: the provider's hint, unless the bytes disagree."""
    family = mime.split("/")[0]
    if hint in ("image", "sticker"):
        return hint if family == "image" else "document"
    if hint == "audio":
        return "audio" if family == "audio" or mime == "video/mp4" else "document"
    if hint == "video":
        return "video" if family == "video" else "document"
    if hint == "document":
        return "document"
    return {"image": "image", "audio": "audio", "video": "video"}.get(family, "document")


def max_bytes() -> int:
    return int(current_app.config.get("MEDIA_MAX_BYTES") or current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024)


def media_root() -> Path:
    return Path(current_app.config["MEDIA_DIR"]).resolve()


def absolute(relative_path: str) -> Path | None:
    """The file of a stored ``media_path``, or None when it would leave MEDIA_DIR."""
    root = media_root()
    path = (root / relative_path).resolve()
    return path if root in path.parents else None


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")


def display_name(filename: str | None, mime: str, kind: str) -> str:
    """The name shown and offered on download: the sender's basename, cleaned, or a made-up one."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME.sub("", name).strip().lstrip(".")[:200]
    return name or f"{kind}{EXTENSIONS.get(mime, '')}"


def store(data: bytes, *, declared_mime: str | None = None, filename: str | None = None,
          kind_hint: str | None = None) -> dict:
    """Write ``data`` under a generated name; answer what a Message keeps of it."""
    if not data:
        raise MediaUnavailable("empty file", permanent=True)
    if len(data) > max_bytes():
        raise MediaTooLarge(f"file too large ({len(data)} bytes)", permanent=True)
    mime = sniff(data, declared_mime)
    kind = kind_for(mime, kind_hint)
    now = datetime.now(timezone.utc)
    relative = f"{now:%Y/%m}/{secrets.token_hex(16)}{EXTENSIONS.get(mime, '.bin')}"
    path = media_root() / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)  # a reader never sees half a file
    return {"path": relative, "mime": mime, "name": display_name(filename, mime, kind), "size": len(data),
            "kind": kind, "duration": probe_duration(data) if kind in ("audio", "video") else None}


BASE64_CHUNK = 1024 * 1024  # characters decoded at a time: memory stays near this, whatever the file


def store_base64(text: str | bytes | memoryview, *, declared_mime: str | None = None, filename: str | None = None,
                 kind_hint: str | None = None, limit: int | None = None) -> dict:
    """Like ``store`` for a file a webhook carried inline in base64 (a ``data:`` URL too),
    as text or a view into the raw body (``channels.inline``), decoded a chunk at a time
    straight into the media folder: the decoded file is never whole in memory beside its
    text. ``limit``: the channel's own size for the kind."""
    limit = limit or max_bytes()
    if isinstance(text, str):
        def piece(a, b):
            return text[a:b].encode("ascii", "ignore")
        prefix = text[:5] == "data:"
        comma = text.find(",", 0, 512) if prefix else -1
    else:
        def piece(a, b):
            return bytes(text[a:b])
        prefix = bytes(text[:5]) == b"data:"
        comma = bytes(text[:512]).find(b",") if prefix else -1
    start = comma + 1 if prefix else 0
    now = datetime.now(timezone.utc)
    stem = f"{now:%Y/%m}/{secrets.token_hex(16)}"
    tmp = media_root() / f"{stem}.part"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    size, head, carry = 0, b"", b""
    try:
        with open(tmp, "wb") as handle:
            for offset in range(start, len(text), BASE64_CHUNK):
                chunk = carry + piece(offset, offset + BASE64_CHUNK).translate(None, b" \t\r\n")
                cut = len(chunk) - len(chunk) % 4
                chunk, carry = chunk[:cut], chunk[cut:]
                data = base64.b64decode(chunk, validate=False)
                size += len(data)
                if size > limit:
                    raise MediaTooLarge(f"file too large (over {limit} bytes)", permanent=True)
                head = head or data[:64]
                handle.write(data)
            if carry:
                data = base64.b64decode(carry + b"=" * (-len(carry) % 4), validate=False)
                size += len(data)
                head = head or data[:64]
                handle.write(data)
    except (binascii.Error, ValueError):
        tmp.unlink(missing_ok=True)
        raise MediaUnavailable("the inline file is not base64", permanent=True) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if not size:
        tmp.unlink(missing_ok=True)
        raise MediaUnavailable("empty file", permanent=True)
    mime = sniff(head, declared_mime)
    kind = kind_for(mime, kind_hint)
    relative = stem + EXTENSIONS.get(mime, ".bin")
    path = media_root() / relative
    os.replace(tmp, path)  # a reader never sees half a file
    return {"path": relative, "mime": mime, "name": display_name(filename, mime, kind), "size": size,
            "kind": kind, "duration": probe_duration(path) if kind in ("audio", "video") else None}


def read_upload(upload) -> bytes:
    """The content of an attendant's upload (a werkzeug ``FileStorage``), read with the size limit."""
    limit = max_bytes()
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise MediaTooLarge(f"file too large (over {limit} bytes)", permanent=True)
    return data


def save_upload(upload) -> dict:
    """An attendant's upload, stored as it came."""
    return store(read_upload(upload), declared_mime=upload.mimetype, filename=upload.filename)


def discard(relative_path: str | None) -> None:
    path = absolute(relative_path) if relative_path else None
    if path is not None and path.is_file():
        path.unlink()


def download(url: str, *, headers: dict | None = None, timeout: float = 60,
             untrusted: bool = False, trusted_hosts=()) -> tuple[bytes, str | None]:
    """GET a file with the size limit; ``MediaUnavailable`` on any failure.

    ``untrusted``: the URL came in a webhook payload, not from a provider's API we
    configured, so it may only reach public addresses (or ``trusted_hosts``), unless
    ``MEDIA_FETCH_PRIVATE`` allows every address (a LAN-only installation)."""
    guard = None
    if untrusted and not current_app.config.get("MEDIA_FETCH_PRIVATE"):
        guard = http.public_only(trusted_hosts)
    try:
        response = http.request("GET", url, headers=headers, timeout=timeout, max_bytes=max_bytes(), guard=guard)
    except http.Refused as error:
        raise MediaUnavailable(f"URL refused: {error}", permanent=True) from None
    except http.TooLarge as error:
        raise MediaUnavailable(f"file too large: {error}", permanent=True) from None
    except http.TransportError as error:
        raise MediaUnavailable(str(error)) from None
    if not response.ok:
        # A 404/410 may only mean "not yet" at some providers; only size is final.
        raise MediaUnavailable(f"HTTP {response.status} downloading media")
    return response.body, response.headers.get("Content-Type")


# -- links a gateway can fetch without a session --------------------------------

def _links() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="media-link")


def link_token(message_id: int) -> str:
    return _links().dumps(message_id)


def message_id_from_link(token: str) -> int | None:
    max_age = current_app.config["MEDIA_LINK_MAX_AGE_S"]
    try:
        value = _links().loads(token, max_age=max_age)
    except BadSignature:
        return None
    return value if isinstance(value, int) else None


def with_request_base(meta: dict | None, media: dict | None) -> dict | None:
    """A file's message keeps the base URL of the request queueing it (an attendant's, or
    the provider's webhook a bot answers), so the worker, which has no request, can build
    its link when ``PUBLIC_URL`` is unset. ProxyFix has already applied X-Forwarded-*."""
    if not media or current_app.config.get("PUBLIC_URL") or not has_request_context():
        return meta
    return {**(meta or {}), "public_url": request.host_url}
