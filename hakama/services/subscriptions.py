"""NGSI-LD subscriptions: create, list, read, update, delete; and turning entity changes into
notifications waiting in a durable outbox.

`install(platform)` registers a listener for `events.EntityChanged`. The listener runs after the
writer's commit, matches the change against the active subscriptions (kept in memory, reloaded
every few seconds so other processes' changes are seen) and inserts one outbox row per matching
subscription in a transaction of its own. It never calls an endpoint: `jobs.notifier`
sends what the outbox holds, so a slow or failing endpoint never slows down a writer.

Who may subscribe: an actor allowed `READ_INTERNAL` in their own area (agents, analysts,
administrators). A subscription belongs to its creator's area and only sees entities of that
area (or below); a commune's agent cannot watch, list or change another commune's
subscriptions. Creating, changing and deleting a subscription is audited.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import sqlalchemy as sa

from hakama.core import jsonld, notifications
from hakama.core import subscriptions as core
from hakama.core.access import Action, Actor, allowed
from hakama.core.clock import utcnow
from hakama.core.entities import types_of
from hakama.core.entity_render import render_all
from hakama.core.errors import Conflict, Forbidden, Invalid, NotFound
from hakama.services import audit, contexts, events
from hakama.services import entities as entity_service
from hakama.services.platform import Platform
from hakama.services.territory import area_chain
from hakama.storage.schema_subscriptions import notification_outbox, subscriptions

log = logging.getLogger("hakama.subscriptions")

#: Seconds the in-memory list of subscriptions is trusted before it is read again.
CACHE_SECONDS = 2.0
#: Cache key of the callback the notifier leaves so new outbox rows wake it at once.
#: Entities one periodic notification carries at most.
PERIODIC_LIMIT = 500


@dataclass(frozen=True)
class Stored:
    """A subscription with its owner's area and its delivery status."""

    sub: core.Subscription
    owner: str
    area_code: str | None
    status: Mapping[str, Any]
    context: jsonld.Context | None = None  # the one it was written under, resolved once

    def render(self, *, now: datetime | None = None) -> dict[str, Any]:
        return core.render(self.sub, self.status, now=now or utcnow())


def _context_of(platform: Platform, body: Mapping[str, Any]) -> jsonld.Context:
    """The @context the subscription was written under (user contexts come from the cache)."""
    refs = body.get("@context")
    if not refs:
        return jsonld.core()
    return contexts.build(platform, refs)


def from_row(platform: Platform, row: Any) -> Stored:
    """A `subscriptions` row as a `Stored` subscription."""
    body = dict(row.body)
    context = _context_of(platform, body)
    sub = core.parse(
        body,
        now=row.created_at,  # accepted once: a past expiresAt is not an error when reading
        context=context,
        sub_id=row.id,
    )
    sub = _with_state(sub, is_active=row.is_active, expires_at=row.expires_at)
    status = {
        "timesSent": row.times_sent,
        "lastNotification": row.last_notification,
        "lastSuccess": row.last_success,
        "lastFailure": row.last_failure,
        "status": row.status,
    }
    return Stored(sub=sub, owner=row.owner, area_code=row.area_code, status=status, context=context)


def _with_state(
    sub: core.Subscription, *, is_active: bool, expires_at: datetime | None
) -> core.Subscription:
    from dataclasses import replace

    return replace(sub, is_active=is_active, expires_at=expires_at)


def _check_may_subscribe(platform: Platform, actor: Actor) -> None:
    if not allowed(actor, Action.READ_INTERNAL, area_chain(platform, actor.area_code)):
        raise Forbidden("subscriptions need an account or key allowed to read internal data")


def _check_owns(platform: Platform, actor: Actor, stored: Stored) -> None:
    if not allowed(actor, Action.READ_INTERNAL, area_chain(platform, stored.area_code)):
        # Another area's subscription is not even acknowledged to exist.
        raise NotFound(f"no subscription {stored.sub.id}", id=stored.sub.id)


