"""In-process domain events: a writer publishes after commit, listeners react (notifications,
alerts). Listeners must be quick and must not raise into the writer: they enqueue durable work
(an outbox row) and return; a failing listener is logged and never fails the write."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hakama.services.platform import Platform

log = logging.getLogger("hakama.events")


@dataclass(frozen=True)
class EntityChanged:
    """An NGSI-LD entity was created, updated or deleted (after the transaction committed).

    `before`/`after` are the entity in normalized NGSI-LD form with short (compacted) names,
    None when it did not exist / no longer exists. `attributes` names what changed.
    """

    entity_id: str
    entity_type: str
    area_code: str | None
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    attributes: frozenset[str]
    at: datetime


@dataclass(frozen=True)
class RequestChanged:
    """A service request was created or changed (after commit)."""

    request_id: str
    area_code: str | None
    event: str
    at: datetime
    details: Mapping[str, Any] = field(default_factory=dict)


Listener = Callable[[Platform, Any], None]


def listen(platform: Platform, event_type: type, listener: Listener) -> None:
    """Register `listener` for events of `event_type` on this platform."""
    platform.listeners.setdefault(event_type, []).append(listener)


def publish(platform: Platform, event: object) -> None:
    """Call the listeners of the event's type; errors are logged, never raised."""
    for listener in platform.listeners.get(type(event), []):
        try:
            listener(platform, event)
        except Exception:
            log.exception("event listener %r failed on %r", listener, type(event).__name__)
