"""NGSI-LD subscriptions, pure: validating one (clause 5.2.12), deciding whether an entity
falls under it (`Subscription.selects`, `filters_pass`, `fired_by`) and rendering it as GET
returns it. What a change sets off and the notification it sends (clause 5.2.14) are
`core.notifications`.

A subscription is kept as the JSON it was accepted in (`Subscription.body`, short attribute and
type names); its delivery status (`timesSent`, `lastSuccess`…) lives beside it and is added
when it is rendered.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import unquote, urlsplit

from hakama.core import jsonld
from hakama.core.clock import format_instant, read_instant
from hakama.core.errors import Invalid
from hakama.core.ngsi_query import (
    GeoQuery,
    Query,
    geo_matches,
    matches,
    parse_geoq,
    parse_q,
)
from hakama.core.ngsi_selectors import (
    TypeQuery,
    parse_scope_q,
    parse_types,
    scope_q_matches,
    types_match,
)
from hakama.core.patterns import compile_user_pattern


class Unsupported(Invalid):
    """A valid NGSI-LD feature hakama does not offer (→ OperationNotSupported)."""


class Trigger(StrEnum):
    """What kind of change fires a notification (`notificationTrigger`, NGSI-LD 1.8)."""

    ENTITY_CREATED = "entityCreated"
    ENTITY_UPDATED = "entityUpdated"
    ENTITY_DELETED = "entityDeleted"
    ATTRIBUTE_CREATED = "attributeCreated"
    ATTRIBUTE_UPDATED = "attributeUpdated"
    ATTRIBUTE_DELETED = "attributeDeleted"


DEFAULT_TRIGGERS = frozenset({Trigger.ATTRIBUTE_CREATED, Trigger.ATTRIBUTE_UPDATED})
FORMATS = ("normalized", "keyValues", "simplified", "concise")
#: `notification.join` (clause 4.5.23): linked entities inside the relationship, or after.
JOINS = ("flat", "inline", "@none")
ACCEPTS = ("application/json", "application/ld+json")
#: Members of an entity that are not attributes.
CORE_MEMBERS = frozenset(
    {"id", "type", "@context", "scope", "createdAt", "modifiedAt", "deletedAt"}
)
_ALLOWED = frozenset(
    {
        "id",
        "type",
        "@context",
        "subscriptionName",
        "description",
        "entities",
        "watchedAttributes",
        "notificationTrigger",
        "q",
        "geoQ",
        "csf",
        "isActive",
        "notification",
        "expiresAt",
        "throttling",
        "timeInterval",
        "lang",
        "scopeQ",
        "temporalQ",
        "status",
        "jsonldContext",
        "datasetId",
        "createdAt",
        "modifiedAt",
    }
)


def new_id() -> str:
    return f"urn:ngsi-ld:Subscription:{uuid.uuid4().hex}"


def _is_uri(text: object) -> bool:
    return isinstance(text, str) and bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", text))


@dataclass(frozen=True)
class EntitySelector:
    """One item of `entities`: a type (or a type expression, clause 4.17) and optionally an
    id or an id pattern."""

    type: str | None
    id: str | None = None
    id_pattern: str | None = None
    type_query: TypeQuery = ()

    def selects(self, entity_id: str, entity_types: Sequence[str]) -> bool:
        if self.type is not None and self.type not in entity_types:
            return False
        if self.type_query and not types_match(entity_types, self.type_query):
            return False
        if self.id is not None and entity_id != self.id:
            return False
        return self.id_pattern is None or compile_user_pattern(self.id_pattern).fullmatch(entity_id)


@dataclass(frozen=True)
class Subscription:
    """An accepted subscription: its JSON body plus what matching needs, parsed once."""

    id: str
    body: Mapping[str, Any]
    entities: tuple[EntitySelector, ...]
    watched: frozenset[str]
    triggers: frozenset[Trigger]
    query: Query | None
    geoquery: GeoQuery | None
    attributes: tuple[str, ...]
    format: str
    uri: str
    accept: str
    is_active: bool
    expires_at: datetime | None
    throttling: float | None
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: periodic subscriptions (`timeInterval`, seconds) notify on a clock, not on changes
    time_interval: float | None = None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def state(self, now: datetime) -> str:
        """`active`, `paused` or `expired`, as NGSI-LD reports it in `status`."""
        if self.expired(now):
            return "expired"
        return "active" if self.is_active else "paused"

    def selects(self, entity_id: str, entity_types: str | Sequence[str]) -> bool:
        """Does the entity (of one or several types) fall under `entities` (any entity when
        only attributes are watched)?"""
        if not self.entities:
            return True
        types = (entity_types,) if isinstance(entity_types, str) else tuple(entity_types)
        return any(sel.selects(entity_id, types) for sel in self.entities)

    def filters_pass(self, entity: Mapping[str, Any]) -> bool:
        """Does the entity (canonical names) satisfy `q` and `geoQ`?"""
        if self.query is not None and not matches(entity, self.query):
            return False
        scope_q = self.body.get("scopeQ")
        if isinstance(scope_q, str) and not scope_q_matches(entity, parse_scope_q(scope_q)):
            return False
        return self.geoquery is None or geo_matches(entity, self.geoquery)

    def fired_by(self, triggers: Mapping[Trigger, frozenset[str]]) -> bool:
        """Do the change's triggers (each with the attributes it touched) concern this one?

        `triggers` maps a trigger to the attribute names it concerns (empty for entity-level).
        """
        for trigger, names in triggers.items():
            if trigger in self.triggers and (not self.watched or names & self.watched):
                return True
        return False


def parse(
    body: Mapping[str, Any],
    *,
    now: datetime,
    context: jsonld.Context | None = None,
    sub_id: str | None = None,
) -> Subscription:
    """Check a subscription's JSON (create, or the merged result of an update) and parse it.

    Names (types, attributes, `q` paths, the geoproperty) are written under `context` (the
    core context when None) and turned into canonical names for matching; the body is kept as
    written, with the context's references under `@context`, so it reads back the same.

    Raises `Invalid` (BadRequestData) for anything malformed and `Unsupported` for features
    hakama does not offer (non-HTTP endpoints, `csf`, `temporalQ`).
    """
    if not isinstance(body, Mapping):
        raise Invalid("a subscription is a JSON object")
    unknown = sorted(set(body) - _ALLOWED)
    if unknown:
        raise Invalid(f"unknown subscription members: {', '.join(unknown)}")
    if body.get("type", "Subscription") != "Subscription":
        raise Invalid("type must be Subscription")
    sid = sub_id or body.get("id", None)
    if sid is None:
        sid = new_id()
    if not _is_uri(sid):
        raise Invalid(f"subscription id {sid!r} is not a URI")
    for feature in ("csf", "temporalQ"):
        if body.get(feature) is not None:
            raise Unsupported(f"{feature} subscriptions are not supported")
    ctx = context or jsonld.core()
    entities = tuple(_selector(item, ctx) for item in _list(body, "entities", Mapping))
    watched = frozenset(ctx.to_canonical(n) for n in _names(body, "watchedAttributes"))
    if "watchedAttributes" in body and not watched:
        raise Invalid("watchedAttributes cannot be empty")
    if not entities and not watched:
        raise Invalid("a subscription needs entities or watchedAttributes")
    triggers = DEFAULT_TRIGGERS
    if "notificationTrigger" in body:
        names = _names(body, "notificationTrigger")
        try:
            triggers = frozenset(Trigger(n) for n in names)
        except ValueError as exc:
            raise Invalid(f"notificationTrigger: {exc}") from None
        if not triggers:
            raise Invalid("notificationTrigger cannot be empty")
    q = body.get("q")
    if q is not None and (not isinstance(q, str) or not q.strip()):
        raise Invalid("q must be a non-empty string")
    # A q in a JSON body is written as in a URL (clause 4.9): percent-escapes are decoded.
    query = parse_q(unquote(q), expand=ctx.to_canonical) if q is not None else None
    geoquery = _geoq(body["geoQ"], ctx) if body.get("geoQ") is not None else None
    notification = body.get("notification")
    if not isinstance(notification, Mapping):
        raise Invalid("notification is required and must be an object")
    fmt = notification.get("format", "normalized")
    if fmt not in FORMATS:
        raise Invalid(f"notification.format must be one of {', '.join(FORMATS)}")
    attributes = tuple(ctx.to_canonical(n) for n in _names(notification, "attributes"))
    endpoint = notification.get("endpoint")
    if not isinstance(endpoint, Mapping) or not isinstance(endpoint.get("uri"), str):
        raise Invalid("notification.endpoint.uri is required")
    uri = endpoint["uri"]
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https"):
        if _is_uri(uri):
            raise Unsupported(
                f"only http(s) notification endpoints are supported, not {parts.scheme}:"
            )
        raise Invalid(f"notification.endpoint.uri {uri!r} is not a URI")
    if not parts.netloc:
        raise Invalid(f"notification.endpoint.uri {uri!r} has no host")
    receiver_info = endpoint.get("receiverInfo")
    if receiver_info is not None and (
        not isinstance(receiver_info, list)
        or not all(
            isinstance(kv, Mapping)
            and isinstance(kv.get("key"), str)
            and isinstance(kv.get("value"), str)
            and re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", kv["key"])
            and "\n" not in kv["value"]
            and "\r" not in kv["value"]
            for kv in receiver_info
        )
    ):
        raise Invalid("notification.endpoint.receiverInfo: a list of {key, value} header strings")
    picked = _names(notification, "pick")
    omitted = _names(notification, "omit")
    if (picked or omitted) and notification.get("attributes"):
        raise Invalid("notification: pick/omit cannot be combined with attributes")
    if set(picked) & set(omitted):
        raise Invalid("notification: a member cannot be both picked and omitted")
    if notification.get("join", "@none") not in JOINS:
        raise Invalid(f"notification.join must be one of {', '.join(JOINS)}")
    join_level = notification.get("joinLevel", 1)
    if isinstance(join_level, bool) or not isinstance(join_level, int) or join_level < 1:
        raise Invalid("notification.joinLevel must be a positive integer")
    json_ld_context = body.get("jsonldContext")
    if json_ld_context is not None and not (
        isinstance(json_ld_context, str) and urlsplit(json_ld_context).scheme in ("http", "https")
    ):
        raise Invalid("jsonldContext must be the URL of a JSON-LD context")
    accept = endpoint.get("accept", "application/json")
    if accept not in ACCEPTS:
        raise Invalid(f"notification.endpoint.accept must be one of {', '.join(ACCEPTS)}")
    is_active = body.get("isActive", True)
    if not isinstance(is_active, bool):
        raise Invalid("isActive must be true or false")
    expires_at = None
    if body.get("expiresAt") is not None:
        if not isinstance(body["expiresAt"], str):
            raise Invalid("expiresAt must be a date-time string")
        expires_at = read_instant(body["expiresAt"], where="expiresAt", parameter="expiresAt")
        if expires_at <= now:
            raise Invalid("expiresAt must be in the future")
    throttling = body.get("throttling")
    if throttling is not None:
        if (
            isinstance(throttling, bool)
            or not isinstance(throttling, int | float)
            or throttling <= 0
        ):
            raise Invalid("throttling must be a positive number of seconds")
        throttling = float(throttling)
    time_interval = body.get("timeInterval")
    if time_interval is not None:
        if (
            isinstance(time_interval, bool)
            or not isinstance(time_interval, int | float)
            or time_interval <= 0
        ):
            raise Invalid("timeInterval must be a positive number of seconds")
        if "watchedAttributes" in body:
            raise Invalid("timeInterval and watchedAttributes exclude each other (clause 5.2.12)")
        if throttling is not None:
            raise Invalid("timeInterval and throttling exclude each other (clause 5.2.12)")
        if not entities:
            raise Invalid("a periodic subscription (timeInterval) needs entities")
        time_interval = float(time_interval)
    datasets = body.get("datasetId")
    if datasets is not None:
        listed = datasets if isinstance(datasets, list) else [datasets]
        if not listed or not all(d == "@none" or _is_uri(d) for d in listed):
            raise Invalid("datasetId: a URI, @none, or a non-empty list of them")
    scope_q = body.get("scopeQ")
    if scope_q is not None:
        if not isinstance(scope_q, str):
            raise Invalid("scopeQ must be a string")
        parse_scope_q(scope_q)
    for text_member in ("subscriptionName", "description"):
        if text_member in body and not isinstance(body[text_member], str):
            raise Invalid(f"{text_member} must be a string")
    kept = {
        k: v
        for k, v in body.items()
        if k not in ("status", "createdAt", "modifiedAt") and v is not None
    }
    kept["id"] = sid
    kept["type"] = "Subscription"
    kept.pop("@context", None)
    if ctx.references:
        kept["@context"] = list(ctx.references)
    kept["notification"] = {
        k: v
        for k, v in notification.items()
        if k
        in (
            "attributes",
            "format",
            "endpoint",
            "sysAttrs",
            "showChanges",
            "pick",
            "omit",
            "join",
            "joinLevel",
        )
    }
    if expires_at is not None:
        kept["expiresAt"] = format_instant(expires_at)
    return Subscription(
        id=sid,
        body=kept,
        entities=entities,
        watched=watched,
        triggers=triggers,
        query=query,
        geoquery=geoquery,
        attributes=attributes,
        format="keyValues" if fmt == "simplified" else fmt,
        uri=uri,
        accept=accept,
        is_active=is_active,
        expires_at=expires_at,
        throttling=throttling,
        time_interval=time_interval,
    )


def _list(body: Mapping[str, Any], name: str, kind: type) -> list[Any]:
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, kind) for v in value):
        raise Invalid(f"{name} must be a list")
    return value


def _names(body: Mapping[str, Any], name: str) -> list[str]:
    values = _list(body, name, str)
    if any(not v.strip() for v in values):
        raise Invalid(f"{name} cannot hold empty names")
    return values


def _selector(item: Mapping[str, Any], ctx: jsonld.Context) -> EntitySelector:
    etype = item.get("type")
    if not isinstance(etype, str) or not etype:
        raise Invalid("each item of entities needs a type")
    eid = item.get("id")
    if eid is not None and not _is_uri(eid):
        raise Invalid(f"entities: id {eid!r} is not a URI")
    pattern = item.get("idPattern")
    if pattern is not None:
        if not isinstance(pattern, str):
            raise Invalid("entities: idPattern must be a string")
        compile_user_pattern(pattern, what="entities: idPattern")
    types = parse_types(etype, expand=ctx.to_canonical)
    if len(types) == 1 and len(types[0]) == 1:
        return EntitySelector(type=next(iter(types[0])), id=eid, id_pattern=pattern)
    return EntitySelector(type=None, id=eid, id_pattern=pattern, type_query=types)


def _geoq(value: Any, ctx: jsonld.Context) -> GeoQuery:
    if not isinstance(value, Mapping):
        raise Invalid("geoQ must be an object")
    for member in ("geometry", "coordinates", "georel"):
        if member not in value:
            raise Invalid(f"geoQ needs {member}")
    geoproperty = value.get("geoproperty")
    if geoproperty is not None and not isinstance(geoproperty, str):
        raise Invalid("geoQ.geoproperty must be a string")
    parsed = parse_geoq(
        value["georel"],
        value["geometry"],
        value["coordinates"],
        ctx.to_canonical(geoproperty) if geoproperty else None,
    )
    if parsed is None:
        raise Invalid("geoQ needs georel, geometry and coordinates")
    return parsed


def render(sub: Subscription, status: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
    """The subscription as GET returns it: its body plus status and delivery figures."""
    out = dict(sub.body)
    note = dict(out.get("notification", {}))
    for key in ("timesSent", "lastNotification", "lastSuccess", "lastFailure", "status"):
        value = status.get(key)
        if value is None:
            continue
        note[key] = format_instant(value) if isinstance(value, datetime) else value
    out["notification"] = note
    if "isActive" in sub.body or not sub.is_active:
        out["isActive"] = sub.is_active
    out["status"] = sub.state(now)
    return out
