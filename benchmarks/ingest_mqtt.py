"""MQTT ingest: durable single-reading messages per second through the real subscriber, against
a baseline measured in the same run (the same observations staged straight into the same
storage, `observations.stage` in one transaction, no MQTT and no API).

A private Mosquitto is started on a free port, tuned as docs/mqtt.md says (unlimited in-flight
and queue); the publishers are separate processes (`mosquitto_pub -l`, one per device, QoS 1) so they
do not share the subscriber's interpreter. A message counts when the subscriber has committed it and
sent its PUBACK. Two sinks are measured: `staging` (observations only) and `entity` (the
default: NGSI-LD entity updated through the entities service, observations staged, events
published). Usage:
    python benchmarks/ingest_mqtt.py [--messages 50000] [--devices 20] [--engine sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _ingest_setup import Broker, drop_database, free_port, open_platform, province_key, provision
from _report import report

from hakama.core.observations import Observation
from hakama.jobs.mqtt import MqttConfig, Subscriber
from hakama.services import observations
from hakama.services.device_readings import EntitySink, StagingSink

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def start_publishers(
    port: int, key: str, devices: int, count: int, offset: int
) -> list[subprocess.Popen[bytes]]:
    """One `mosquitto_pub -l` per device (C client, QoS 1, MQTT 5), each message one reading.

    The Python paho publisher tops out near 3,000 messages/s on this machine, below what is
    measured here; Mosquitto's own client does about 20,000.
    """
    procs = []
    for d in range(devices):
        lines = "".join(
            json.dumps(
                {
                    "p": float(i % 500),
                    "t": (T0 + timedelta(milliseconds=i)).isoformat().replace("+00:00", "Z"),
                }
            )
            + "\n"
            for i in range(offset + d, offset + count, devices)
        )
        proc = subprocess.Popen(
            [
                "mosquitto_pub",
                "-p",
                str(port),
                "-q",
                "1",
                "-V",
                "5",
                "-t",
                f"hakama/{key}/bench-{d}/attrs",
                "-l",
            ],
            stdin=subprocess.PIPE,
        )
        assert proc.stdin is not None
        proc.stdin.write(lines.encode())
        proc.stdin.close()
        procs.append(proc)
    return procs


def baseline(platform, n: int, devices: int) -> float:
    rows = [
        Observation(
            T0 + timedelta(seconds=i // devices, milliseconds=i % 1000),
            f"urn:ngsi-ld:AirQualityObserved:base-{i % devices}",
            "AirQualityObserved",
            "pm25",
            float(i % 500),
            None,
            "GQ",
            "02.113.01.09",
            "mqtt",
        )
        for i in range(n)
    ]
    t = time.perf_counter()
    with platform.db.begin() as conn:
        observations.stage(conn, rows)
    return n / (time.perf_counter() - t)


def through_mqtt(
    platform,
    broker: Broker,
    key_id: str,
    sink_name: str,
    n: int,
    devices: int,
    offset: int,
    protocol: int,
) -> dict:
    sink = StagingSink(platform) if sink_name == "staging" else EntitySink(platform)
    platform.ops.mqtt = None
    config = MqttConfig.from_url(
        f"{broker.url}?receive_maximum=5000&batch=5000&group=bench-{sink_name}-{protocol}"
        f"&protocol={protocol}",
        default_client_id=f"bench-{sink_name}-{protocol}",
    )
    sub = Subscriber(platform, config, sink=sink)
    sub.start()
    assert sub.subscribed.wait(10)
    publishers = start_publishers(broker.port, key_id, devices, n, offset)
    first = None
    t_end = None
    deadline = time.monotonic() + 600
    while sub.stats.stored + sum(sub.stats.rejected.values()) < n and time.monotonic() < deadline:
        batch = sub.next_batch(0.5)
        if not batch and first is not None and os.environ.get("BENCH_DEBUG"):
            print("waiting:", sub.stats.public(), sub.inbox.qsize(), flush=True)
        if batch:
            if first is None:
                first = time.perf_counter()
            sub.commit(batch)
            t_end = time.perf_counter()
    for proc in publishers:
        proc.wait(timeout=60)
    sub.stop()
    assert first is not None and t_end is not None
    seconds = t_end - first
    stats = sub.stats
    return {
        "path": f"MQTT {'5' if protocol == 5 else '3.1.1'} → subscriber ({sink_name} sink)",
        "messages": stats.stored,
        "rejected": sum(stats.rejected.values()),
        "batches": stats.batches,
        "seconds": round(seconds, 2),
        "per_second": stats.stored / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--sinks", default="staging,entity")
    parser.add_argument(
        "--protocols", default="4,5", help="MQTT versions of the subscriber: 4 = 3.1.1, 5"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        platform, db_name = open_platform(folder, args.engine)
        broker = Broker(folder / "broker", free_port())
        broker.start()
        try:
            key = province_key(platform)
            provision(platform, key.key.id, args.devices)
            base = baseline(platform, args.messages, args.devices)
            rows = [
                {
                    "path": "baseline: observations.stage, one transaction",
                    "messages": args.messages,
                    "rejected": 0,
                    "batches": 1,
                    "seconds": round(args.messages / base, 2),
                    "per_second": base,
                }
            ]
            offset = 0
            for protocol in (int(p) for p in args.protocols.split(",")):
                for sink in args.sinks.split(","):
                    rows.append(
                        through_mqtt(
                            platform,
                            broker,
                            key.key.id,
                            sink,
                            args.messages,
                            args.devices,
                            offset,
                            protocol,
                        )
                    )
                    offset += args.messages
            for r in rows:
                r["vs_baseline"] = round(r["per_second"] / base, 3)
        finally:
            broker.stop()
            platform.close()
            drop_database(db_name)
    report(
        f"ingest_mqtt_{args.engine}",
        rows,
        engine=args.engine,
        devices=args.devices,
        aim_messages_per_second=10_000,
    )


if __name__ == "__main__":
    main()
