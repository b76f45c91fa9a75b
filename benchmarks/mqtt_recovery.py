"""MQTT recovery: how fast a backlog of redelivered time-less messages drains after a crash.

A crash between commit and acknowledgement makes the broker resend every unacknowledged message
with the DUP flag; readings without a time (`{"p": 31.5}`) get a new reception instant, so the
subscriber recognises them by an indexed look-up of the same reading from the same device
within the last hour. Scenario, on a private Mosquitto tuned as docs/mqtt.md says:

1. the subscriber (persistent session, default entity sink) receives a backlog of `--messages`
   time-less messages from `--devices` devices and commits them, but "crashes" before its
   PUBACKs (its acknowledgements are voided and it disconnects) — the baseline: the time to
   drain the backlog the first time;
2. a new subscriber with the same client id resumes the session; the broker redelivers the
   whole backlog with DUP set; every message must be recognised (nothing staged twice).

The figure is the second drain's time (aim: 10,000 messages in ≤ 10 s) and its ratio to the
first drain measured in the same run. Usage:
    python benchmarks/mqtt_recovery.py [--messages 10000] [--devices 20] [--engine sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from _ingest_setup import Broker, drop_database, free_port, open_platform, province_key, provision
from _report import report

from hakama.jobs.mqtt import MqttConfig, Subscriber
from hakama.storage.schema_observations import observation_staging


def publish(port: int, key: str, devices: int, count: int) -> None:
    procs = []
    for d in range(devices):
        lines = "".join(f'{{"p": {float(i % 500)}}}\n' for i in range(d, count, devices))
        proc = subprocess.Popen(
            ["mosquitto_pub", "-p", str(port), "-q", "1", "-V", "5",
             "-t", f"hakama/{key}/bench-{d}/attrs", "-l"],
            stdin=subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdin is not None
        proc.stdin.write(lines.encode())
        proc.stdin.close()
        procs.append(proc)
    for proc in procs:
        proc.wait(timeout=120)


def drain(sub: Subscriber, n: int, *, crash: bool) -> float:
    """Commit batches until `n` messages were handled; seconds from the first to the last."""
    first = last = None
    deadline = time.monotonic() + 600
    while sub.stats.received < n and time.monotonic() < deadline:
        batch = sub.next_batch(0.5)
        if not batch:
            continue
        if first is None:
            first = time.perf_counter()
        if crash:  # the process dies after the commit, before its PUBACKs: they are void
            sub.generation += 1
        sub.commit(batch)
        last = time.perf_counter()
    assert first is not None and last is not None, sub.stats.public()
    assert sub.stats.received >= n, sub.stats.public()
    return last - first


def staged(platform) -> int:
    with platform.db.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(observation_staging)).scalar_one()
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--port", type=int, default=0, help="broker port (default: a free one)")
    args = parser.parse_args()
    n = args.messages
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        platform, db_name = open_platform(folder, args.engine)
        broker = Broker(folder / "broker", args.port or free_port())
        broker.start()
        try:
            key = province_key(platform)
            provision(platform, key.key.id, args.devices)
            url = f"{broker.url}?receive_maximum=65535&batch=2000&group=recovery"
            config = MqttConfig.from_url(url, default_client_id="bench-recovery")
            first = Subscriber(platform, config)
            first.start()
            assert first.subscribed.wait(10)
            publish(broker.port, key.key.id, args.devices, n)
            fresh = drain(first, n, crash=True)
            first.client.disconnect()  # the crash: nothing was acknowledged
            first.client.loop_stop()
            rows_before = staged(platform)
            platform.ops.mqtt = None
            second = Subscriber(platform, config)
            second.start()
            recovery = drain(second, n, crash=False)
            second.stop()
            stats = second.stats
            rows_after = staged(platform)
        finally:
            broker.stop()
            platform.close()
            drop_database(db_name)
    assert rows_after == rows_before == n, (rows_before, rows_after)
    assert stats.duplicates == n and stats.stored == 0, stats.public()
    rows = [
        {"pass": "first delivery (baseline)", "messages": n, "seconds": round(fresh, 2),
         "per_second": n / fresh, "staged": rows_before},
        {"pass": "redelivered after a crash (DUP)", "messages": n, "seconds": round(recovery, 2),
         "per_second": n / recovery, "staged": rows_after - rows_before},
    ]  # fmt: skip
    report(
        f"mqtt_recovery_{args.engine}",
        rows,
        engine=args.engine,
        devices=args.devices,
        recovery_vs_first_delivery=round(recovery / fresh, 3),
        aim_seconds_for_10000=10,
        duplicates_recognised=stats.duplicates,
    )


if __name__ == "__main__":
    main()
