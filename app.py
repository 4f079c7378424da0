"""WSGI entry point: `gunicorn -k gevent app:app`, `flask --app app ...`."""
from atendimento import create_app

app = create_app()
