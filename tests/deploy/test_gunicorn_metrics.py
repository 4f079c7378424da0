"""/metrics sums every gunicorn worker: a real gunicorn (gunicorn.conf.py, two gevent workers),
requests that land on both, and one scrape that counts them all, whichever worker answers it."""
from __future__ import annotations

import http.client
import re
from pathlib import Path

import pytest

from ..test_ops import samples
from .servers import environment, flask, free_port, gunicorn

HEALTHZ_COUNT = ("atendimento_request_duration_seconds_count",
                 (("endpoint", "ops.healthz"), ("method", "GET"), ("status", "2xx")))


def _get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"Connection": "close"})  # a new connection each time: any worker may take it
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def _pids_with_values(folder: Path) -> set[int]:
    """Workers that wrote a histogram (prometheus-client names its files ``histogram_<pid>.db``)."""
    return {int(m.group(1)) for f in folder.iterdir() if (m := re.fullmatch(r"histogram_(\d+)\.db", f.name))}


@pytest.fixture
def two_workers(tmp_path):
    metrics_dir = tmp_path / "metrics"
    env = environment(DATABASE_URL=f"sqlite:///{tmp_path / 'atendimento.db'}", MEDIA_DIR=tmp_path / "media",
                      SECRET_KEY="metrics-test-secret-0123456789abcdef", WEB_CONCURRENCY=2, OUTBOX_WORKER=0)
    flask("db", "upgrade", env=env)
    port = free_port()
    # Given, so the test can look inside; unset, gunicorn.conf.py makes a temporary one.
    server = gunicorn({**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}, port, tmp_path / "gunicorn.log")
    try:
        yield server, port, metrics_dir
    finally:
        server.stop()


def test_metrics_count_requests_of_both_workers(two_workers):
    server, port, metrics_dir = two_workers
    workers = server.children()
    assert len(workers) == 2, workers
    started = samples(_get(port, "/metrics")[1].decode()).get(HEALTHZ_COUNT, 0)  # the start-up probes
    hits = 0
    while len(_pids_with_values(metrics_dir)) < 2 and hits < 3000:
        for _ in range(20):
            assert _get(port, "/healthz")[0] == 200
            hits += 1
    assert _pids_with_values(metrics_dir) == workers, "both workers answered some of the requests"

    status, body = _get(port, "/metrics")
    assert status == 200
    found = samples(body.decode())
    assert found[HEALTHZ_COUNT] == started + hits, "one scrape sums what each worker counted"
    assert found[("atendimento_tickets", (("status", "pending"),))] == 0
    assert found[("atendimento_stream_clients", ())] == 0

    for _ in range(5):  # whichever worker answers, the sum is the same
        assert samples(_get(port, "/metrics")[1].decode())[HEALTHZ_COUNT] == started + hits


def test_a_new_start_empties_the_folder_and_a_stop_keeps_it_empty(two_workers, tmp_path):
    server, port, metrics_dir = two_workers
    assert _get(port, "/healthz")[0] == 200
    assert any(metrics_dir.glob("*.db"))
    server.stop()
    assert not any(metrics_dir.glob("*.db")), "gunicorn's on_exit empties the folder it was given"
