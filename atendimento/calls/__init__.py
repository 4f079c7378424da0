"""Calls: the softphone's account and configuration, and the record of every call
(``service.py``), for the browser (session + CSRF, ``routes.py``) and the API (``api/calls.py``)."""
from flask import Blueprint

bp = Blueprint("calls", __name__)

from . import routes  # noqa: E402,F401
