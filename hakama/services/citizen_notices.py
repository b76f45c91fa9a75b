"""Telling citizens when their request changes: who is told (recipients), what is waiting to go
out (the outbox), following and stopping, and sending one notice.

Recipients are only the addresses people gave: the requester's e-mail and phone at filing (for
the channels the operator turned on), and the e-mails of followers, who must confirm from a
mail before anything else reaches them. Every change of a request enqueues one outbox row per
recipient told about it, in the same transaction as the change, so a change is never lost nor
told twice; `hakama.jobs.citizen_notices` sends them and retries. Every message carries the
request's tracking link and a link that stops them.
"""

from __future__ import annotations

import contextlib
import secrets
import smtplib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from hakama.core import notices
from hakama.core.clock import utcnow
from hakama.core.errors import Invalid, NotFound
from hakama.core.phones import is_mobile
from hakama.core.requests import EMAIL, Contact, EventKind, ServiceRequest
from hakama.services import request_store, request_types
from hakama.services.mail import mail_enabled, send_mail
from hakama.services.platform import Platform
from hakama.services.sms import Refused, send_sms, sms_enabled
from hakama.settings import Settings
from hakama.storage import db
from hakama.storage.schema_notices import notice_outbox, notice_recipients
from hakama.storage.schema_requests import service_requests

MAX_ATTEMPTS = 8
#: First retry after this; each next one waits twice as long, up to MAX_BACKOFF.
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=2)
LEASE = timedelta(minutes=2)
#: Followers one request may have (an address book pasted into the form stops here).
MAX_FOLLOWERS = 200


class PermanentFailure(Exception):
    """A notice that no retry will deliver (refused address, recipient gone)."""


def channels(settings: Settings) -> frozenset[str]:
    """The channels the operator turned on."""
    on = set()
    if mail_enabled(settings):
        on.add("email")
    if sms_enabled(settings):
        on.add("sms")
    return frozenset(on)


def _token() -> str:
    return secrets.token_urlsafe(18)


def subscribe_requester(
    conn: sa.Connection,
    settings: Settings,
    request: ServiceRequest,
    contact: Contact,
    now: datetime,
) -> None:
    """At filing: the requester's e-mail and mobile, on the channels that are on, are told."""
    on = channels(settings)
    wanted: list[tuple[str, str]] = []
    if "email" in on and contact.email:
        wanted.append(("email", contact.email.strip()))
    if "sms" in on and contact.phone and contact.phone.startswith("+") and is_mobile(contact.phone):
        wanted.append(("sms", contact.phone))
    for channel, address in wanted:
        conn.execute(
            notice_recipients.insert().values(
                request_id=request.id,
                channel=channel,
                address=address,
                # Messages are not written in Tamazight yet: an Arabic one, service named so.
                language=notices.language_of(request.language),
                role="requester",
                state="active",
                token=_token(),
                created_at=now,
            )
        )


def enqueue(
    conn: sa.Connection,
    request: ServiceRequest,
    kind: EventKind,
    *,
    at: datetime,
    note: str = "",
    public: bool = True,
    details: Mapping[str, Any] | None = None,
) -> int:
    """In the change's transaction: one outbox row per active recipient told of it."""
    if kind not in notices.NOTIFIED:
        return 0
    r = notice_recipients
    rows = conn.execute(
        sa.select(r.c.id, r.c.role).where(r.c.request_id == request.id, r.c.state == "active")
    ).all()
    by_requester = bool((details or {}).get("by_requester"))
    told = [
        row.id
        for row in rows
        if notices.recipients_told(kind, public=public, by_requester=by_requester, role=row.role)
    ]
    if not told:
        return 0
    conn.execute(
        notice_outbox.insert(),
        [
            {
                "recipient_id": rid,
                "request_id": request.id,
                "kind": kind.value,
                "status": request.status.value,
                "note": note if public else "",
                "at": at,
                "state": "pending",
                "attempts": 0,
                "due_at": at,
            }
            for rid in told
        ],
    )
    return len(told)


