"""What every response tells the browser about its own safety: a strict Content-Security-Policy
and its companions, and, when the request came over HTTPS (``request.is_secure``, which behind
``TRUSTED_PROXIES`` proxies follows their ``X-Forwarded-Proto``), HSTS and ``Secure`` cookies."""
from __future__ import annotations

import re

from urllib.parse import urlsplit

from flask import request, request_finished
from flask_login import current_user

# The <style> that emoji-picker-element puts in its shadow root (static/vendor/emoji-picker-element,
# README.md there): allowed by its hash, so no 'unsafe-inline'. A new version of the picker has a
# new hash; tests/browser/test_csp.py fails and Chromium's console names the new one.
EMOJI_PICKER_STYLE = "'sha256-rg2BpwZ4T9EADaas/dlxn0KsISPDXXIabE9pnJ++3UQ='"

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",  # every script is a file under static/: no inline script, no eval
    f"style-src 'self' {EMOJI_PICKER_STYLE}",  # no style="": colours go through the CSSOM (colors.js)
    # data: for the favicon; blob: for a picture's preview before it is sent (static/js/
    # attachments.js; only our own scripts can make a blob: URL). Audio and video play from /media.
    "img-src 'self' data: blob:",
    "media-src 'self'",
    "connect-src 'self'",  # fetch and the /stream EventSource
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
))
# A year; no includeSubDomains: other hosts of a self-hosting team's domain are not ours to pin.
STRICT_TRANSPORT_SECURITY = "max-age=31536000"

_SOCKET_HOST = re.compile(r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
_SECURE_FLAG = re.compile(r";\s*secure\s*(?:;|$)", re.IGNORECASE)


def init_app(app) -> None:
    app.after_request(security_headers)
    # Sent after the session cookie is written (after_request runs before that), so every
    # cookie of the response is seen: session, remember-me, whatever an extension adds.
    request_finished.connect(secure_cookies, app)


def softphone_socket() -> str | None:
    """The origin of the signed-in user's SIP WebSocket server: the softphone (static/js/
    softphone.js) connects there, so it joins connect-src for that user only."""
    from .calls.sip_account import line_for  # the user's own account or their team line

    line = line_for(current_user) if current_user else None
    url = urlsplit(str((line.account if line else {}).get("ws_url") or ""))
    if url.scheme not in ("ws", "wss") or not _SOCKET_HOST.fullmatch(url.netloc):
        return None  # nothing that could end the directive or add another
    return f"{url.scheme}://{url.netloc}"


def content_security_policy(document: bool = True) -> str:
    """``document``: an HTML page, the only kind of response that runs the softphone."""
    socket = softphone_socket() if document else None
    if not socket:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace("connect-src 'self'", f"connect-src 'self' {socket}", 1)


def security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(response.mimetype == "text/html"))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors for browsers older than CSP 2
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    return response


def secure_cookies(_app, response, **_extra) -> None:
    """Over HTTPS every cookie is ``Secure``: a session must never travel in clear text, even
    when the same host also answers on plain http."""
    if not request.is_secure:
        return
    cookies = response.headers.getlist("Set-Cookie")
    if cookies:
        response.headers.setlist("Set-Cookie", [
            cookie if _SECURE_FLAG.search(cookie) else f"{cookie}; Secure" for cookie in cookies])
