"""The API speaks JSON errors only: ``{"error": {"code", "message"}}``."""
from flask import request
from werkzeug.exceptions import HTTPException

from ..errors import DomainError
from . import bp


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, code: str, message, fields: dict | None = None, **details):
    body = {"code": code, "message": str(message)}
    if fields:
        body["fields"] = {k: str(v) for k, v in fields.items()}
    body.update(details)
    return {"error": body}, status


@bp.errorhandler(DomainError)
def domain_error(error: DomainError):
    return error_response(error.status, error.code, error.message, error.fields, **error.details)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    codes = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
             405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
             422: "invalid", 429: "too_many_attempts"}
    return error_response(error.code or 500, codes.get(error.code, "error"), error.description)
