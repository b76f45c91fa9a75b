"""Scheduled council reports: an administrator subscribes addresses to the monthly or quarterly
report of an area; once a period's indicators are computed, the report is due, and each
delivery (sent or failed, with its attempts) is recorded — a period is sent once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from hakama.core.access import Action, Actor, Role, allowed
from hakama.core.clock import utcnow
from hakama.core.errors import Forbidden, Invalid, NotFound
from hakama.core.indicators import Grain
from hakama.core.periods import Period
from hakama.services import audit, profiles, territory
from hakama.services.platform import Platform
from hakama.storage.schema_reports import report_deliveries, report_subscriptions

FREQUENCIES = {"monthly": Grain.MONTH, "quarterly": Grain.QUARTER}
LANGUAGES = ("ar", "fr", "en")
FORMATS = ("pdf", "xlsx")
MAX_RECIPIENTS = 50
#: A deliverable address: one @, no spaces or angle brackets (the SMTP server judges the rest).
ADDRESS = re.compile(r"[^@\s<>,;\"]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}")
#: A failed delivery is retried at each round until this many attempts.
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Subscription:
    id: int
    area_code: str
    frequency: str
    language: str
    format: str
    recipients: list[str]
    active: bool
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class Delivery:
    id: int
    subscription_id: int
    period: str
    status: str
    recipients: list[str]
    filename: str
    size: int
    attempts: int
    error: str
    updated_at: datetime


def _subscription(r: Any) -> Subscription:
    return Subscription(
        r.id,
        r.area_code,
        r.frequency,
        r.language,
        r.format,
        list(r.recipients),
        bool(r.active),
        r.created_by,
        r.created_at,
    )


def _check_admin(platform: Platform, actor: Actor, area_code: str) -> tuple[str, ...]:
    chain = territory.area_chain(platform, area_code)
    if actor.role is not Role.ADMIN or not allowed(actor, Action.MANAGE_CATALOG, chain):
        raise Forbidden("only an administrator of the area manages report subscriptions")
    return chain


def recipients_from(text: str | Sequence[str]) -> list[str]:
    """Addresses from a list or from text separated by commas, semicolons, spaces or lines."""
    items = re.split(r"[\s,;]+", text) if isinstance(text, str) else list(text)
    found = [a.strip() for a in items if a.strip()]
    bad = [a for a in found if not ADDRESS.fullmatch(a)]
    if bad:
        raise Invalid(f"not an e-mail address: {bad[0]!r}")
    if not found:
        raise Invalid("give at least one e-mail address")
    unique = list(dict.fromkeys(a.lower() for a in found))
    if len(unique) > MAX_RECIPIENTS:
        raise Invalid(f"at most {MAX_RECIPIENTS} addresses per subscription")
    return unique


def subscribe(
    platform: Platform,
    *,
    area_code: str,
    frequency: str,
    language: str,
    format: str,
    recipients: str | Sequence[str],
    actor: Actor,
) -> Subscription:
    """Subscribe addresses to an area's monthly or quarterly report (administrators only)."""
    area = territory.get_area(platform, area_code)
    if frequency not in FREQUENCIES:
        raise Invalid(f"frequency {frequency!r}: choose monthly or quarterly")
    if language not in LANGUAGES:
        raise Invalid(f"language {language!r}: choose ar, fr or en")
    if format not in FORMATS:
        raise Invalid(f"format {format!r}: choose pdf or xlsx")
    addresses = recipients_from(recipients)
    _check_admin(platform, actor, area.code)
    with platform.db.begin() as conn:
        new_id = conn.execute(
            report_subscriptions.insert().values(
                area_code=area.code,
                frequency=frequency,
                language=language,
                format=format,
                recipients=addresses,
                active=True,
                created_by=actor.label,
                created_at=utcnow(),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        made = _subscription(
            conn.execute(
                sa.select(report_subscriptions).where(report_subscriptions.c.id == new_id)
            ).one()
        )
        # Addresses are personal data: the audit log keeps how many, not who.
        audit.record(
            conn,
            actor=actor,
            action="report_subscription.create",
            resource=f"report_subscription:{new_id}",
            area_code=area.code,
            after={
                "frequency": frequency,
                "language": language,
                "format": format,
                "recipients": len(addresses),
            },
        )
    return made


def unsubscribe(platform: Platform, subscription_id: int, *, actor: Actor) -> None:
    """Stop a subscription (its record of deliveries stays)."""
    found = get(platform, subscription_id)
    _check_admin(platform, actor, found.area_code)
    with platform.db.begin() as conn:
        conn.execute(
            report_subscriptions.update()
            .where(report_subscriptions.c.id == subscription_id)
            .values(active=False)
        )
        audit.record(
            conn,
            actor=actor,
            action="report_subscription.stop",
            resource=f"report_subscription:{subscription_id}",
            area_code=found.area_code,
        )


def get(platform: Platform, subscription_id: int) -> Subscription:
    with platform.db.connect() as conn:
        row = conn.execute(
            sa.select(report_subscriptions).where(report_subscriptions.c.id == subscription_id)
        ).first()
    if row is None:
        raise NotFound(f"no report subscription {subscription_id}")
    return _subscription(row)


def list_subscriptions(platform: Platform, *, actor: Actor) -> list[Subscription]:
    """The subscriptions of the areas the actor administers."""
    with platform.db.connect() as conn:
        rows = conn.execute(
            sa.select(report_subscriptions).order_by(report_subscriptions.c.id)
        ).all()
    out = []
    for r in rows:
        chain = territory.area_chain(platform, r.area_code)
        if actor.role is Role.ADMIN and allowed(actor, Action.MANAGE_CATALOG, chain):
            out.append(_subscription(r))
    return out


def deliveries(platform: Platform, *, actor: Actor, limit: int = 200) -> list[Delivery]:
    """What was sent (or failed), newest first, for the subscriptions the actor administers."""
    mine = {s.id for s in list_subscriptions(platform, actor=actor)}
    with platform.db.connect() as conn:
        rows = conn.execute(
            sa.select(report_deliveries)
            .order_by(report_deliveries.c.updated_at.desc())
            .limit(limit * 4)
        ).all()
    return [
        Delivery(
            r.id,
            r.subscription_id,
            r.period,
            r.status,
            list(r.recipients),
            r.filename,
            r.size,
            r.attempts,
            r.error,
            r.updated_at,
        )
        for r in rows
        if r.subscription_id in mine
    ][:limit]


def ready_period(platform: Platform, frequency: str) -> Period | None:
    """The latest period of `frequency` whose indicators are computed through its last month."""
    latest = profiles.latest_complete_month(platform)
    if latest is None:
        return None
    grain = FREQUENCIES[frequency]
    period = Period(grain.start_of(latest), grain)
    if period.end > Grain.MONTH.next_start(latest):  # the quarter's last month is not done yet
        period = period.previous()
    return period


@dataclass(frozen=True)
class Due:
    subscription: Subscription
    period: Period
    attempts: int  # attempts already made (failed ones)


def due(platform: Platform) -> list[Due]:
    """Active subscriptions whose latest ready period was not sent yet (and not given up)."""
    with platform.db.connect() as conn:
        subs = [
            _subscription(r)
            for r in conn.execute(
                sa.select(report_subscriptions).where(report_subscriptions.c.active.is_(True))
            )
        ]
        done = {
            (r.subscription_id, r.period): (r.status, r.attempts)
            for r in conn.execute(sa.select(report_deliveries))
        }
    out: list[Due] = []
    for s in subs:
        period = ready_period(platform, s.frequency)
        if period is None:
            continue
        status, attempts = done.get((s.id, period.code), ("", 0))
        if status == "sent" or attempts >= MAX_ATTEMPTS:
            continue
        out.append(Due(s, period, attempts))
    return out


def record_delivery(
    platform: Platform,
    *,
    subscription: Subscription,
    period: Period,
    sent: bool,
    filename: str = "",
    size: int = 0,
    error: str = "",
) -> None:
    """Record one attempt: a period's row is created once and updated on each retry."""
    values = {
        "status": "sent" if sent else "failed",
        "recipients": subscription.recipients,
        "filename": filename,
        "size": size,
        "error": error[:2000],
        "updated_at": utcnow(),
    }
    where = sa.and_(
        report_deliveries.c.subscription_id == subscription.id,
        report_deliveries.c.period == period.code,
    )
    with platform.db.begin() as conn:
        found = conn.execute(sa.select(report_deliveries.c.attempts).where(where)).first()
        if found is None:
            conn.execute(
                report_deliveries.insert().values(
                    subscription_id=subscription.id, period=period.code, attempts=1, **values
                )
            )
        else:
            conn.execute(
                report_deliveries.update()
                .where(where)
                .values(attempts=found.attempts + 1, **values)
            )
