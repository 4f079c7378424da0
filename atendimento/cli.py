"""Commands: ``flask --app app create-admin`` and ``flask --app app seed-demo``."""
import click
from flask import current_app
from sqlalchemy import func, select

from .extensions import db
from .models import User
from .outbox import outbox_command


def register_cli(app):
    app.cli.add_command(create_admin)
    app.cli.add_command(seed_demo)
    app.cli.add_command(outbox_command)


@click.command("create-admin")
@click.option("--email", prompt="E-mail", help="The admin's e-mail (login).")
@click.option("--password", prompt="Password", hide_input=True, confirmation_prompt=True,
              help="At least 8 characters.")
@click.option("--name", default="Admin", show_default=True, help="The name shown to colleagues.")
def create_admin(email, password, name):
    """Create an admin user (asks for what the flags do not give)."""
    email = email.strip().lower()
    if "@" not in email:
        raise click.BadParameter("not an e-mail address", param_hint="--email")
    if len(password) < 8:
        raise click.BadParameter("use at least 8 characters", param_hint="--password")
    if db.session.scalar(select(User).where(func.lower(User.email) == email)):
        raise click.ClickException(f"a user with e-mail {email} already exists")
    user = User(name=name.strip() or "Admin", email=email, profile="admin")
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
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
