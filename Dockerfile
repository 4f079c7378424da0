# Atendimento in a container: the README's production commands, nothing else.
# deploy/docker-compose.yml runs it as app (gunicorn) and worker (the outbox), beside
# PostgreSQL, Redis and nginx; docker compose -f deploy/docker-compose.yml up -d
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /srv/atendimento

COPY pyproject.toml requirements.lock README.md app.py gunicorn.conf.py babel.cfg ./
COPY atendimento ./atendimento
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static

# Installed at the locked releases, and the translations compiled, while the code is still writable.
RUN python3 -m venv .venv && .venv/bin/pip install -q -c requirements.lock -e . && .venv/bin/python -c "from atendimento.i18n import compile_translations; compile_translations()"

# The services run as a user who cannot change the code; received and sent files live on a volume.
RUN useradd --system --home-dir /var/lib/atendimento --create-home atendimento \
    && install -d -o atendimento -g atendimento /var/lib/atendimento/media
USER atendimento
ENV MEDIA_DIR=/var/lib/atendimento/media
VOLUME /var/lib/atendimento/media

EXPOSE 8000
CMD [".venv/bin/gunicorn", "-c", "gunicorn.conf.py", "app:app"]
