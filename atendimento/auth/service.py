"""Who is who: password checks with a rate limit, and API tokens stored hashed."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from ..errors import NotFound, TooManyAttempts, Unauthorized
from ..extensions import db
from ..ids import parse_id
from ..models import ApiToken, LoginFailure, User, utcnow
from ..schema import Schema, Text


class TokenRequest(Schema):
    """What ``POST /tokens`` reads; a wrong e-mail or password is 401, never a field message."""

    email: str
    password: str
    name: Text(80, description="To tell one's tokens apart.") = ""


def authenticate(email: str, password: str, remote_addr: str | None = None) -> User:
    """The active user with this e-mail and password, or an error that says nothing more."""
    email = (email or "").strip().lower()
    window_start = utcnow() - timedelta(seconds=current_app.config["LOGIN_FAILURE_WINDOW_S"])
    failures = db.session.scalar(
        select(func.count()).select_from(LoginFailure)
        .where(LoginFailure.email == email, LoginFailure.created_at >= window_start)
    )
    if failures >= current_app.config["LOGIN_MAX_FAILURES"]:
        raise TooManyAttempts()
    user = db.session.scalar(select(User).where(func.lower(User.email) == email)) if email else None
    if user is None or not user.check_password(password or "") or not user.active:
        db.session.add(LoginFailure(email=email[:254], remote_addr=(remote_addr or "")[:64]))
        db.session.commit()
        raise Unauthorized()
    db.session.execute(delete(LoginFailure).where(LoginFailure.email == email))
    db.session.commit()
    return user


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
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == ApiToken.hash(raw), ApiToken.revoked_at.is_(None))
    )
    if token is None or not token.user.active:
        return None
    return token.user


def revoke_token(user: User, token_id) -> ApiToken:
    token = db.session.scalar(select(ApiToken).where(ApiToken.id == (parse_id(token_id) or 0), ApiToken.user_id == user.id))
    if token is None:
        raise NotFound(_("Token not found."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
    return token
