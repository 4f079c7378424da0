"""What every admin resource module shares: the one admin check, lookups that 404,
commits whose unique index settles a race, and the page side of a refused form.

Leaf module: it imports none of the resource modules that use it."""
from __future__ import annotations

from functools import wraps

from flask import flash, redirect, render_template, request
from sqlalchemy import func, literal, select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from ..errors import Conflict, DomainError, InvalidInput, NotFound
from ..extensions import db
from ..ids import parse_id
from ..models import User
from ..schema import form_rules


def require_admin(actor: User | None) -> User:
    """The one admin check: everyone else is told the thing does not exist."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active or not actor.is_admin:
        raise NotFound()
    return actor


def admin_required(view):
    """An API view for admins only (bearer token; 404 to anyone else)."""
    from ..api.routes import token_required

    @token_required
    @wraps(view)
    def wrapper(user, *args, **kwargs):
        require_admin(user)
        return view(user, *args, **kwargs)

    return wrapper


def get_row(model, ident, message=None):
    row = db.session.get(model, parse_id(ident)) if parse_id(ident) else None
    if row is None:
        raise NotFound(message)
    return row


def commit_or_conflict(conflict) -> None:
    """Unique indexes settle races that the checks before the commit could not see;
    ``conflict()`` then says which, asked only after the rollback."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise (conflict() or Conflict()) from None


def _same_text(column, value: str):
    """Case-insensitive equality decided by the database on both sides: SQLite's
    lower() folds ASCII only, and Python's would then disagree with it."""
    return (column == value) | (func.lower(column) == func.lower(literal(value)))


def value_taken(column, value: str, own_id, message: str, field: str = "name") -> Conflict | None:
    """The Conflict to raise when another row already has ``value`` in ``column`` (any case)."""
    model = column.class_
    query = select(model.id).where(_same_text(column, value))
    if own_id is not None:
        query = query.where(model.id != own_id)
    if db.session.scalar(query) is None:
        return None
    return Conflict(message, fields={field: message})


# -- pages -------------------------------------------------------------------

def render_form(template: str, *, error: InvalidInput | Conflict | None = None, schema=None, **context):
    """The page with the service's per-field messages; 422/409 when it refused the form.
    ``schema`` (the declaration the form is read with) gives its inputs their limits."""
    context.setdefault("rules", form_rules(schema) if schema is not None else {})
    context.setdefault("errors", error.fields if error else {})
    context.setdefault("form_message", error.message if error else None)
    return render_template(template, **context), (error.status if error else 200)


def form_values(form: MultiDict | None = None, lists=()) -> dict:
    """What the admin typed, to show it again next to the messages."""
    form = request.form if form is None else form
    values = {key: form.get(key) for key in form}
    for key in lists:
        values[key] = form.getlist(key)
    return values


def form_page(show, save, done, back: str, typed=None):
    """The body of every admin form route. GET: ``show()``. POST: ``save()``, then the
    flash ``done(row)`` and back to ``back``; refused, ``show(values, error)``: the form
    again with what was typed (``typed()``) beside the service's messages."""
    if request.method == "GET":
        return show()
    try:
        row = save()
    except (InvalidInput, Conflict) as error:
        return show(typed() if typed else form_values(), error)
    flash(done(row), "success")
    return redirect(back)


def delete_page(delete, done: str, back: str, refused_back: str):
    """The body of every delete route: the service decides, a refusal is flashed."""
    try:
        delete()
    except DomainError as error:
        flash(str(error.message), "error")
        return redirect(refused_back)
    flash(done, "success")
    return redirect(back)
