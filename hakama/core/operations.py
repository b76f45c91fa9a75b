"""What an operator watches, as plain data: the MQTT broker's own loss figures and when each
background job last succeeded. Filled by the jobs, read by /health, /metrics and the ingest
counters."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: Mosquitto's $SYS topics hakama reads (Mosquitto 2.0), and the field each one fills.
BROKER_TOPICS = {
    "$SYS/broker/load/publish/dropped/1min": "dropped_1min",
    "$SYS/broker/load/publish/dropped/5min": "dropped_5min",
    "$SYS/broker/load/publish/dropped/15min": "dropped_15min",
    "$SYS/broker/publish/messages/dropped": "dropped_total",
    "$SYS/broker/store/messages/count": "stored_messages",
    "$SYS/broker/messages/stored": "stored_messages",  # Mosquitto 1.x's name
}


@dataclass
class BrokerLoad:
    """The broker's own figures: messages it dropped (moving averages per minute over 1, 5 and
    15 minutes, and in total since it started) and messages it holds in its store."""

    dropped_1min: float | None = None
    dropped_5min: float | None = None
    dropped_15min: float | None = None
    dropped_total: float | None = None
    stored_messages: float | None = None
    updated_at: datetime | None = None
    connected: bool = False
    #: the drop total when the current alert window started (None: no drop seen yet)
    dropped_baseline: float | None = None

    def update(self, topic: str, payload: bytes, at: datetime) -> bool:
        """Take one $SYS message; False if the topic or payload is not one of ours."""
        name = BROKER_TOPICS.get(topic)
        if name is None:
            return False
        try:
            value = float(payload.decode().split()[0])
        except (UnicodeDecodeError, ValueError, IndexError):
            return False
        setattr(self, name, value)
        self.updated_at = at
        return True

    @property
    def dropping(self) -> bool:
        """Is the broker losing messages now (any drop within the last minutes)?"""
        return any((v or 0) > 0 for v in (self.dropped_1min, self.dropped_5min))

    def public(self) -> dict[str, Any]:
        return {
            "connected": self.connected,
            "dropped_per_minute": {
                "1min": self.dropped_1min,
                "5min": self.dropped_5min,
                "15min": self.dropped_15min,
            },
            "dropped_total": self.dropped_total,
            "stored_messages": self.stored_messages,
            "dropping": self.dropping,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }


@dataclass
class IngestStats:
    """Counters of the subscriber, kept in `Operations.mqtt` for health pages."""

    received: int = 0
    stored: int = 0
    observations: int = 0
    batches: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0  # redelivered messages already stored
    failures: int = 0
    connected: bool = False
    last_error: str | None = None
    lag_seconds: float = 0.0  # from reception of a batch's first message to its commit

    def public(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "stored": self.stored,
            "observations": self.observations,
            "batches": self.batches,
            "duplicates": self.duplicates,
            "rejected": dict(self.rejected),
            "failures": self.failures,
            "connected": self.connected,
            "last_error": self.last_error,
            "lag_seconds": round(self.lag_seconds, 3),
        }


@dataclass
class Operations:
    """The operator's view of one running hakama (per process)."""

    broker: BrokerLoad = field(default_factory=BrokerLoad)
    job_success: dict[str, datetime] = field(default_factory=dict)
    #: the MQTT subscriber's counters in this process, if it subscribes
    mqtt: IngestStats | None = None
    #: the last storage check's report (services.integrity.CheckReport.public()), if one ran
    check: dict[str, Any] | None = None
    #: when /health last found the schema current (time.monotonic()); None: ask again
    schema_checked: float | None = None
    #: does this process hold the leader lock (run the jobs that run once across processes)?
    leader: bool = False

    def succeeded(self, job: str, at: datetime) -> None:
        self.job_success[job] = at
