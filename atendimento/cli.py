"""Commands: ``create-admin``, ``seed-demo``, ``manage`` (the admin resources) and the outbox's.

They call the same services as the pages and the API, so a command refuses what a
page refuses, with the same message (in English: the language of the command line).
"""
import json

import click
from flask import current_app
from flask_babel import force_locale
from sqlalchemy import func, select

from .errors import Conflict, DomainError, InvalidInput
from .extensions import db
from .models import User
from .outbox import outbox_command


def register_cli(app):
    app.cli.add_command(create_admin)
    app.cli.add_command(seed_demo)
    app.cli.add_command(manage)
    app.cli.add_command(outbox_command)
    from .backup import backup_command, restore_command

    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


def _refusal(error: DomainError, options: dict | None = None) -> click.ClickException:
    """The service's message, and each field's, named as the command names them."""
    lines = [str(error.message)]
    for field, message in (error.fields or {}).items():
        lines.append(f"  {(options or {}).get(field, field)}: {message}")
    return click.ClickException("\n".join(lines))


@click.command("create-admin")
@click.option("--email", prompt="E-mail", help="The admin's e-mail (login).")
@click.option("--password", prompt="Password", hide_input=True, confirmation_prompt=True,
              help="At least 8 characters, and not easy to guess.")
@click.option("--name", default="Admin", show_default=True, help="The name shown to colleagues.")
def create_admin(email, password, name):
    """Create an admin user (asks for what the flags do not give)."""
    from .admin.users import create_admin_account

    with force_locale("en"):
        try:
            user = create_admin_account({"email": email, "password": password, "name": name.strip() or "Admin"})
        except Conflict as error:
            if "email" in error.fields:
                raise click.ClickException(f"a user with e-mail {email.strip().lower()} already exists") from None
            raise _refusal(error) from None
        except InvalidInput as error:
            raise _refusal(error, {"email": "--email", "password": "--password", "name": "--name"}) from None
    click.echo(f"Admin {user.email} created (id {user.id}).")


@click.command("seed-demo")
@click.option("--password", default="demo1234", show_default=True, help="Password of every demo user.")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when the database already has tickets.")
def seed_demo(password, if_empty):
    """Fill an empty database with a believable demo: sectors, attendants, tickets."""
    from .demo import seed
    from .models import Ticket

    if if_empty and db.session.scalar(select(func.count()).select_from(Ticket)):
        click.echo("The database already has tickets: demo not seeded (the demo logins, if any, "
                   "are those printed by the first run; password demo1234 unless changed).")
        return
    summary = seed(password=password)
    click.echo(summary)
    current_app.logger.info("demo seeded")


# -- manage: the admin resources from the command line ---------------------------

def _resources():
    from .api.crud import RESOURCES

    return RESOURCES


def _parse_values(pairs) -> dict:
    """``name=Suporte user_ids=[1,2] active=false``: JSON where it parses, text otherwise."""
    data = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r}: use key=value", param_hint="VALUES")
        try:
            data[key] = json.loads(raw)
        except ValueError:
            data[key] = raw
    return data


def _actor(email: str | None) -> User:
    query = select(User).where(User.profile == "admin", User.active.is_(True))
    if email:
        query = query.where(func.lower(User.email) == email.strip().lower())
    actor = db.session.scalar(query.order_by(User.id))
    if actor is None:
        raise click.ClickException(f"no active admin {email}" if email else
                                   "no active admin yet: run `flask --app app create-admin` first")
    return actor


@click.command("manage")
@click.argument("action", type=click.Choice(["list", "show", "create", "update", "delete"]))
@click.argument("resource")
@click.argument("args", nargs=-1)
@click.option("--as", "as_email", help="The admin acting (default: the first active admin).")
def manage(action, resource, args, as_email):
    """Sectors, users, connections, tags and quick replies, with the API's rules.

    \b
    flask --app app manage list sectors
    flask --app app manage create sectors name=Suporte color=#2f80ed
    flask --app app manage update users 3 active=false
    flask --app app manage delete tags 2
    """
    found = _resources().get(resource)
    if found is None:
        raise click.BadParameter(f"one of: {', '.join(_resources())}", param_hint="RESOURCE")
    ident, pairs = (args[0] if args else None, args[1:]) if action in ("show", "update", "delete") else (None, args)
    if action in ("show", "update", "delete") and ident is None:
        raise click.UsageError(f"{action} needs the id: manage {action} {resource} ID")
    with force_locale("en"), current_app.test_request_context(base_url=current_app.config.get("PUBLIC_URL")
                                                               or "http://localhost"):
        actor = _actor(as_email)
        try:
            if action == "list":
                result = {"items": [found.to_json(row) for row in found.list(actor)]}
            elif action == "show":
                result = found.to_json(found.get(actor, ident))
            elif action == "create":
                result = (found.created_json or found.to_json)(found.create(actor, _parse_values(pairs)))
            elif action == "update":
                result = found.to_json(found.update(actor, ident, _parse_values(pairs)))
            else:
                query = _parse_values(pairs)
                allowed = set(found.delete_query.model_fields) if found.delete_query else set()
                if set(query) - allowed:
                    raise click.BadParameter(f"delete takes only: {', '.join(sorted(allowed)) or 'nothing'}",
                                             param_hint="VALUES")
                found.delete(actor, ident, **query)
                result = {"deleted": ident}
        except DomainError as error:
            db.session.rollback()
            raise _refusal(error) from None
    click.echo(json.dumps(result, ensure_ascii=False, indent=2))
