"""Who is who: password checks, sessions that end for real, and API tokens stored hashed.

A session cookie carries the user's id and their *session epoch* (``User.get_id``); raising
the epoch ends every session signed with the old one at its next request (SPEC §9: logging
out, a password change, an admin's reset). How often one may guess is ``limits.py``'s job."""
from __future__ import annotations

from flask import current_app, g, has_request_context
from flask_babel import gettext as _
from flask_login import current_user, login_user
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import NotFound, Unauthorized
from ..extensions import db
from ..ids import parse_id
from ..models import ApiToken, User, utcnow
from ..schema import Schema, Text


class TokenRequest(Schema):
    """What ``POST /tokens`` reads; a wrong e-mail or password is 401, never a field message."""

    email: str
    password: str
    name: Text(80, description="To tell one's tokens apart.") = ""


def login_email(raw: str) -> str:
    """The e-mail as logins compare it (and as the limits count it)."""
    return (raw or "").strip().lower()[:254]


def authenticate(email: str, password: str) -> User:
    """The active user with this e-mail and password, or an error that says nothing more.

    An unknown e-mail costs one password check too (against a dummy hash of the same kind),
    so the time taken does not tell which e-mails have an account."""
    email = login_email(email)
    user = db.session.scalar(select(User).where(func.lower(User.email) == email)) if email else None
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        raise Unauthorized()
    if not user.check_password(password or "") or not user.active:
        raise Unauthorized()
    return user


_DUMMY_HASHES: dict[str, str] = {}


def _dummy_hash() -> str:
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash("no such user", method=method)
    return _DUMMY_HASHES[method]


# -- sessions ----------------------------------------------------------------

def user_for_session(session_id: str) -> User | None:
    """The active user whose session this is, unless their sessions were ended since it began."""
    ident, sep, epoch = (session_id or "").partition(":")
    user = db.session.get(User, parse_id(ident) or 0) if sep else None
    if user is None or not user.active or epoch != str(user.session_epoch):
        return None
    return user


def end_sessions(user: User) -> None:
    """Every session of ``user`` ends (committed by the caller). The database adds one, so two
    ends at once both end what came before."""
    user.session_epoch = User.session_epoch + 1


def keep_this_session(user: User) -> None:
    """After ``end_sessions`` and its commit: the browser that changed the password stays
    signed in, with the new epoch. Nothing happens for the API, the CLI or another user."""
    if (has_request_context() and getattr(g, "api_user", None) is None and current_user.is_authenticated
            and current_user.id == user.id):
        login_user(current_user._get_current_object())  # the user, not the proxy that reads it


def log_out(user: User) -> None:
    end_sessions(user)
    db.session.commit()


def credentials_changed(user: User) -> None:
    """A new password: the user's other sessions and every API token end (committed by the caller)."""
    end_sessions(user)
    revoke_tokens(user)


def revoke_tokens(user: User) -> None:
    for token in user.tokens:
        if token.revoked_at is None:
            token.revoked_at = utcnow()


# -- API tokens --------------------------------------------------------------

def issue_token(user: User, name: str = "") -> tuple[ApiToken, str]:
    raw = ApiToken.generate()
    token = ApiToken(user_id=user.id, token_hash=ApiToken.hash(raw), name=(name or "")[:80])
    db.session.add(token)
    db.session.commit()
    return token, raw


def user_for_token(raw: str) -> User | None:
    """The active user behind a bearer token that was not revoked."""
    if not raw:
        return None
    user = db.session.scalar(  # one query: every API request asks
        select(User).join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == ApiToken.hash(raw), ApiToken.revoked_at.is_(None)))
    if user is None or not user.active:
        return None
    return user


def revoke_token(user: User, token_id) -> ApiToken:
    token = db.session.scalar(select(ApiToken).where(ApiToken.id == (parse_id(token_id) or 0), ApiToken.user_id == user.id))
    if token is None:
        raise NotFound(_("Token not found."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
    return token
