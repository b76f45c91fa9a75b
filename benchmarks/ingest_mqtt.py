"""MQTT ingest: durable single-reading messages per second through the real subscriber, against
a baseline measured in the same run (the same observations staged straight into the same
storage, `observations.stage` in one transaction, no MQTT and no API).

A private Mosquitto is started on a free port, tuned as docs/mqtt.md says (unlimited in-flight
and queue); the publishers are separate processes (`mosquitto_pub -l`, one per device, QoS 1) so they
do not share the subscriber's interpreter. A message counts when the subscriber has committed it and
sent its PUBACK. Two sinks are measured: `staging` (observations only) and `entity` (the
default: NGSI-LD entity updated through the entities service, observations staged, events
published). Subscriber variants (`VARIANTS`): MQTT 3.1.1 (the reference of the `vs_311`
column), MQTT 5 with a plain and with a shared subscription (`$share/<group>/…`, how several
hakama processes split the messages), two subscribers sharing one group (`split`: what each
took), and MQTT 5 through paho's own PUBLISH decoder (hakama's before its fast path). Usage:
    python benchmarks/ingest_mqtt.py [--messages 50000] [--devices 20] [--engine sqlite|postgresql]
        [--sinks staging,entity] [--variants 311,5,5shared,5shared2,5paho] [--broker-port N]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import subprocess
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
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


#: The subscriber variants measured, each against the same broker: (label, MQTT version,
#: shared subscription?, subscribers). 3.1.1 with a plain subscription is the reference the
#: MQTT 5 rows are compared with (`vs_311`).
VARIANTS = {
    "311": ("3.1.1", 4, False, 1),
    "5": ("5", 5, False, 1),
    "5shared": ("5, $share", 5, True, 1),
    "5shared2": ("5, $share, 2 subscribers", 5, True, 2),
    "5paho": ("5, $share, paho's own decoder", 5, True, 1),
}


def through_mqtt(
    platform,
    broker: Broker,
    key_id: str,
    sink_name: str,
    n: int,
    devices: int,
    offset: int,
    variant: str,
) -> dict:
    label, protocol, shared, count = VARIANTS[variant]
    platform.ops.mqtt = None
    subs = []
    for k in range(count):
        sink = StagingSink(platform) if sink_name == "staging" else EntitySink(platform)
        config = MqttConfig.from_url(
            f"{broker.url}?receive_maximum=20000&batch=5000&group=bench-{sink_name}-{variant}"
            f"&protocol={protocol}",
            default_client_id=f"bench-{sink_name}-{variant}-{k}",
        )
        if not shared:
            config = dataclasses.replace(config, group="")
        sub = Subscriber(platform, config, sink=sink)
        if variant == "5paho":  # what hakama did before its MQTT 5 fast path, for the ratio
            sub.client._handle_publish = functools.partial(  # type: ignore[method-assign]
                mqtt.Client._handle_publish, sub.client
            )
        subs.append(sub)
    for sub in subs:
        sub.start()
        assert sub.subscribed.wait(10)
    stats = subs[0].stats  # one IngestStats per platform, shared by the subscribers
    taken = [0] * count
    times: list[float] = []
    lock = threading.Lock()

    def work(k: int) -> None:
        sub = subs[k]
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            with lock:
                if sum(taken) >= n:
                    return
            batch = sub.next_batch(0.2)
            if batch:
                with lock:
                    times.append(time.perf_counter())
                sub.commit(batch)
                with lock:
                    taken[k] += len(batch)
                    times.append(time.perf_counter())

    publishers = start_publishers(broker.port, key_id, devices, n, offset)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for proc in publishers:
        proc.wait(timeout=60)
    for sub in subs:
        sub.stop()
    assert times, "nothing arrived"
    seconds = max(times) - min(times)
    return {
        "path": f"MQTT {label} → subscriber ({sink_name} sink)",
        "messages": stats.stored,
        "rejected": sum(stats.rejected.values()),
        "batches": stats.batches,
        "split": "/".join(str(t) for t in taken),
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
        "--variants",
        default=",".join(VARIANTS),
        help="subscribers measured: 311 (MQTT 3.1.1), 5, 5shared ($share/group), 5shared2 "
        "(two subscribers sharing one group)",
    )
    parser.add_argument("--broker-port", type=int, default=0, help="default: a free port")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        platform, db_name = open_platform(folder, args.engine)
        broker = Broker(folder / "broker", args.broker_port or free_port())
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
                    "split": "",
                    "seconds": round(args.messages / base, 2),
                    "per_second": base,
                }
            ]
            offset = 0
            for sink in args.sinks.split(","):
                for variant in args.variants.split(","):
                    rows.append(
                        through_mqtt(
                            platform,
                            broker,
                            key.key.id,
                            sink,
                            args.messages,
                            args.devices,
                            offset,
                            variant,
                        )
                    )
                    offset += args.messages
            for r in rows:
                r["vs_baseline"] = round(r["per_second"] / base, 3)
                # the MQTT 5 rows against the 3.1.1 row of the same sink, same run
                sink = r["path"].rsplit("(", 1)[-1]
                ref = next(
                    (x for x in rows if "3.1.1" in x["path"] and x["path"].endswith(sink)), None
                )
                r["vs_311"] = (
                    round(r["per_second"] / ref["per_second"], 3)
                    if ref and "MQTT" in r["path"]
                    else None
                )
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
