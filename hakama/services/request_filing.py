"""Filing a service request: place it in its commune, check its service and answers, store
the photos and the contact apart, all in one transaction; the portal form, Open311 POST and the
CLI call the same `file_request`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from hakama.core.access import Action, Actor
from hakama.core.clock import utcnow
from hakama.core.errors import Conflict, Forbidden, Invalid, NotFound
from hakama.core.phones import to_e164
from hakama.core.request_types import parse_answers
from hakama.core.requests import (
    MAX_MEDIA,
    BusinessHours,
    Contact,
    EventKind,
    RequestDraft,
    ServiceRequest,
    Status,
    expected_datetime,
    new_request_id,
    new_token,
    validate_contact,
    validate_draft,
)
from hakama.services import (
    citizen_notices,
    request_events,
    request_media,
    request_store,
    request_types,
    territory,
)
from hakama.services.platform import Platform
from hakama.storage.schema_requests import request_contacts, service_requests


@dataclass(frozen=True)
class FiledRequest:
    """A request just filed and the requester's secret token (shown once, stored hashed).

    `replayed`: the same client already filed it under the same idempotency key; this is that
    request (as the caller may see it) and no token is shown again.
    """

    request: ServiceRequest
    token: str
    replayed: bool = False


def _place(platform: Platform, draft: RequestDraft) -> str:
    """The commune a draft belongs in: from its point, else from its jurisdiction."""
    jurisdiction = draft.jurisdiction_id or None
    if jurisdiction is not None:
        try:
            territory.get_area(platform, jurisdiction)
        except NotFound:
            raise Invalid(f"jurisdiction_id {jurisdiction!r} is not a known area") from None
    parents = {a.parent_code for a in territory.list_areas(platform)}
    if draft.lat is not None and draft.lon is not None:
        code = territory.locate(platform, draft.lon, draft.lat)
        if code is None:
            raise Invalid(
                f"the point lat={draft.lat}, long={draft.lon} is outside the territory served here"
            )
        if jurisdiction is not None and jurisdiction not in territory.area_chain(platform, code):
            if draft.jurisdiction_chosen and jurisdiction not in parents:
                return jurisdiction  # the requester knows the ground better than the outlines
            raise Invalid(f"the point lat={draft.lat}, long={draft.lon} is not in {jurisdiction}")
        return code
    if jurisdiction is None:
        raise Invalid("without lat and long, give the commune as jurisdiction_id")
    if jurisdiction in parents:
        raise Invalid("without lat and long, jurisdiction_id must be a commune")
    return jurisdiction


def file_request(
    platform: Platform,
    *,
    draft: RequestDraft,
    actor: Actor,
    contact: Contact | None = None,
    photos: Sequence[bytes] = (),
    now: datetime | None = None,
    idempotency_key: str | None = None,
) -> FiledRequest:
    """File a request: place it in its commune, check the service and its answers, store the
    photos without metadata and the contact apart; returns the request and its token.

    With an `idempotency_key` (a client's random id for this submission), filing again with the
    same key returns the request filed the first time instead of a second one.
    """
    key_hash = _idempotency_hash(actor, idempotency_key)
    if key_hash is not None:
        replay = _replay(platform, key_hash, actor)
        if replay is not None:
            return replay
    try:
        validate_draft(draft)
        if contact is not None:
            validate_contact(contact)
            if contact.phone:
                contact = replace(
                    contact, phone=to_e164(contact.phone, platform.settings.phone_country_code)
                )
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    if len(photos) + len(draft.media_urls) > MAX_MEDIA:
        raise Invalid(f"at most {MAX_MEDIA} photos per request")
    area_code = _place(platform, draft)
    if not request_store.may(platform, actor, Action.SUBMIT_REQUEST, area_code):
        raise Forbidden(f"{actor.label} may not file requests")
    try:
        service = request_types.get_service(platform, draft.service_code, area_code=area_code)
    except NotFound:
        raise Invalid(
            f"service_code {draft.service_code!r} is not offered in {area_code}"
        ) from None
    try:
        answers = parse_answers(service, draft.attributes)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    now = now or utcnow()
    hours = BusinessHours(timezone=platform.settings.timezone) if service.business_hours else None
    expected = expected_datetime(now, service.target_hours, hours)
    stored = [request_media.store_image(platform, data) for data in photos]
    token = new_token()
    try:
        request = _insert(
            platform,
            draft=draft,
            contact=contact,
            area_code=area_code,
            service_name=service.name(draft.language),
            category=service.category,
            department=service.department,
            answers=answers,
            media=[*stored, *draft.media_urls],
            expected=expected,
            now=now,
            token=token,
            actor=actor,
            key_hash=key_hash,
        )
    except BaseException:
        request_media.remove(platform, stored)
        raise
    if isinstance(request, FiledRequest):  # a concurrent twin with the same key won
        request_media.remove(platform, stored)
        return request
    request_events.after_commit(platform, request, EventKind.CREATED, now)
    return FiledRequest(request=request, token=token)


def _idempotency_hash(actor: Actor, key: str | None) -> str | None:
    if key is None or not key.strip():
        return None
    if len(key) > 200 or not key.isprintable():
        raise Invalid("an idempotency key is 1-200 printable characters")
    return hashlib.sha256(f"{actor.label}\n{key.strip()}".encode()).hexdigest()


def _replay(platform: Platform, key_hash: str, actor: Actor) -> FiledRequest | None:
    t = service_requests
    with platform.db.connect() as conn:
        row = conn.execute(sa.select(t).where(t.c.idempotency_key == key_hash)).first()
    if row is None:
        return None
    staff = request_store.may(platform, actor, request_store.WHOLE, row.area_code)
    return FiledRequest(
        request=request_store.row_to_request(row, public=not staff), token="", replayed=True
    )


def _insert(
    platform: Platform,
    *,
    draft: RequestDraft,
    contact: Contact | None,
    area_code: str,
    service_name: str,
    category: str,
    department: str,
    answers: Mapping[str, Any],
    media: list[str],
    expected: datetime,
    now: datetime,
    token: str,
    actor: Actor,
    key_hash: str | None,
) -> ServiceRequest | FiledRequest:
    for _attempt in range(5):
        request = ServiceRequest(
            id=new_request_id(),
            service_code=draft.service_code,
            service_name=service_name,
            category=category,
            area_code=area_code,
            status=Status.OPEN,
            description=draft.description.strip(),
            lat=draft.lat,
            lon=draft.lon,
            address=draft.address.strip(),
            address_id=draft.address_id.strip(),
            requested_at=now,
            updated_at=now,
            expected_at=expected,
            department=department,
            attributes=dict(answers),
            media=tuple(media),
            language=draft.language,
            channel=draft.channel,
        )
        try:
            with platform.db.begin() as conn:
                conn.execute(
                    service_requests.insert().values(
                        id=request.id,
                        area_code=area_code,
                        service_code=request.service_code,
                        service_name=service_name,
                        category=category,
                        status=request.status.value,
                        description=request.description,
                        lat=request.lat,
                        lon=request.lon,
                        address=request.address,
                        address_id=request.address_id,
                        attributes=dict(answers),
                        media=list(media),
                        language=request.language,
                        channel=request.channel,
                        requested_at=now,
                        updated_at=now,
                        expected_at=expected,
                        department=department,
                        token_hash=request_store.token_hash(token),
                        idempotency_key=key_hash,
                    )
                )
                if contact is not None and not contact.is_empty():
                    conn.execute(
                        request_contacts.insert().values(
                            request_id=request.id,
                            first_name=contact.first_name,
                            last_name=contact.last_name,
                            email=contact.email,
                            phone=contact.phone,
                            account_id=contact.account_id,
                            device_id=contact.device_id,
                        )
                    )
                    citizen_notices.subscribe_requester(
                        conn, platform.settings, request, contact, now
                    )
                request_events.record(
                    conn,
                    request,
                    EventKind.CREATED,
                    actor=actor,
                    at=now,
                    public=True,
                    details={"by_requester": True, "photos": len(media)},
                )
            return request
        except sa.exc.IntegrityError:
            if key_hash is not None:
                replay = _replay(platform, key_hash, actor)
                if replay is not None:
                    return replay
            # 40 random bits rarely collide; when they do, draw another number.
            continue
    raise Conflict("could not allocate a tracking number; try again")
