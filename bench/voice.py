"""Voice notes: what converting a browser's recording to OGG/Opus costs, and how long a
file takes from upload to queued through the page's composer. Prints figures; not a test.

    .venv/bin/python bench/voice.py [--seconds 60] [--runs 20] [--cpu 0] [--upload-mb 10] [--uploads 5]

1. Conversion (target: <= 300 ms and <= 60 MB): a ``--seconds`` WebM/Opus recording (a
   440 Hz sine at 48 kHz made with PyAV), once stereo at libopus's default rate (a browser
   left to its defaults: decoded and encoded again) and once mono at 32 kbps (what the
   composer asks the browser for: the Opus is only moved into OGG), is converted ``--runs`` times by ``atendimento.audio.to_voice_note`` in a child process
   pinned to one core (``sched_setaffinity``). Wall time: the first (cold) run, then the
   median and p95 of the others, and the median CPU time (the figure to trust when the
   machine is shared: wall time then includes waiting for the core). Memory: the child's peak resident set (VmHWM) minus its
   resident set just before the first conversion (Python, PyAV and the input already
   loaded), i.e. what a conversion adds to a worker; the absolute peak is printed too.
   tracemalloc would miss FFmpeg's own buffers, so the kernel's figure is the one used.
2. Upload to queued: an app on a temporary SQLite database (no outbox worker) with a
   logged-in test client POSTs ``--upload-mb`` MB to ``/tickets/<id>/messages`` (the
   composer's route) ``--uploads`` times, as a plain file and as the recording with
   ``voice=true``; the time is from the request until the 201 answer with the message
   ``queued`` (multipart encoding by the test client included).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def convert_child(path: str, runs: int, cpu: int) -> None:
    """In the child: pinned to ``cpu``, convert ``runs`` times; print JSON figures."""
    os.sched_setaffinity(0, {cpu})
    from atendimento.audio import to_voice_note

    data = Path(path).read_bytes()
    rss_before = _status_kb("VmRSS")
    times, cpu, size, seconds = [], [], 0, 0.0
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        ogg, seconds = to_voice_note(data)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        size = len(ogg)
    print(json.dumps({"times": times, "cpu": cpu, "rss_before_kb": rss_before, "hwm_kb": _status_kb("VmHWM"),
                      "input": len(data), "output": size, "seconds": seconds}))


def conversion(args, label: str, recording: Path) -> None:
    child = subprocess.run([sys.executable, __file__, "--child", str(recording), "--runs", str(args.runs),
                            "--cpu", str(args.cpu)], capture_output=True, text=True, check=True)
    result = json.loads(child.stdout.strip().splitlines()[-1])
    cold, warm = result["times"][0], sorted(result["times"][1:]) or result["times"]
    p95 = warm[min(len(warm) - 1, round(0.95 * (len(warm) - 1)))]
    added = (result["hwm_kb"] - result["rss_before_kb"]) / 1024
    print(f"conversion of {result['seconds']:.1f} s WebM/Opus, {label} ({result['input'] / 1024:.0f} KB) "
          f"-> OGG/Opus mono ({result['output'] / 1024:.0f} KB), one core (cpu {args.cpu}), {args.runs} runs:")
    print(f"  wall time: cold {cold * 1000:.0f} ms, median {statistics.median(warm) * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms   (target <= 300 ms); CPU time median "
          f"{statistics.median(result['cpu'][1:] or result['cpu']) * 1000:.0f} ms (less sensitive to a busy machine)")
    print(f"  peak memory added by a conversion: {added:.1f} MB   (target <= 60 MB; "
          f"process peak {result['hwm_kb'] / 1024:.1f} MB, of which {result['rss_before_kb'] / 1024:.1f} MB "
          f"before converting)")


def upload_to_queued(args, recordings: dict) -> None:
    from io import BytesIO

    from atendimento import create_app
    from atendimento.extensions import db
    from atendimento.models import Connection, Ticket, User
    from atendimento.tickets import service
    from atendimento.tickets.inbound import receive_inbound
    from atendimento.channels.base import Inbound

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db", "REDIS_URL": None,
                          "TESTING": True, "WTF_CSRF_ENABLED": False, "MEDIA_DIR": f"{tmp}/media",
                          "OUTBOX_WORKER": False, "MAX_UPLOAD_MB": max(16, args.upload_mb + 1)})
        with app.app_context():
            db.create_all()
            user = User(name="Atendente", email="bench@example.com", profile="admin")
            user.set_password("secret123")
            connection = Connection(name="Bench gateway", kind="generic",
                                    settings={"outbound_url": "http://127.0.0.1:9/send"})
            db.session.add_all([user, connection])
            db.session.commit()
            message = receive_inbound(connection, Inbound(sender_id="5511900000000", body="Olá", name="Cliente",
                                                          external_id="bench-1"))
            ticket_id = message.ticket_id
            service.accept_ticket(user, ticket_id)
            db.session.remove()
        client = app.test_client()
        assert client.post("/login", data={"email": "bench@example.com", "password": "secret123"}).status_code == 302
        payload = os.urandom(args.upload_mb * 1024 * 1024)
        cases = [(f"{args.upload_mb} MB file", payload, "contrato.bin", {})]
        cases += [(f"{args.seconds:.0f} s recording, {label}, as a voice note ({len(data) / 1024:.0f} KB)", data,
                   "gravacao.webm", {"voice": "true"}) for label, data in recordings.items()]
        print(f"upload to queued through POST /tickets/<id>/messages (the composer), {args.uploads} uploads each:")
        for label, data, filename, form in cases:
            times = []
            for _ in range(args.uploads):
                started = time.perf_counter()
                response = client.post(f"/tickets/{ticket_id}/messages",
                                       data={"file": (BytesIO(data), filename), **form},
                                       content_type="multipart/form-data", headers={"Accept": "application/json"})
                times.append(time.perf_counter() - started)
                assert response.status_code == 201, response.data[:300]
                assert response.json["message"]["status"] == "queued"
            print(f"  {label}: median {statistics.median(times) * 1000:.0f} ms, "
                  f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms")
        with app.app_context():
            queued = db.session.scalar(db.select(db.func.count()).select_from(Ticket))
            assert queued == 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--upload-mb", type=int, default=10)
    parser.add_argument("--uploads", type=int, default=5)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        convert_child(args.child, args.runs, args.cpu)
        return
    from tests.audio_samples import sine_recording

    started = time.perf_counter()
    recordings = {"stereo, browser default (transcoded)": sine_recording("webm", "libopus", args.seconds),
                  "mono 32 kbps, as the composer records (copied)": sine_recording(
                      "webm", "libopus", args.seconds, layout="mono", bit_rate=32000)}
    print(f"made the {args.seconds:.0f} s WebM/Opus recordings with PyAV in {time.perf_counter() - started:.1f} s")
    for label, recording in recordings.items():
        with tempfile.NamedTemporaryFile(suffix=".webm") as handle:
            handle.write(recording)
            handle.flush()
            conversion(args, label, Path(handle.name))
    upload_to_queued(args, recordings)


if __name__ == "__main__":
    main()
