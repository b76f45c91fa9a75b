"""Sending NGSI-LD notifications from the outbox to subscribers' HTTP endpoints.

A background job (`run(platform, stop)`, started by `hakama serve`). Each round it claims the
due outbox rows (a lease in `claimed_until`, `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several
hakama processes can share the work without sending a row twice), groups them by subscription
into one notification each, and posts them concurrently, one task per subscription: an
endpoint that hangs holds only its own subscription's task, never the others nor a writer.

After each attempt the subscription's status is recorded (`timesSent`, `lastNotification`,
`lastSuccess` or `lastFailure`, `status` ok/failed). A failed notification is retried with
exponential backoff (1 s, 2 s, 4 s… at most `MAX_BACKOFF`) and given up after `MAX_ATTEMPTS`
(its rows stay as `dead` for inspection). `throttling` holds rows back until that many seconds
have passed since the subscription's last notification; whatever piled up meanwhile goes out
together. Rows of paused, expired or deleted subscriptions are dropped: NGSI-LD does not
replay what happened while a subscription was inactive.

Blocking database work runs in a worker thread so the server's event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from hakama.core import jsonld, notifications
from hakama.core.clock import utcnow
from hakama.services import subscriptions as subs
from hakama.services.platform import Platform
from hakama.storage import db
from hakama.storage.schema_subscriptions import notification_outbox, subscriptions

log = logging.getLogger("hakama.notifier")

MAX_ATTEMPTS = 6
MAX_BACKOFF = 300.0
#: Seconds an endpoint has to answer.
TIMEOUT = 10.0
#: How long a claimed row is reserved for the sender holding it.
LEASE = timedelta(seconds=60)
#: Rows one notification carries at most (the rest goes in the next one).
MAX_ENTITIES = 500
#: Seconds between two looks at the outbox when nothing woke the sender.
POLL = 1.0
CONCURRENCY = 32


@dataclass
class Batch:
    """The claimed rows of one subscription, to go out as one notification."""

    subscription_id: str
    row_ids: list[int] = field(default_factory=list)
    data: list[Any] = field(default_factory=list)
    attempts: int = 0


@dataclass(frozen=True)
class Delivery:
    """What one notification attempt gave."""

    subscription_id: str
    ok: bool
    status_code: int | None
    error: str | None
    at: datetime


def backoff(attempts: int) -> float:
    """Seconds to wait before attempt number `attempts + 1`."""
    return float(min(MAX_BACKOFF, 2 ** max(0, attempts - 1)))


def claim(platform: Platform, *, now: datetime, busy: frozenset[str] = frozenset()) -> list[Batch]:
    """Take the due outbox rows (not those of subscriptions in `busy`), grouped and leased."""
    t = notification_outbox
    with platform.db.begin() as conn:
        query = (
            sa.select(t.c.id, t.c.subscription_id, t.c.payload, t.c.attempts)
            .where(t.c.state == "pending", t.c.due_at <= now)
            .where(sa.or_(t.c.claimed_until.is_(None), t.c.claimed_until < now))
            .order_by(t.c.id)
            .limit(MAX_ENTITIES * 4)
        )
        if busy:
            query = query.where(t.c.subscription_id.not_in(sorted(busy)))
        query = db.locking(conn, query, skip_locked=True)
        rows = conn.execute(query).all()
        if not rows:
            return []
        sub_rows = {
            r.id: r
            for r in conn.execute(
                sa.select(subscriptions).where(
                    subscriptions.c.id.in_({r.subscription_id for r in rows})
                )
            )
        }
        batches: dict[str, Batch] = {}
        drop: list[int] = []
        hold: dict[str, tuple[list[int], datetime]] = defaultdict(lambda: ([], now))
        for row in rows:
            sub = sub_rows.get(row.subscription_id)
            if (
                sub is None
                or not sub.is_active
                or (sub.expires_at is not None and sub.expires_at <= now)
            ):
                drop.append(row.id)
                continue
            if sub.throttling and sub.last_notification is not None:
                allowed_at = sub.last_notification + timedelta(seconds=sub.throttling)
                if allowed_at > now:
                    held = hold[row.subscription_id]
                    hold[row.subscription_id] = ([*held[0], row.id], allowed_at)
                    continue
            batch = batches.setdefault(row.subscription_id, Batch(row.subscription_id))
            if len(batch.row_ids) >= MAX_ENTITIES:
                continue  # stays pending for the next notification
            batch.row_ids.append(row.id)
            batch.data.extend(row.payload.get("data", []))
            batch.attempts = max(batch.attempts, row.attempts)
        if drop:
            conn.execute(t.delete().where(t.c.id.in_(drop)))
        for ids, allowed_at in hold.values():
            conn.execute(t.update().where(t.c.id.in_(ids)).values(due_at=allowed_at))
        claimed = [i for b in batches.values() for i in b.row_ids]
        if claimed:
            conn.execute(t.update().where(t.c.id.in_(claimed)).values(claimed_until=now + LEASE))
    return list(batches.values())


def record(platform: Platform, batch: Batch, delivery: Delivery) -> None:
    """Write the outcome: status figures on the subscription, the rows gone or rescheduled."""
    t = notification_outbox
    s = subscriptions
    with platform.db.begin() as conn:
        values: dict[str, Any] = {
            "times_sent": s.c.times_sent + 1,
            "last_notification": delivery.at,
            "status": "ok" if delivery.ok else "failed",
        }
        values["last_success" if delivery.ok else "last_failure"] = delivery.at
        conn.execute(s.update().where(s.c.id == batch.subscription_id).values(**values))
        if delivery.ok:
            conn.execute(t.delete().where(t.c.id.in_(batch.row_ids)))
            return
        attempts = batch.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            conn.execute(
                t.update()
                .where(t.c.id.in_(batch.row_ids))
                .values(state="dead", attempts=attempts, last_error=delivery.error)
            )
            log.warning(
                "subscription %s: notification given up after %d attempts: %s",
                batch.subscription_id,
                attempts,
                delivery.error,
            )
            return
        conn.execute(
            t.update()
            .where(t.c.id.in_(batch.row_ids))
            .values(
                attempts=attempts,
                due_at=delivery.at + timedelta(seconds=backoff(attempts)),
                claimed_until=None,
                last_error=delivery.error,
            )
        )


def request_of(
    platform: Platform, batch: Batch, *, at: datetime
) -> tuple[str, dict[str, str], bytes]:
    """The URL, headers and body of the notification `batch` becomes."""
    import json

    stored = _stored(platform, batch.subscription_id)
    sub = stored.sub
    body = notifications.notification(sub, batch.data, at=at)
    ctx_refs = sub.body.get("@context")
    context_url: Any = ctx_refs if ctx_refs else jsonld.DEFAULT_CORE_URL
    headers = {"Content-Type": sub.accept}
    for info in sub.body.get("notification", {}).get("endpoint", {}).get("receiverInfo") or ():
        headers[info["key"]] = info["value"]  # receiverInfo (clause 5.2.15), checked on create
    if sub.accept == "application/ld+json":
        if isinstance(context_url, list):
            context_url = [*context_url, jsonld.DEFAULT_CORE_URL]
        body["@context"] = context_url
        body["data"] = [
            {**e, "@context": context_url} if isinstance(e, dict) else e for e in body["data"]
        ]
    else:
        link = (
            ctx_refs[0]
            if isinstance(ctx_refs, list) and ctx_refs and isinstance(ctx_refs[0], str)
            else None
        )
        headers["Link"] = jsonld.link_header(link or jsonld.DEFAULT_CORE_URL)
    return sub.uri, headers, json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")


def _stored(platform: Platform, sub_id: str) -> subs.Stored:
    with platform.db.connect() as conn:
        row = conn.execute(sa.select(subscriptions).where(subscriptions.c.id == sub_id)).one()
    return subs.from_row(platform, row)


async def send(platform: Platform, client: httpx.AsyncClient, batch: Batch) -> Delivery:
    """Post one notification and record how it went; never raises."""
    at = utcnow()
    try:
        url, headers, content = await asyncio.to_thread(request_of, platform, batch, at=at)
        response = await client.post(url, content=content, headers=headers)
        ok = 200 <= response.status_code < 300
        delivery = Delivery(
            batch.subscription_id,
            ok,
            response.status_code,
            None if ok else f"HTTP {response.status_code}",
            at,
        )
    except Exception as exc:  # the endpoint's failure is data, not a crash
        delivery = Delivery(batch.subscription_id, False, None, f"{type(exc).__name__}: {exc}", at)
    try:
        await asyncio.to_thread(record, platform, batch, delivery)
    except Exception:
        log.exception("subscription %s: could not record a delivery", batch.subscription_id)
    return delivery


async def deliver_once(platform: Platform, client: httpx.AsyncClient) -> list[Delivery]:
    """One round: claim what is due and send it, waiting for every send (tests, CLI)."""
    await asyncio.to_thread(subs.enqueue_periodic, platform)
    batches = await asyncio.to_thread(claim, platform, now=utcnow())
    return list(await asyncio.gather(*(send(platform, client, b) for b in batches)))


async def run(platform: Platform, stop: asyncio.Event) -> None:
    """Send notifications until `stop` is set; new outbox rows wake it up at once."""
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()
    platform.notifier_wakeup = lambda: loop.call_soon_threadsafe(wake.set)
    inflight: dict[str, asyncio.Task[Delivery]] = {}
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(timeout=TIMEOUT, limits=limits) as client:
        try:
            while not stop.is_set():
                wake.clear()
                for sub_id in [k for k, task in inflight.items() if task.done()]:
                    del inflight[sub_id]
                if len(inflight) < CONCURRENCY:
                    try:
                        await asyncio.to_thread(subs.enqueue_periodic, platform)
                    except Exception:
                        log.exception("notifier: queuing periodic notifications failed")
                    try:
                        batches = await asyncio.to_thread(
                            claim, platform, now=utcnow(), busy=frozenset(inflight)
                        )
                        platform.ops.succeeded("notifier", utcnow())
                    except Exception:
                        log.exception("notifier: claiming the outbox failed")
                        batches = []
                    for batch in batches:
                        inflight[batch.subscription_id] = asyncio.create_task(
                            send(platform, client, batch)
                        )
                stopping = asyncio.create_task(stop.wait())
                waking = asyncio.create_task(wake.wait())
                # A finished send may free its subscription's next rows: look again then too.
                await asyncio.wait(
                    [stopping, waking, *inflight.values()],
                    timeout=POLL,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                stopping.cancel()
                waking.cancel()
        finally:
            platform.notifier_wakeup = None
            if inflight:
                await asyncio.wait(list(inflight.values()), timeout=TIMEOUT)
