"""A citizen's service request, pure: its status machine, its SLA clock, the rules its input obeys.

Statuses: open → acknowledged → in_progress → resolved → closed. Open311 GeoReport v2 knows only
`open` and `closed`; `resolved` and `closed` are Open311 `closed`. A resolved request is closed
when its requester confirms the resolution (or after a grace period); contesting it, or an
agent reopening it, sends it back to `open` and counts a reopening.

The requester's contact details (`Contact`) are never part of `ServiceRequest`: they live
apart and are read only by agents of the request's commune.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

MAX_DESCRIPTION = 4000
MAX_NOTE = 4000
MAX_ADDRESS = 500
MAX_MEDIA = 5
LANGUAGES = ("ar", "fr", "en", "zgh")  # zgh: Tamazight, in Tifinagh
#: Days after which a resolved request no one contested is closed.
CONFIRM_GRACE_DAYS = 14

# Crockford base 32 without I, L, O, U: easy to read aloud and to type on a phone.
_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REQUEST_ID = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}")


class Status(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def open311(self) -> str:
        """The Open311 status: `closed` once resolved, else `open`."""
        return "closed" if self in (Status.RESOLVED, Status.CLOSED) else "open"

    @property
    def is_active(self) -> bool:
        """Still waiting for the commune (the SLA clock runs)."""
        return self not in (Status.RESOLVED, Status.CLOSED)


#: Status changes an agent may make directly. Reopening is its own move (`reopen`).
TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    Status.OPEN: frozenset(
        {Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED}
    ),
    Status.ACKNOWLEDGED: frozenset({Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED}),
    Status.IN_PROGRESS: frozenset({Status.ACKNOWLEDGED, Status.RESOLVED, Status.CLOSED}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.IN_PROGRESS}),
    Status.CLOSED: frozenset(),
}


def open311_statuses(status: str) -> tuple[Status, ...]:
    """Our statuses behind an Open311 status filter value (`open` or `closed`)."""
    if status == "open":
        return tuple(s for s in Status if s.open311 == "open")
    if status == "closed":
        return tuple(s for s in Status if s.open311 == "closed")
    raise ValueError(f"status must be 'open' or 'closed', not {status!r}")


class EventKind(StrEnum):
    """What happened to a request; one row of its history (and of the lake's `request_events`)."""

    CREATED = "created"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    ASSIGNED = "assigned"
    COMMENTED = "commented"
    CONFIRMED = "confirmed"
    CONTESTED = "contested"
    MERGED = "merged"
    MEDIA_ADDED = "media_added"
    RELOCATED = "relocated"  # moved to another commune when the outlines were corrected


STATUS_EVENTS: Mapping[Status, EventKind] = {
    Status.ACKNOWLEDGED: EventKind.ACKNOWLEDGED,
    Status.IN_PROGRESS: EventKind.IN_PROGRESS,
    Status.RESOLVED: EventKind.RESOLVED,
    Status.CLOSED: EventKind.CLOSED,
}


class TransitionError(ValueError):
    """A status change the machine does not allow from the current status."""


def check_transition(current: Status, target: Status) -> EventKind:
    """The event a change from `current` to `target` records; raises TransitionError if barred."""
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none"
        raise TransitionError(
            f"a request that is {current.value} cannot become {target.value} (allowed: {allowed})"
        )
    return STATUS_EVENTS[target]


def check_reopen(current: Status) -> None:
    """Only a resolved or closed request can be reopened (it goes back to `open`)."""
    if current.is_active:
        raise TransitionError(
            f"a request that is {current.value} is not resolved: nothing to reopen"
        )


def check_feedback(current: Status) -> None:
    """A requester confirms or contests a resolution only while the request is resolved."""
    if current is not Status.RESOLVED:
        raise TransitionError(
            f"only a resolved request can be confirmed or contested; this one is {current.value}"
        )


# The SLA clock -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BusinessHours:
    """Working time of a commune's services, for targets counted in working hours.

    Defaults: Monday to Friday, 08:30-16:30, Africa/Casablanca; `holidays` are skipped.
    """

    timezone: str = "Africa/Casablanca"
    start: time = time(8, 30)
    end: time = time(16, 30)
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    holidays: frozenset[date] = frozenset()

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays


def expected_datetime(
    requested_at: datetime, target_hours: float, business_hours: BusinessHours | None = None
) -> datetime:
    """When the request should be resolved: `target_hours` after filing (working hours if given)."""
    if requested_at.tzinfo is None:
        raise ValueError("requested_at must be timezone-aware")
    if not math.isfinite(target_hours) or target_hours <= 0:
        raise ValueError("target_hours must be a positive number")
    if business_hours is None:
        return requested_at + timedelta(hours=target_hours)
    return _add_working_time(requested_at, timedelta(hours=target_hours), business_hours)


def _add_working_time(start: datetime, amount: timedelta, hours: BusinessHours) -> datetime:
    if hours.end <= hours.start or not hours.weekdays:
        raise ValueError("business hours must have a working window and working days")
    zone = ZoneInfo(hours.timezone)
    local = start.astimezone(zone)
    remaining = amount
    day = local.date()
    cursor = local
    for _ in range(3700):  # ten years of days: a target never runs that long
        if hours.is_working_day(day):
            opens = datetime.combine(day, hours.start, zone)
            closes = datetime.combine(day, hours.end, zone)
            begin = max(cursor, opens)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(start.tzinfo)
                remaining -= available
        day += timedelta(days=1)
        cursor = datetime.combine(day, time(0), zone)
    raise ValueError("the target does not fit in ten years of working days")


def is_overdue(status: Status, expected_at: datetime | None, now: datetime) -> bool:
    """An active request whose expected time has passed."""
    return status.is_active and expected_at is not None and now > expected_at


# The request --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceRequest:
    """One request as the commune and the public know it (no personal data).

    `status_notes` is the latest public note; `department` is Open311's `agency_responsible`;
    `assignee` names the agent working it (internal). `media` are stored file names served
    under `/open311/v2/media/<name>`.
    """

    id: str
    service_code: str
    service_name: str
    category: str
    area_code: str
    status: Status
    description: str
    lat: float | None
    lon: float | None
    address: str
    address_id: str
    requested_at: datetime
    updated_at: datetime
    expected_at: datetime | None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    status_notes: str = ""
    department: str = ""
    assignee: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    media: tuple[str, ...] = ()
    language: str = "fr"
    channel: str = "web"
    reopened: int = 0
    merged_into: str | None = None

    def overdue(self, now: datetime) -> bool:
        return is_overdue(self.status, self.expected_at, now)


@dataclass(frozen=True)
class Contact:
    """The requester's personal details (Open311 POST fields), all optional."""

    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    account_id: str = ""
    device_id: str = ""

    def is_empty(self) -> bool:
        return not any(
            (
                self.first_name,
                self.last_name,
                self.email,
                self.phone,
                self.account_id,
                self.device_id,
            )
        )


@dataclass(frozen=True)
class RequestEvent:
    """One entry of a request's history. `public` events are shown to everyone; the rest only
    to agents. `actor` is the audit label (internal); `actor_kind` is citizen/agent/system."""

    request_id: str
    seq: int
    at: datetime
    kind: EventKind
    status: Status
    note: str = ""
    public: bool = True
    actor: str = ""
    actor_kind: str = "citizen"
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RequestDraft:
    """What a requester submits, before the commune is found and the service checked.

    `attributes` holds the raw answers (text, or several texts for a multivaluelist).
    """

    service_code: str
    description: str = ""
    lat: float | None = None
    lon: float | None = None
    address: str = ""
    address_id: str = ""
    jurisdiction_id: str | None = None
    attributes: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    media_urls: tuple[str, ...] = ()
    language: str = "fr"
    channel: str = "web"
    #: The requester chose `jurisdiction_id` knowing better than the (approximate) outlines:
    #: the request goes to that commune even if the point lies in a neighbouring one.
    jurisdiction_chosen: bool = False


def validate_draft(draft: RequestDraft) -> RequestDraft:
    """Check the parts of a draft that need no catalogue or territory; raises ValueError."""
    if len(draft.description) > MAX_DESCRIPTION:
        raise ValueError(
            f"description is {len(draft.description)} characters long; "
            f"at most {MAX_DESCRIPTION} are allowed"
        )
    if len(draft.address) > MAX_ADDRESS:
        raise ValueError(f"address_string is longer than {MAX_ADDRESS} characters")
    if len(draft.address_id) > 200:
        raise ValueError("address_id is longer than 200 characters")
    has_point = draft.lat is not None or draft.lon is not None
    if has_point:
        if draft.lat is None or draft.lon is None:
            raise ValueError("lat and long must be given together")
        if not (math.isfinite(draft.lat) and -90 <= draft.lat <= 90):
            raise ValueError("lat must be a number between -90 and 90")
        if not (math.isfinite(draft.lon) and -180 <= draft.lon <= 180):
            raise ValueError("long must be a number between -180 and 180")
    elif not draft.address.strip() and not draft.address_id.strip():
        raise ValueError("a location is required: lat and long, address_string or address_id")
    if draft.language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    if len(draft.media_urls) > MAX_MEDIA:
        raise ValueError(f"at most {MAX_MEDIA} media per request")
    for url in draft.media_urls:
        if not re.fullmatch(r"https?://[^\s]{1,2000}", url):
            raise ValueError("media_url must be an http(s) URL")
    return draft


def validate_note(note: str) -> str:
    if len(note) > MAX_NOTE:
        raise ValueError(f"a note is at most {MAX_NOTE} characters")
    return note.strip()


EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}")
PHONE = re.compile(r"\+?[0-9 ().-]{6,20}")


