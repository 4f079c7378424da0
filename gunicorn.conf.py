"""gunicorn settings for production: ``gunicorn -c gunicorn.conf.py app:app``.

The gevent worker monkey-patches each worker before it imports the app, so sockets,
psycopg and redis-py all cooperate: one worker holds hundreds of open streams, each
a greenlet waiting on its queue, not a thread. (``preload_app`` stays off: loading
the app in the master would import psycopg and redis before any patching.)

Environment: ``BIND`` (or ``PORT``), ``WEB_CONCURRENCY`` (workers),
``WORKER_CONNECTIONS`` (open connections, streams included, per worker),
``PROMETHEUS_MULTIPROC_DIR`` (where the workers' metrics live).
"""
import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

bind = os.environ.get("BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"
worker_class = "gevent"
# Each open browser tab holds one connection all day: leave room for them.
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "1000"))
# Without Redis the broker lives in one process: a second worker's tabs would miss the first's events.
_default_workers = multiprocessing.cpu_count() if os.environ.get("REDIS_URL") else 1
workers = int(os.environ.get("WEB_CONCURRENCY") or _default_workers)
timeout = 30  # the gevent worker heartbeats from its own loop; streams do not count against this
graceful_timeout = 10  # streams never finish on their own: browsers reconnect to the new workers
keepalive = 5
preload_app = False
accesslog = os.environ.get("ACCESS_LOG") or None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn >= 25 opens a control socket at one fixed path per user: two instances on a host
# (blue/green, a benchmark next to the app) would take it from each other. Not used here.
control_socket_disable = True


# GET /metrics sums every worker: prometheus-client's multiprocess mode keeps each worker's values
# in files in this folder. Set here, in the master, so every worker has it before it imports
# prometheus-client; emptied at start (old values would be counted again), ours removed at exit.
_metrics_dir_given = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="atendimento-metrics-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir


def _empty_metrics_dir():
    Path(metrics_dir).mkdir(parents=True, exist_ok=True)
    for stale in Path(metrics_dir).glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    # A dead worker's open streams are gone with it: drop its live gauges (counters stay summed).
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, metrics_dir)


def on_exit(server):
    if _metrics_dir_given:
        _empty_metrics_dir()
    else:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def on_starting(server):
    _empty_metrics_dir()
    if workers > 1 and not os.environ.get("REDIS_URL"):
        server.log.warning("%s workers without REDIS_URL: each worker's streams only see its own events; "
                           "set REDIS_URL or WEB_CONCURRENCY=1", workers)
