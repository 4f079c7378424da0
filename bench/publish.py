"""Benchmark what a request pays to publish one realtime event: the old way against the new, in one run.

    .venv/bin/python bench/publish.py [--events 5000] [--rounds 5]

- old: the script Atendimento ran before issue 15 (XADD + PUBLISH), called by the request itself;
- new: ``RedisBroker.publish`` as the app calls it: the publisher's direct attempt (epoch,
  sequence number, XADD + PUBLISH in one script), queueing only when Redis fails.

Both publish the same event to a Redis of ``BENCH_REDIS_URL`` (default db 13) under keys of
their own, alternating in rounds so both see the same load; prints the per-call latency
(p50/p99) and events per second of each, and the ratio. A subscriber counts what arrives, so
nothing is measured that was not delivered. Not a test: figures only.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OLD_PUBLISH = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'e', ARGV[2])
redis.call('PUBLISH', ARGV[1], id .. ' ' .. ARGV[2])
return id
"""
TICKET = {"sector_id": 1, "user_id": None}


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


class Counter(threading.Thread):
    def __init__(self, client, channel):
        super().__init__(daemon=True)
        self.pubsub = client.pubsub()
        self.pubsub.subscribe(channel)
        self.pubsub.get_message(timeout=5)  # the subscribe confirmation
        self.count = 0
        self.stop = False

    def run(self):
        while not self.stop:
            if self.pubsub.get_message(timeout=0.2) is not None:
                self.count += 1


def run_old(client, prefix, events, log_size):
    script = client.register_script(OLD_PUBLISH)
    from atendimento.realtime.envelope import to_wire

    channel, key = f"{prefix}:old:events", f"{prefix}:old:log"
    counter = Counter(client, channel)
    counter.start()
    times = []
    started = time.perf_counter()
    for n in range(events):
        wire = to_wire("message.created", 1, TICKET, None, {"id": n, "ticket_id": 1, "body": f"bench {n}"})
        t = time.perf_counter()
        script(keys=[key], args=[channel, wire, log_size])
        times.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - started
    return times, elapsed, counter


def run_new(broker, events):
    counter = Counter(broker.redis, broker.channel)
    counter.start()
    times = []
    started = time.perf_counter()
    for n in range(events):
        t = time.perf_counter()
        broker.publish("message.created", 1, ticket=TICKET, data={"id": n, "ticket_id": 1, "body": f"bench {n}"})
        times.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - started
    return times, elapsed, counter


def settle(counter, expected):
    for _ in range(100):
        if counter.count >= expected:
            break
        time.sleep(0.05)
    counter.stop = True
    counter.join()
    return counter.count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000, help="events per round and way")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    args = parser.parse_args()

    import redis

    from atendimento import create_app

    prefix = f"atendimento-bench-publish:{uuid.uuid4().hex[:8]}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "REDIS_URL": args.redis_url, "TESTING": True,
                      "REALTIME_KEY_PREFIX": f"{prefix}:new"})
    broker = app.extensions["realtime"]
    client = redis.Redis.from_url(args.redis_url)
    results = {"old": [], "new": []}
    rates = {"old": [], "new": []}
    delivered = {"old": 0, "new": 0}
    try:
        for _ in range(args.rounds):
            for way in ("old", "new"):
                if way == "old":
                    times, elapsed, counter = run_old(client, prefix, args.events, broker.log_size)
                else:
                    times, elapsed, counter = run_new(broker, args.events)
                delivered[way] += settle(counter, args.events)
                results[way] += times
                rates[way].append(args.events / elapsed)
    finally:
        broker.close()
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()

    total = args.events * args.rounds
    print(f"\n{total} events per way, {args.rounds} alternating rounds, load {os.getloadavg()[0]:.1f}")
    print(f"{'':24}{'old':>12}{'new':>12}")
    for label, cell in (("per call, p50", lambda w: f"{1000 * statistics.median(results[w]):.3f} ms"),
                        ("per call, p99", lambda w: f"{1000 * percentile(results[w], 0.99):.3f} ms"),
                        ("events/s (median round)", lambda w: f"{statistics.median(rates[w]):.0f}"),
                        ("delivered", lambda w: f"{delivered[w]}/{total}")):
        print(f"{label:24}{cell('old'):>12}{cell('new'):>12}")
    print(f"new / old p50: {statistics.median(results['new']) / statistics.median(results['old']):.2f}x")


if __name__ == "__main__":
    main()