def _load_row(conn: sa.Connection, sub_id: str) -> Any:
    row = conn.execute(sa.select(subscriptions).where(subscriptions.c.id == sub_id)).first()
    if row is None:
        raise NotFound(f"no subscription {sub_id}", id=sub_id)
    return row


def create(
    platform: Platform,
    body: Mapping[str, Any],
    *,
    actor: Actor,
    context: jsonld.Context | None = None,
) -> Stored:
    """Accept a new subscription (clause 5.8.1); `Conflict` if its id is taken."""
    _check_may_subscribe(platform, actor)
    now = utcnow()
    sub = core.parse(body, now=now, context=context)
    with platform.db.begin() as conn:
        exists = conn.execute(
            sa.select(subscriptions.c.id).where(subscriptions.c.id == sub.id)
        ).first()
        if exists is not None:
            raise Conflict(f"subscription {sub.id} already exists", id=sub.id)
        conn.execute(
            subscriptions.insert().values(
                id=sub.id,
                owner=actor.label,
                area_code=actor.area_code,
                body=dict(sub.body),
                is_active=sub.is_active,
                expires_at=sub.expires_at,
                throttling=sub.throttling,
                times_sent=0,
                created_at=now,
                modified_at=now,
            )
        )
        audit.record(
            conn,
            actor=actor,
            action="subscription.create",
            resource=sub.id,
            area_code=actor.area_code,
            after=dict(sub.body),
        )
    platform.derived.subscriptions = None
    return Stored(sub=sub, owner=actor.label, area_code=actor.area_code, status={"timesSent": 0})


def get(platform: Platform, sub_id: str, *, actor: Actor) -> Stored:
    """One subscription with its status; `NotFound` if absent or outside the actor's area."""
    _check_may_subscribe(platform, actor)
    with platform.db.connect() as conn:
        stored = from_row(platform, _load_row(conn, sub_id))
    _check_owns(platform, actor, stored)
    return stored


def list_(platform: Platform, *, actor: Actor, limit: int = 100, offset: int = 0) -> list[Stored]:
    """The subscriptions the actor may see (their area and below), oldest first."""
    _check_may_subscribe(platform, actor)
    if limit < 0 or offset < 0:
        raise Invalid("limit and offset cannot be negative")
    with platform.db.connect() as conn:
        rows = conn.execute(
            sa.select(subscriptions).order_by(subscriptions.c.created_at, subscriptions.c.id)
        ).all()
    visible: list[Stored] = []
    for row in rows:
        if allowed(actor, Action.READ_INTERNAL, area_chain(platform, row.area_code)):
            visible.append(from_row(platform, row))
    return visible[offset : offset + limit]


def update(
    platform: Platform,
    sub_id: str,
    patch: Mapping[str, Any],
    *,
    actor: Actor,
    context: jsonld.Context | None = None,
) -> Stored:
    """Change members of a subscription (clause 5.8.2): each member of the fragment replaces
    the subscription's (`notification` whole, so it must be complete), null removes it."""
    if not isinstance(patch, Mapping) or not patch:
        raise Invalid("an update is a non-empty JSON object")
    if "id" in patch and patch["id"] != sub_id:
        raise Invalid("the id of a subscription cannot change")
    current = get(platform, sub_id, actor=actor)
    merged = {k: v for k, v in current.sub.body.items() if k != "@context"}
    for key, value in patch.items():
        if key == "@context":
            continue
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    ctx = context or _context_of(platform, current.sub.body)
    now = utcnow()
    sub = core.parse(merged, now=now, context=ctx, sub_id=sub_id)
    with platform.db.begin() as conn:
        conn.execute(
            subscriptions.update()
            .where(subscriptions.c.id == sub_id)
            .values(
                body=dict(sub.body),
                is_active=sub.is_active,
                expires_at=sub.expires_at,
                throttling=sub.throttling,
                modified_at=now,
            )
        )
        audit.record(
            conn,
            actor=actor,
            action="subscription.update",
            resource=sub_id,
            area_code=current.area_code,
            before=dict(current.sub.body),
            after=dict(sub.body),
        )
    platform.derived.subscriptions = None
    return get(platform, sub_id, actor=actor)


