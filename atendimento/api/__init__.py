from flask import Blueprint

bp = Blueprint("api", __name__)

from . import errors, routes  # noqa: E402,F401
from . import admin, openapi  # noqa: E402,F401  (admin resources, the OpenAPI document)
from . import channels  # noqa: E402,F401  (resend a failed message)
