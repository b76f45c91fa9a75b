"""MQTT PUBLISH decoding per message in the subscriber's client (`jobs.mqtt.BufferedClient`),
MQTT 3.1.1 against MQTT 5 (both through hakama's decoder) and against MQTT 5 through paho's own
decoder (a `Properties` object per message: what hakama did before), in the same run. Packets come through a real socket pair, read by the
client's own `loop_read`; no broker, no database: this isolates what the protocol version costs
the network thread. Usage:
    python benchmarks/mqtt_decode.py [--messages 50000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import functools
import gc
import socket
import statistics
import struct
import threading
import time

import paho.mqtt.client as mqtt
from _report import report
from paho.mqtt.enums import CallbackAPIVersion

from hakama.jobs.mqtt import BufferedClient

PAYLOAD = b'{"p": 12.5, "t": "2026-03-01T10:00:00Z"}'


def packet(topic: bytes, mid: int, v5: bool) -> bytes:
    body = struct.pack("!H", len(topic)) + topic + struct.pack("!H", mid)
    body += (b"\x00" if v5 else b"") + PAYLOAD  # MQTT 5: an empty property list
    length, encoded = len(body), bytearray()
    while True:
        byte, length = length % 128, length // 128
        encoded.append(byte | (0x80 if length else 0))
        if not length:
            break
    return bytes([0x32]) + bytes(encoded) + body  # PUBLISH, QoS 1


def microseconds_per_message(n: int, v5: bool, paho_decoder: bool) -> float:
    client = BufferedClient(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id="bench",
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        manual_ack=True,
    )
    if paho_decoder:
        client._handle_publish = functools.partial(mqtt.Client._handle_publish, client)  # type: ignore[method-assign]
    got: list[mqtt.MQTTMessage] = []
    client.on_message = lambda _c, _u, m: got.append(m)
    ours, theirs = socket.socketpair()
    client._sock = theirs
    client._state = mqtt._ConnectionState.MQTT_CS_CONNECTED
    data = b"".join(
        packet(b"hakama/k1/dev-%d/attrs" % (i % 20), i % 65535 + 1, v5) for i in range(n)
    )
    gc.collect()  # the previous variant's messages are freed here, not while timing this one
    threading.Thread(target=ours.sendall, args=(data,), daemon=True).start()
    start = time.perf_counter()
    while len(got) < n:
        client.loop_read()
    seconds = time.perf_counter() - start
    ours.close()
    theirs.close()
    return seconds / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    variants = {
        "MQTT 3.1.1": (False, False),
        "MQTT 5": (True, False),
        "MQTT 5, paho's decoder (a Properties per message)": (True, True),
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    microseconds_per_message(2000, True, False)  # warm up
    for _ in range(args.rounds):  # interleaved, so load changes hit every variant alike
        for name, (v5, paho_decoder) in variants.items():
            samples[name].append(microseconds_per_message(args.messages, v5, paho_decoder))
    reference = statistics.median(samples["MQTT 3.1.1"])
    rows = [
        {
            "decoder": name,
            "us_per_message": round(statistics.median(values), 2),
            "messages_per_second": round(1e6 / statistics.median(values)),
            "vs_311": round(reference / statistics.median(values), 3),
        }
        for name, values in samples.items()
    ]
    report("mqtt_decode", rows, messages=args.messages, rounds=args.rounds)


if __name__ == "__main__":
    main()