# Following and stopping ---------------------------------------------------------------------


def follow(
    platform: Platform, request_id: str, *, email: str, language: str, now: datetime | None = None
) -> None:
    """Someone who did not file the request asks to be told of it by e-mail: a confirmation
    mail goes out first. Asking again for the same address sends nothing new; the answer is the
    same whoever already follows (it does not tell who does)."""
    email = email.strip()
    if not EMAIL.fullmatch(email):
        raise Invalid("email is not a valid address")
    if "email" not in channels(platform.settings):
        raise Invalid("this site does not send e-mail: following is not available")
    now = now or utcnow()
    r = notice_recipients
    with platform.db.begin() as conn:
        db.write_lock(conn, service_requests)
        row = request_store.load(conn, request_id, lock=True)
        count = conn.execute(
            sa.select(sa.func.count()).select_from(r).where(r.c.request_id == row.id)
        ).scalar_one()
        known = conn.execute(
            sa.select(r.c.id).where(
                r.c.request_id == row.id, r.c.channel == "email", r.c.address == email
            )
        ).first()
        if known is not None:
            return
        if count >= MAX_FOLLOWERS:
            raise Invalid("this request has too many followers")
        rid = conn.execute(
            r.insert()
            .values(
                request_id=row.id,
                channel="email",
                address=email,
                language=notices.language_of(language),
                role="follower",
                state="pending",
                token=_token(),
                created_at=now,
            )
            .returning(r.c.id)
        ).scalar_one()
        conn.execute(
            notice_outbox.insert().values(
                recipient_id=rid,
                request_id=row.id,
                kind=notices.FOLLOW,
                status=row.status,
                note="",
                at=now,
                state="pending",
                attempts=0,
                due_at=now,
            )
        )


@dataclass(frozen=True)
class Recipient:
    """A recipient as its own links show it (the address masked)."""

    request_id: str
    channel: str
    shown_address: str
    role: str
    state: str


def mask(channel: str, address: str) -> str:
    """`a***@example.ma`, `+2126****5678`: enough to recognise one's own, not to harvest."""
    if channel == "email":
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    return address[:5] + "*" * max(0, len(address) - 9) + address[-4:]


def _by_token(conn: sa.Connection, token: str) -> Any:
    if not token or len(token) > 64:
        raise NotFound("this link is not valid (or no longer)")
    row = conn.execute(
        sa.select(notice_recipients).where(notice_recipients.c.token == token)
    ).first()
    if row is None:
        raise NotFound("this link is not valid (or no longer)")
    return row


def _view(row: Any, state: str | None = None) -> Recipient:
    return Recipient(
        request_id=row.request_id,
        channel=row.channel,
        shown_address=mask(row.channel, row.address),
        role=row.role,
        state=state or row.state,
    )


def recipient(platform: Platform, token: str) -> Recipient:
    """Who a stop or confirm link is for."""
    with platform.db.connect() as conn:
        return _view(_by_token(conn, token))


def confirm_follow(platform: Platform, token: str) -> Recipient:
    """A follower answers the confirmation mail: from now on they are told."""
    with platform.db.begin() as conn:
        row = _by_token(conn, token)
        if row.state == "pending":
            conn.execute(
                notice_recipients.update()
                .where(notice_recipients.c.id == row.id)
                .values(state="active")
            )
            return _view(row, "active")
        return _view(row)


def stop(platform: Platform, token: str, *, now: datetime | None = None) -> Recipient:
    """The link in every message: nothing more goes to this address about this request."""
    with platform.db.begin() as conn:
        row = _by_token(conn, token)
        _stop_ids(conn, [row.id], now or utcnow())
        return _view(row, "stopped")


def _stop_ids(conn: sa.Connection, ids: list[int], now: datetime) -> None:
    r = notice_recipients
    conn.execute(
        r.update()
        .where(r.c.id.in_(ids), r.c.state != "stopped")
        .values(state="stopped", stopped_at=now)
    )
    conn.execute(notice_outbox.delete().where(notice_outbox.c.recipient_id.in_(ids)))


