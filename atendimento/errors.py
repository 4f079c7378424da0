"""Domain errors raised by the services; the API maps them to JSON, the pages to flash messages."""
from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message=None, *, fields: dict | None = None, **details):
        self.message = message if message is not None else self.default_message
        self.fields = fields or {}
        self.details = details
        super().__init__(str(self.message))

    default_message = _l("Invalid request.")


class NotFound(DomainError):
    """Missing, or outside the user's visibility: both look the same from outside."""

    status = 404
    code = "not_found"
    default_message = _l("Not found.")


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    default_message = _l("You are not allowed to do this.")


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = _l("This conflicts with the current state.")


class InvalidTransition(Conflict):
    code = "invalid_transition"


class InvalidInput(DomainError):
    status = 422
    code = "invalid"
    default_message = _l("Some fields are invalid.")


class TooLarge(InvalidInput):
    """A file over a limit (ours or the channel's)."""

    status = 413
    code = "too_large"


class TooManyAttempts(DomainError):
    status = 429
    code = "too_many_attempts"
    default_message = _l("Too many failed attempts. Try again in a few minutes.")


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    default_message = _l("Invalid e-mail or password.")
