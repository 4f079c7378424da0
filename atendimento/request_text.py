"""Text as the request brings it, made storable in one place: a NUL (PostgreSQL's text refuses
it) or a lone UTF-16 surrogate (JSON's "\\ud800"; no column can encode it) is dropped from every
query argument, form field and JSON string, keys included, before any route reads them. Bytes
that are not UTF-8 already arrive as U+FFFD (werkzeug). Both carry nothing a person typed, so
dropping them loses nothing; refusing would fail a whole message for an invisible character.

Raw bodies (``request.get_data()``, what webhook signatures are computed over) are untouched:
the channels clean what they parse themselves (channels/parsing.py)."""
from __future__ import annotations

import re

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.exceptions import NotFound

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    return UNSTORABLE.sub("", text)


def clean_value(value):
    """A JSON value with every string (and object key) storable."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, list):
        return [clean_value(v) for v in value]
    if isinstance(value, dict):
        return {clean_value(k): clean_value(v) for k, v in value.items()}
    return value


class CleanMultiDict(ImmutableMultiDict):
    """``request.args`` and ``request.form`` (files keep their own class of values)."""

    def __init__(self, mapping=None):
        if mapping is None:
            super().__init__()
            return
        pairs = MultiDict(mapping).items(multi=True)
        super().__init__([(storable(k) if isinstance(k, str) else k, storable(v) if isinstance(v, str) else v)
                          for k, v in pairs])


class CleanRequest(Request):
    parameter_storage_class = CleanMultiDict
    _view_args = None

    @property
    def view_args(self):
        return self._view_args

    @view_args.setter
    def view_args(self, values):
        """A path segment (a webhook's token, an API id) that holds such a character names
        nothing that can exist: 404, as Flask's routing answers any unknown path (it catches
        the error while it sets ``view_args``)."""
        if values and any(isinstance(v, str) and UNSTORABLE.search(v) for v in values.values()):
            raise NotFound()
        self._view_args = values

    def get_json(self, force=False, silent=False, cache=True):
        """``request.get_json()`` and ``request.json``. (Flask sets ``json_module`` per request,
        so the cleaning happens here; a body is small and read once or twice.)"""
        return clean_value(super().get_json(force=force, silent=silent, cache=cache))
