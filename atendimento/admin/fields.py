"""What the admin and profile pages offer in their pickers (the rules live in ``schema.py``)."""
from ..schema import LANGUAGES, timezones  # noqa: F401

# Each language named in itself, so anyone finds theirs whatever the page speaks.
LANGUAGE_OPTIONS = (("pt_BR", "Português (Brasil)"), ("en", "English"))
