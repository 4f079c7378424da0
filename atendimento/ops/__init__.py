"""Running it for real (SPEC §9): ``/healthz``, ``/readyz``, ``/metrics`` and ``flask --app app doctor``.

``/healthz`` says the process answers; ``/readyz`` runs the readiness checks
(``checks.py``) and answers 503 naming the failing ones; ``/metrics`` is the Prometheus
text of every worker (``metrics.py``), for a request from this host straight to the app
or one bearing ``METRICS_TOKEN``. ``doctor`` runs the same checks and a few more, printing
each by name with its fix, and exits 1 when any fails.
"""
from __future__ import annotations

import hmac
import ipaddress
import time

import click
from flask import Blueprint, Response, current_app, g, jsonify, request
from flask.cli import with_appcontext
from flask_babel import gettext as _

from . import checks, metrics

bp = Blueprint("ops", __name__)


def init_app(app) -> None:
    app.register_blueprint(bp)
    app.cli.add_command(doctor_command)
    # First of all before_request functions: one that answers early (a login redirect) is timed too.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)
    app.after_request(_observe)


@bp.get("/healthz")
def healthz():
    """The process answers; and how it sees the caller, so a proxy's setup can be checked
    (``doctor``: behind nginx with TRUSTED_PROXIES=1 the scheme is https and the client is yours)."""
    return {"status": "ok", "scheme": request.scheme, "host": request.host, "client": request.remote_addr}


@bp.get("/readyz")
def readyz():
    results = checks.readiness()
    failing = [check.name for check in results if not check.ok]
    body = {"status": "unavailable" if failing else "ready", "failing": failing,
            "checks": {check.name: check.public() for check in results}}
    response = jsonify(body)
    response.status_code = 503 if failing else 200
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/metrics")
def metrics_view():
    if not may_read_metrics():
        return {"error": {"code": "forbidden", "message": _(
            "Metrics are for this server, or for a request bearing METRICS_TOKEN.")}}, 403
    return Response(metrics.exposition(current_app), mimetype=None,
                    content_type=metrics.CONTENT_TYPE, headers={"Cache-Control": "no-store"})


def may_read_metrics() -> bool:
    """The token, when one is set; else a request from this host that no proxy relayed
    (ProxyFix keeps the peer's own address aside; a relayed request has X-Forwarded-For)."""
    token = current_app.config.get("METRICS_TOKEN")
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    if "X-Forwarded-For" in request.headers:
        return False
    peer = request.environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR") or request.remote_addr
    try:
        return ipaddress.ip_address(peer or "").is_loopback
    except ValueError:
        return False


def _start_timer():
    g.request_started = time.perf_counter()


def _observe(response):
    started = g.pop("request_started", None)
    endpoint = request.url_rule.endpoint if request.url_rule is not None else "unmatched"
    if started is not None:
        metrics.REQUEST_SECONDS.labels(request.method, endpoint, f"{response.status_code // 100}xx") \
            .observe(time.perf_counter() - started)
    if endpoint == "webhooks.receive" and request.method == "POST":
        from ..channels.registry import ADAPTERS

        kind = (request.view_args or {}).get("kind")
        metrics.WEBHOOKS.labels(kind if kind in ADAPTERS else "unknown",
                                metrics.webhook_outcome(response.status_code)).inc()
    return response


@click.command("doctor")
@with_appcontext
def doctor_command():
    """Check what a running installation needs: database, migrations, broker, media, SECRET_KEY, PUBLIC_URL."""
    results = checks.doctor()
    width = max(len(check.name) for check in results)
    for check in results:
        mark = "ok  " if check.ok else "FAIL"
        click.echo(f"{mark}  {check.name:<{width}}  {check.summary}" + (f" ({check.detail})" if check.detail else ""))
        if not check.ok:
            click.echo(f"      {'':<{width}}  fix: {check.fix}")
    failed = [check.name for check in results if not check.ok]
    if failed:
        click.echo(f"{len(failed)} check(s) failed: {', '.join(failed)}", err=True)
        raise SystemExit(1)
    click.echo("All checks passed.")