def validate_contact(contact: Contact) -> Contact:
    """Check the shape of contact details (not that they exist)."""
    if contact.email and not EMAIL.fullmatch(contact.email):
        raise ValueError("email is not a valid address")
    if contact.phone and not PHONE.fullmatch(contact.phone):
        raise ValueError("phone must be digits, spaces and + ( ) . - (6 to 20 characters)")
    for name, value in (
        ("first_name", contact.first_name),
        ("last_name", contact.last_name),
        ("account_id", contact.account_id),
        ("device_id", contact.device_id),
    ):
        if len(value) > 200:
            raise ValueError(f"{name} is longer than 200 characters")
    return contact


def new_request_id() -> str:
    """A tracking number like `K7F3-9Q2M`: 40 random bits, readable aloud, typed on a phone."""
    chars = "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def normalise_request_id(text: str) -> str:
    """A tracking number as typed (lower case, no dash, O for 0…) in its canonical form."""
    cleaned = re.sub(r"[\s-]", "", text.strip().upper())
    cleaned = cleaned.translate(str.maketrans("OIL", "011"))
    if len(cleaned) == 8 and all(c in _ID_ALPHABET for c in cleaned):
        return f"{cleaned[:4]}-{cleaned[4:]}"
    return text.strip()


def new_token() -> str:
    """The requester's secret for this request (Open311 `token`): lets them confirm, contest
    and comment as the requester. Shown once, stored hashed."""
    return secrets.token_urlsafe(18)
