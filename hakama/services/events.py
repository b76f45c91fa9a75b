"""In-process domain events: a writer publishes after commit, listeners react (notifications,
alerts). Listeners must be quick and must not raise into the writer: they enqueue durable work
(an outbox row) and return; a failing listener is logged and never fails the write."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
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


@dataclass(frozen=True)
class _Many:
    """A listener that hears the events of one publication together (`listen_many`)."""

    listener: Callable[[Platform, Sequence[Any]], None]

    def __call__(self, platform: Platform, event: object) -> None:
        self.listener(platform, [event])


def listen_many(
    platform: Platform, event_type: type, listener: Callable[[Platform, Sequence[Any]], None]
) -> None:
    """Register `listener` to hear the events of `event_type` of one `publish_all` in one call
    (a batch write publishes hundreds: one outbox transaction for them, not one each)."""
    listen(platform, event_type, _Many(listener))


def publish(platform: Platform, event: object) -> None:
    """Call the listeners of the event's type; errors are logged, never raised."""
    publish_all(platform, [event])


def publish_all(platform: Platform, published: Sequence[object]) -> None:
    """Publish events of one type: a `listen_many` listener hears them in one call, the others
    one call per event, in order. Errors are logged, never raised."""
    if not published:
        return
    kind = type(published[0])
    for listener in platform.listeners.get(kind, []):
        if isinstance(listener, _Many):
            _call(listener.listener, platform, published, kind)
        else:
            for event in published:
                _call(listener, platform, event, kind)


def _call(listener: Listener, platform: Platform, arg: Any, kind: type) -> None:
    try:
        listener(platform, arg)
    except Exception:
        log.exception("event listener %r failed on %r", listener, kind.__name__)
