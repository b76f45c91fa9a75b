"""Moderation: the public text (and photos) an agent approves for one request.

Open data never carries a requester's own words or photos. An agent of the request's commune
may write a public text about it (checked by the privacy gate: no phone, e-mail or CIN) and
approve some of its photos; both are recorded with an audit entry, and withdrawn the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from hakama.core import privacy
from hakama.core.access import Action, Actor
from hakama.core.clock import utcnow
from hakama.core.errors import Forbidden, Invalid, NotFound
from hakama.core.requests import MAX_NOTE
from hakama.services import audit, request_store
from hakama.services.platform import Platform
from hakama.storage.schema_open_data import request_publications


@dataclass(frozen=True)
class Publication:
    request_id: str
    public_text: str
    photos: tuple[str, ...]
    approved_at: datetime


def approve(
    platform: Platform, request_id: str, *, text: str, photos: Sequence[str] = (), actor: Actor
) -> Publication:
    """Publish `text` and `photos` (names among the request's media) with the request."""
    if len(text) > MAX_NOTE:
        raise Invalid(f"the public text is longer than {MAX_NOTE} characters", field="text")
    try:
        clean = privacy.check_public_text(text)
    except privacy.PrivacyViolation as exc:
        raise Invalid(str(exc), field="text") from exc
    now = utcnow()
    with platform.db.begin() as conn:
        row = request_store.load(conn, request_id)
        request_id = row.id
        if not request_store.may(platform, actor, Action.WORK_REQUESTS, row.area_code):
            raise Forbidden(f"{actor.label} may not moderate requests of {row.area_code}")
        unknown = [p for p in photos if p not in (row.media or [])]
        if unknown:
            raise Invalid(f"not photos of this request: {', '.join(unknown)}", field="photos")
        before = conn.execute(
            sa.select(request_publications).where(request_publications.c.request_id == request_id)
        ).first()
        values = {"public_text": clean, "photos": list(photos), "approved_at": now}
        if before is None:
            conn.execute(request_publications.insert().values(request_id=request_id, **values))
        else:
            conn.execute(
                request_publications.update()
                .where(request_publications.c.request_id == request_id)
                .values(**values)
            )
        audit.record(
            conn,
            actor=actor,
            action="request.publish_text",
            resource=f"request:{request_id}",
            area_code=row.area_code,
            before={"public_text": before.public_text, "photos": before.photos} if before else None,
            after={"public_text": clean, "photos": list(photos)},
        )
    return Publication(request_id, clean, tuple(photos), now)


def withdraw(platform: Platform, request_id: str, *, actor: Actor) -> None:
    """Stop publishing the request's public text and photos (from the next build on)."""
    with platform.db.begin() as conn:
        row = request_store.load(conn, request_id)
        request_id = row.id
        if not request_store.may(platform, actor, Action.WORK_REQUESTS, row.area_code):
            raise Forbidden(f"{actor.label} may not moderate requests of {row.area_code}")
        gone = conn.execute(
            request_publications.delete().where(request_publications.c.request_id == request_id)
        ).rowcount
        if not gone:
            raise NotFound(f"request {request_id} has no public text")
        audit.record(
            conn,
            actor=actor,
            action="request.withdraw_text",
            resource=f"request:{request_id}",
            area_code=row.area_code,
        )


def get(platform: Platform, request_id: str) -> Publication | None:
    with platform.db.connect() as conn:
        row = conn.execute(
            sa.select(request_publications).where(request_publications.c.request_id == request_id)
        ).first()
    if row is None:
        return None
    return Publication(row.request_id, row.public_text, tuple(row.photos), row.approved_at)