def delete(platform: Platform, sub_id: str, *, actor: Actor) -> None:
    """Remove a subscription and whatever of it is still waiting in the outbox."""
    current = get(platform, sub_id, actor=actor)
    with platform.db.begin() as conn:
        conn.execute(
            notification_outbox.delete().where(notification_outbox.c.subscription_id == sub_id)
        )
        conn.execute(subscriptions.delete().where(subscriptions.c.id == sub_id))
        audit.record(
            conn,
            actor=actor,
            action="subscription.delete",
            resource=sub_id,
            area_code=current.area_code,
            before=dict(current.sub.body),
        )
    platform.derived.subscriptions = None


# Matching entity changes ---------------------------------------------------------------------


def active(platform: Platform) -> list[Stored]:
    """The subscriptions that may notify now (cached for `CACHE_SECONDS`)."""
    cached = platform.derived.subscriptions
    if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    now = utcnow()
    with platform.db.connect() as conn:
        rows = conn.execute(
            sa.select(subscriptions).where(subscriptions.c.is_active == sa.true())
        ).all()
    loaded: list[Stored] = []
    for row in rows:
        if row.expires_at is not None and row.expires_at <= now:
            continue
        try:
            loaded.append(from_row(platform, row))
        except Exception:  # a subscription that no longer parses must not stop the others
            log.exception("subscription %s cannot be loaded", row.id)
    platform.derived.subscriptions = (time.monotonic(), loaded)
    return loaded


def matching(platform: Platform, event: events.EntityChanged) -> list[Stored]:
    """The active subscriptions an entity change concerns."""
    candidates = active(platform)
    if not candidates:
        return []  # the common case at ingestion rates: nothing to compute
    now = event.at
    triggers = notifications.change_triggers(event.before, event.after, event.attributes)
    entity = event.after if event.after is not None else event.before
    if entity is None:
        return []
    types = types_of(entity) or (event.entity_type,)
    chain: tuple[str, ...] | None = None
    found: list[Stored] = []
    for stored in candidates:
        sub = stored.sub
        if sub.time_interval is not None:
            continue  # periodic: notified on its clock (`enqueue_periodic`), not on changes
        if sub.expired(now) or not sub.selects(event.entity_id, types):
            continue
        if not sub.fired_by(triggers):
            continue
        if stored.area_code is not None:
            if chain is None:
                chain = area_chain(platform, event.area_code)
            if stored.area_code not in chain:
                continue
        try:
            if not sub.filters_pass(entity):
                continue
        except Exception:  # a q that cannot be evaluated on this entity does not match
            log.debug("subscription %s: filters failed on %s", sub.id, event.entity_id)
            continue
        found.append(stored)
    return found


