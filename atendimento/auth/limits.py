"""Failed logins are limited per account *and* per client address (SPEC §9), on the page and
the token endpoint alike, with Flask-Limiter: on Redis when ``REDIS_URL`` is set, so every
worker and host counts together, in memory in the embedded mode.

- per account: failures for one e-mail *from one address* (``LOGIN_LIMIT_PER_ACCOUNT``). A
  stranger's failures count against the stranger's address only, so they cannot lock the owner
  out; a success from an address forgets that address's failures for the account.
- per address: failures from one address whatever the e-mail (``LOGIN_LIMIT_PER_ADDRESS``), so
  one address cannot guess across many e-mails.

Only failures count (an answer of 401); a limit reached answers 429 before any password is
checked. The address is ``request.remote_addr``, which ProxyFix sets from ``TRUSTED_PROXIES``.
"""
from __future__ import annotations

import logging

from flask import current_app, request
from flask_limiter.util import get_remote_address

from ..errors import TooManyAttempts
from ..extensions import limiter
from .service import login_email

log = logging.getLogger(__name__)

ACCOUNT_SCOPE = "login-account"
ADDRESS_SCOPE = "login-address"


def init_app(app) -> None:
    """The storage follows ``REDIS_URL``; short Redis timeouts, so an outage falls back to
    memory at once instead of holding the login for seconds."""
    redis_url = app.config.get("REDIS_URL")
    app.config.setdefault("RATELIMIT_STORAGE_URI", redis_url or "memory://")
    if redis_url:
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 1, "socket_timeout": 1})
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)  # Retry-After on a 429
    limiter.init_app(app)


def tried_email() -> str:
    """The e-mail of the attempt, read as ``authenticate`` reads it, from the form or the JSON body."""
    if request.is_json:
        body = request.get_json(silent=True)
        raw = body.get("email") if isinstance(body, dict) else None
    else:
        raw = request.form.get("email")
    return login_email(raw if isinstance(raw, str) else "") or "-"  # an empty key would skip the limit


def _account_from_address() -> str:
    return f"{tried_email()}|{get_remote_address()}"


def _failed(response) -> bool:
    return response.status_code == 401


def _message() -> str:
    return str(TooManyAttempts.default_message)


_per_account = limiter.shared_limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], ACCOUNT_SCOPE, key_func=_account_from_address,
    methods=["POST"], deduct_when=_failed, error_message=_message)
_per_address = limiter.shared_limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], ADDRESS_SCOPE, key_func=get_remote_address,
    methods=["POST"], deduct_when=_failed, error_message=_message)


def login_limited(view):
    """For each view that checks a password (``/login``, ``POST /api/v1/tokens``): both share the counts."""
    return _per_address(_per_account(view))


def forget_account_failures() -> None:
    """After a success: this address's earlier failures for this account no longer count."""
    for limit in limiter.current_limits:
        if ACCOUNT_SCOPE in limit.request_args:
            try:
                limiter.limiter.clear(limit.limit, *limit.request_args)
            except Exception:  # noqa: BLE001 - each storage has its own errors; the login stands
                log.warning("could not clear the login failures of %s", limit.key, exc_info=True)