def requester_channels(platform: Platform, request_id: str) -> list[Recipient]:
    """The requester's addresses still told about the request (for their tracking page)."""
    r = notice_recipients
    with platform.db.connect() as conn:
        rows = conn.execute(
            sa.select(r)
            .where(r.c.request_id == request_id, r.c.role == "requester", r.c.state == "active")
            .order_by(r.c.id)
        ).all()
    return [_view(row) for row in rows]


def stop_requester(
    platform: Platform, request_id: str, *, token: str | None, now: datetime | None = None
) -> int:
    """The requester, from their tracking page (with the request's token), stops every notice
    to their own addresses; returns how many addresses were stopped."""
    r = notice_recipients
    with platform.db.begin() as conn:
        row = request_store.load(conn, request_id)
        if not request_store.holds_token(row, token):
            raise NotFound("only the requester may stop the notices of this request")
        ids = list(
            conn.execute(
                sa.select(r.c.id).where(
                    r.c.request_id == row.id, r.c.role == "requester", r.c.state == "active"
                )
            ).scalars()
        )
        if ids:
            _stop_ids(conn, ids, now or utcnow())
    return len(ids)


# Sending ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """One outbox row taken for sending, with its recipient."""

    id: int
    recipient_id: int
    request_id: str
    kind: str
    note: str
    attempts: int
    channel: str
    address: str
    language: str
    token: str


def claim(platform: Platform, *, now: datetime, limit: int = 50) -> list[Claimed]:
    """Take the due rows (a lease, so two senders never take the same row), each recipient's in
    the order of the changes: a row waiting for its retry holds back its recipient's later ones,
    so nobody reads "resolved" before "acknowledged"."""
    o, r = notice_outbox, notice_recipients
    on = channels(platform.settings)
    with platform.db.begin() as conn:
        query = (
            sa.select(
                o, r.c.channel, r.c.address, r.c.language, r.c.token, r.c.state.label("rstate")
            )
            .join(r, r.c.id == o.c.recipient_id, isouter=True)
            .where(o.c.state == "pending")
            .order_by(o.c.id)
            .limit(limit * 10)
        )
        query = db.locking(conn, query, of=o, skip_locked=True)
        rows = conn.execute(query).all()
        gone = [
            row.id
            for row in rows
            if row.channel is None or row.rstate == "stopped" or row.channel not in on
        ]
        if gone:
            conn.execute(
                o.update()
                .where(o.c.id.in_(gone))
                .values(state="dead", last_error="recipient stopped, or its channel is off")
            )
        held: set[int] = set()
        taken: list[Any] = []
        for row in rows:
            if row.id in gone or row.recipient_id in held:
                continue
            busy = row.claimed_until is not None and row.claimed_until >= now
            if row.due_at > now or busy:
                held.add(row.recipient_id)
                continue
            if len(taken) < limit:
                taken.append(row)
        if taken:
            conn.execute(
                o.update()
                .where(o.c.id.in_([row.id for row in taken]))
                .values(claimed_until=now + LEASE)
            )
    return [
        Claimed(
            id=row.id,
            recipient_id=row.recipient_id,
            request_id=row.request_id,
            kind=row.kind,
            note=row.note,
            attempts=row.attempts,
            channel=row.channel,
            address=row.address,
            language=row.language,
            token=row.token,
        )
        for row in taken
    ]