def payload_entities(
    platform: Platform, stored: Stored, entities: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The entities as this subscription's notifications carry them (format, attributes,
    names), with the entities they link to when it asks for `join`."""
    context = stored.context or _context_of(platform, stored.sub.body)
    return render_all(
        [dict(e) for e in entities],
        notifications.shape(stored.sub, context),
        partial(entity_service.get_many, platform),
    )


def enqueue(platform: Platform, event: events.EntityChanged) -> int:
    """Put one outbox row per subscription the change concerns; return how many."""
    return enqueue_many(platform, [event])


def enqueue_many(platform: Platform, changes: Sequence[events.EntityChanged]) -> int:
    """Put one outbox row per subscription each change concerns, all in one transaction (a
    batch write's changes come together); return how many. A change whose notification cannot
    be built is logged and left out, as it would have been alone."""
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for event in changes:
        try:
            rows.extend(_outbox_rows(platform, event, now))
        except Exception:
            log.exception("notifications of the change of %s could not be built", event.entity_id)
    if not rows:
        return 0
    with platform.db.begin() as conn:
        conn.execute(notification_outbox.insert(), rows)
    wake = platform.notifier_wakeup
    if wake is not None:
        wake()
    return len(rows)


def _outbox_rows(
    platform: Platform, event: events.EntityChanged, now: datetime
) -> list[dict[str, Any]]:
    found = matching(platform, event)
    if not found:
        return []
    entities = {
        show: notifications.notified_entity(
            event.before, event.after, at=event.at, show_changes=show
        )
        for show in (False, True)
    }
    return [
        {
            "subscription_id": stored.sub.id,
            "payload": {
                "data": payload_entities(
                    platform,
                    stored,
                    [entities[stored.sub.body.get("notification", {}).get("showChanges") is True]],
                ),
                "entityId": event.entity_id,
            },
            "state": "pending",
            "attempts": 0,
            "due_at": now,
            "created_at": now,
        }
        for stored in found
    ]


def enqueue_periodic(platform: Platform, *, now: datetime | None = None) -> int:
    """Queue the notification of every periodic subscription (`timeInterval`) that is due:
    never notified, or notified `timeInterval` seconds ago or more, and with nothing of it
    still waiting in the outbox. Its data is the current state of every entity it selects
    (at most `PERIODIC_LIMIT`). Due-ness is computed from the stored `lastNotification`, so
    the schedule survives a restart. Returns how many notifications were queued."""
    now = now or utcnow()
    periodic = [s for s in active(platform) if s.sub.time_interval is not None]
    if not periodic:
        return 0
    ids = [s.sub.id for s in periodic]
    with platform.db.connect() as conn:
        last = dict(
            conn.execute(
                sa.select(subscriptions.c.id, subscriptions.c.last_notification).where(
                    subscriptions.c.id.in_(ids), subscriptions.c.is_active == sa.true()
                )
            ).all()
        )
        waiting = set(
            conn.execute(
                sa.select(notification_outbox.c.subscription_id)
                .where(notification_outbox.c.subscription_id.in_(ids))
                .where(notification_outbox.c.state == "pending")
            ).scalars()
        )
    held = platform.periodic_rounds
    rows: list[dict[str, Any]] = []
    for stored in periodic:
        sub = stored.sub
        assert sub.time_interval is not None
        if sub.id not in last or sub.id in waiting or sub.expired(now):
            continue
        previous = max((t for t in (last[sub.id], held.get(sub.id)) if t is not None), default=None)
        if previous is not None and (now - previous).total_seconds() < sub.time_interval:
            continue
        held[sub.id] = now  # an empty round waits a whole interval too
        try:
            found = entity_service.query(
                platform,
                selectors=[
                    entity_service.Selector(
                        type=e.type, id=e.id, id_pattern=e.id_pattern, type_query=e.type_query
                    )
                    for e in sub.entities
                ],
                q=sub.query,
                geoq=sub.geoquery,
                area_code=stored.area_code,
                limit=PERIODIC_LIMIT,
            ).entities
        except Exception:
            log.exception("subscription %s: its periodic query failed", sub.id)
            continue
        data = payload_entities(platform, stored, [e for e in found if sub.filters_pass(e)])
        if not data:
            continue
        rows.append(
            {
                "subscription_id": sub.id,
                "payload": {"data": data},
                "state": "pending",
                "attempts": 0,
                "due_at": now,
                "created_at": now,
            }
        )
    if rows:
        with platform.db.begin() as conn:
            conn.execute(notification_outbox.insert(), rows)
    return len(rows)


def _on_entities_changed(platform: Platform, published: Sequence[object]) -> None:
    enqueue_many(platform, [e for e in published if isinstance(e, events.EntityChanged)])


def install(platform: Platform) -> None:
    """Make entity changes on this platform feed the notification outbox (once per platform)."""
    if platform.subscriptions_installed:
        return
    events.listen_many(platform, events.EntityChanged, _on_entities_changed)
    platform.subscriptions_installed = True


def outbox_counts(platform: Platform, sub_ids: Sequence[str] | None = None) -> dict[str, int]:
    """How many notifications wait (`pending`) or were given up (`dead`)."""
    query = sa.select(notification_outbox.c.state, sa.func.count()).group_by(
        notification_outbox.c.state
    )
    if sub_ids is not None:
        query = query.where(notification_outbox.c.subscription_id.in_(list(sub_ids)))
    with platform.db.connect() as conn:
        return {state: int(n) for state, n in conn.execute(query).all()}
