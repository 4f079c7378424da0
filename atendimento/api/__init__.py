from flask import Blueprint

bp = Blueprint("api", __name__)

from . import errors, routes  # noqa: E402,F401
from . import openapi  # noqa: E402,F401  (the document; admin resources register from their modules)
from . import channels  # noqa: E402,F401  (resend a failed message)
from . import search  # noqa: E402,F401  (GET /search)
from . import calls  # noqa: E402,F401  (/calls)
