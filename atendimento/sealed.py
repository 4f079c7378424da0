"""Secrets kept at rest (a SIP password): sealed with a key derived from ``SECRET_KEY``.

Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) under a key that HKDF-SHA256
derives from ``SECRET_KEY`` and a purpose, so one purpose's key opens nothing else and a
database dump without the SECRET_KEY reads as noise. Changing SECRET_KEY makes what was
sealed unreadable (``unseal`` answers None): the user types the password again.

A leaf module: it imports nothing of the app but the configuration it is given."""
from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


def _fernet(purpose: str, secret_key: str | bytes | None = None) -> Fernet:
    secret = secret_key if secret_key is not None else current_app.config["SECRET_KEY"]
    if isinstance(secret, str):
        secret = secret.encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"atendimento-sealed-v1",
               info=purpose.encode()).derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))


def seal(plain: str, purpose: str, *, secret_key=None) -> str:
    """The text ``plain`` encrypted (and authenticated) for ``purpose``, as ASCII."""
    return _fernet(purpose, secret_key).encrypt(plain.encode()).decode("ascii")


def unseal(token: str | None, purpose: str, *, secret_key=None) -> str | None:
    """The text sealed in ``token``; None when it was sealed under another key or purpose."""
    if not token:
        return None
    try:
        return _fernet(purpose, secret_key).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError, UnicodeError):
        return None