def message_for(platform: Platform, item: Claimed) -> notices.Message:
    """The words of one claimed notice, in its recipient's language, with its links."""
    with platform.db.connect() as conn:
        row = conn.execute(
            sa.select(
                service_requests.c.service_code,
                service_requests.c.service_name,
                service_requests.c.area_code,
                service_requests.c.language,
                service_requests.c.merged_into,
            ).where(service_requests.c.id == item.request_id)
        ).first()
    if row is None:
        raise PermanentFailure("the request no longer exists")
    service = row.service_name
    if item.language != row.language:
        with contextlib.suppress(NotFound):
            service = request_types.get_service(
                platform, row.service_code, area_code=row.area_code
            ).name(item.language)
    base = platform.settings.base_url
    return notices.compose(
        notices.Notice(
            kind=item.kind,
            request_id=item.request_id,
            service=service,
            note=item.note,
            merged_into=row.merged_into or "",
        ),
        language=item.language,
        track_url=f"{base}/track/{item.request_id}?lang={_page_language(item.language, row.language)}",
        stop_url=f"{base}/notices/{item.token}/stop",
        confirm_url=f"{base}/notices/{item.token}/confirm",
    )


def _page_language(told_in: str, filed_in: str) -> str:
    """The language the tracking link opens the page in: the message's, or Tamazight for a
    request filed in it whose messages are in Arabic (its pages are written in Tamazight)."""
    return filed_in if notices.language_of(filed_in) == told_in else told_in


def deliver(platform: Platform, item: Claimed) -> None:
    """Send one claimed notice (blocking). Raises PermanentFailure or a retriable error."""
    message = message_for(platform, item)
    settings = platform.settings
    if item.channel == "email":
        stop_url = f"{settings.base_url}/notices/{item.token}/stop"
        try:
            send_mail(
                settings,
                to=[item.address],
                subject=message.subject,
                text=message.text,
                headers=[
                    ("List-Unsubscribe", f"<{stop_url}>"),
                    ("Auto-Submitted", "auto-generated"),
                    ("Content-Language", notices.language_of(item.language)),
                ],
            )
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
            raise PermanentFailure(f"SMTP refused: {exc}") from None
    elif item.channel == "sms":
        try:
            send_sms(settings, to=item.address, text=message.sms)
        except Refused as exc:
            raise PermanentFailure(str(exc)) from None
    else:
        raise PermanentFailure(f"unknown channel {item.channel!r}")


def release(platform: Platform, items: Sequence[Claimed]) -> None:
    """Give claimed rows back unsent (their recipient's earlier notice is waiting for a retry)."""
    if not items:
        return
    with platform.db.begin() as conn:
        conn.execute(
            notice_outbox.update()
            .where(notice_outbox.c.id.in_([i.id for i in items]))
            .values(claimed_until=None)
        )


def backoff(attempts: int) -> timedelta:
    """How long to wait after failed attempt number `attempts` (1, 2, …)."""
    wait: timedelta = FIRST_BACKOFF * (2 ** max(0, attempts - 1))
    return min(MAX_BACKOFF, wait)


def record(
    platform: Platform, item: Claimed, *, error: str | None, permanent: bool = False, now: datetime
) -> str:
    """Write how a send went: the row gone (sent), rescheduled, or kept as `dead`."""
    o = notice_outbox
    with platform.db.begin() as conn:
        if error is None:
            conn.execute(o.delete().where(o.c.id == item.id))
            return "sent"
        attempts = item.attempts + 1
        if permanent or attempts >= MAX_ATTEMPTS:
            conn.execute(
                o.update()
                .where(o.c.id == item.id)
                .values(
                    state="dead", attempts=attempts, last_error=error[:1000], claimed_until=None
                )
            )
            return "dead"
        conn.execute(
            o.update()
            .where(o.c.id == item.id)
            .values(
                attempts=attempts,
                due_at=now + backoff(attempts),
                claimed_until=None,
                last_error=error[:1000],
            )
        )
        return "retry"


@dataclass(frozen=True)
class OutboxCounts:
    pending: int
    dead: int


def outbox_counts(platform: Platform) -> OutboxCounts:
    o = notice_outbox
    with platform.db.connect() as conn:
        counts: dict[str, int] = dict(
            conn.execute(sa.select(o.c.state, sa.func.count()).group_by(o.c.state)).all()
        )
    return OutboxCounts(pending=int(counts.get("pending", 0)), dead=int(counts.get("dead", 0)))
