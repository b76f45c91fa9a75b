"""The Mosquitto settings docs/mqtt.md recommends for hakama's subscriber, as a configuration
file (`hakama mqtt broker-config`; `./run demo` starts its broker with it)."""

from __future__ import annotations

#: setting → (value, why). Mosquitto 2.x; see docs/mqtt.md "What the broker needs".
RECOMMENDED: tuple[tuple[str, str, str], ...] = (
    ("persistence", "true", "keep sessions and queued messages across a broker restart"),
    ("autosave_interval", "60", "what is queued between two saves is lost if the host crashes"),
    ("max_inflight_messages", "0", "hakama acknowledges after its commit; its Receive Maximum bounds this"),
    ("max_queued_messages", "0", "the default (1000) drops QoS 1 messages for a slow or absent subscriber"),
    ("max_queued_bytes", "0", "no byte limit on a session's queue either"),
    ("persistent_client_expiration", "14d", "a session expired by the broker loses its queue"),
    ("sys_interval", "10", "publish $SYS figures (dropped messages) that hakama reads"),
)  # fmt: skip


def broker_config(
    *, port: int | None = None, persistence_location: str | None = None, run_as_root: bool = False
) -> str:
    """A mosquitto.conf: the recommended settings, and a listener on 127.0.0.1:`port` if given."""
    lines = ["# Mosquitto settings for hakama (docs/mqtt.md, 'What the broker needs')"]
    if port is not None:
        lines += [f"listener {port} 127.0.0.1", "allow_anonymous true"]
    for name, value, why in RECOMMENDED:
        lines.append(f"# {why}")
        lines.append(f"{name} {value}")
        if name == "persistence" and persistence_location:
            lines.append(f"persistence_location {persistence_location.rstrip('/')}/")
    if run_as_root:
        lines.append("user root")
    return "\n".join(lines) + "\n"
