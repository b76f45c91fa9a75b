"""Devices: provisioning (which entity a device feeds, with which API key, in which commune) and
the look-up the MQTT subscriber makes for every message.

A device is named in MQTT topics by its id and its key's public id
(`hakama/<key id>/<device id>/attrs`). Provisioning checks that the key may write data in the
device's commune (`allowed(key, WRITE_DATA, area_chain(commune))`), so a key of one commune
cannot feed another commune's entities; the subscriber checks again that the key is not
revoked and that the topic names the device's own key.
"""

from __future__ import annotations

import re
import time as clock
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from hakama.core.access import Action, Actor, allowed
from hakama.core.clock import utcnow
from hakama.core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from hakama.ingest.formats import ATTRIBUTE_NAME, AttributeMap
from hakama.services import audit, keys
from hakama.services.platform import Platform
from hakama.services.territory import area_chain, get_area, locate
from hakama.storage.schema_devices import devices

#: Device ids appear in MQTT topics: no `/`, `+`, `#` or spaces.
DEVICE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}")
ENTITY_ID = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S{1,500}")  # an absolute IRI, e.g. a URN
ENTITY_TYPE = re.compile(r"[A-Za-z_][A-Za-z0-9_.:/#\-]{0,255}")
UNIT_CODE = re.compile(r"[A-Z0-9]{1,8}")
#: How long the subscriber trusts a cached look-up (other processes may change devices).
BINDING_TTL = 10.0


@dataclass(frozen=True)
class Device:
    """A provisioned device and the entity it feeds."""

    device_id: str
    api_key_id: str | None
    entity_id: str
    entity_type: str
    area_code: str | None
    attributes: dict[str, AttributeMap]
    location: dict[str, Any] | None
    description: str
    disabled: bool
    created_at: datetime
    updated_at: datetime
    last_seen_at: datetime | None = None

    def public(self) -> dict[str, Any]:
        """The device as JSON (API, CLI, audit)."""
        return {
            "device_id": self.device_id,
            "api_key_id": self.api_key_id,
            "entity_id": self.entity_id,
            "entity_type": self.entity_type,
            "area_code": self.area_code,
            "attributes": {
                k: {"name": m.name, "unit": m.unit} for k, m in sorted(self.attributes.items())
            },
            "location": self.location,
            "description": self.description,
            "disabled": self.disabled,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "last_seen_at": self.last_seen_at.isoformat() if self.last_seen_at else None,
        }

    @property
    def topic(self) -> str:
        """The topic the device publishes its measures on."""
        return f"hakama/{self.api_key_id or '-'}/{self.device_id}/attrs"


@dataclass(frozen=True)
class Binding:
    """What the subscriber needs for one device: the device and the actor its key stands for."""

    device: Device
    actor: Actor
    expires: float = field(default=0.0, compare=False)


def _row_to_device(row: Any) -> Device:
    return Device(
        device_id=row.device_id,
        api_key_id=row.api_key_id,
        entity_id=row.entity_id,
        entity_type=row.entity_type,
        area_code=row.area_code,
        attributes={
            k: AttributeMap(str(v.get("name") or k), v.get("unit"))
            for k, v in (row.attributes or {}).items()
        },
        location=row.location,
        description=row.description or "",
        disabled=bool(row.disabled),
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_seen_at=row.last_seen_at,
    )


def parse_attributes(raw: Mapping[str, Any] | None) -> dict[str, AttributeMap]:
    """A device's mapping from `{"pm25": {"name": "pm25", "unit": "GQ"}}` or `{"pm25": "GQ"}`."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise Invalid("attributes must be an object: measure → {name, unit}")
    out: dict[str, AttributeMap] = {}
    for key, spec in raw.items():
        if not isinstance(key, str) or not ATTRIBUTE_NAME.fullmatch(key):
            raise Invalid(f"measure name {key!r} is not valid", field="attributes")
        if isinstance(spec, str) or spec is None:
            spec = {"unit": spec}
        if not isinstance(spec, Mapping):
            raise Invalid(f"attribute {key}: expected {{name, unit}}", field="attributes")
        name = spec.get("name") or key
        unit = spec.get("unit")
        if not isinstance(name, str) or not ATTRIBUTE_NAME.fullmatch(name):
            raise Invalid(f"attribute {key}: name {name!r} is not valid", field="attributes")
        if unit is not None and (not isinstance(unit, str) or not UNIT_CODE.fullmatch(unit)):
            raise Invalid(
                f"attribute {key}: unit {unit!r} is not a UN/CEFACT code", field="attributes"
            )
        out[key] = AttributeMap(name, unit)
    return out


def parse_location(raw: Any) -> tuple[dict[str, Any], float, float] | None:
    """A GeoJSON Point (or `[lon, lat]`) as (geometry, lon, lat); None when absent."""
    if raw is None:
        return None
    coords = raw.get("coordinates") if isinstance(raw, Mapping) else raw
    if isinstance(raw, Mapping) and raw.get("type") != "Point":
        raise Invalid("location must be a GeoJSON Point", field="location")
    if (
        not isinstance(coords, list | tuple)
        or len(coords) != 2
        or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coords)
    ):
        raise Invalid("location needs coordinates [lon, lat]", field="location")
    lon, lat = float(coords[0]), float(coords[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise Invalid("location is outside [-180, 180] × [-90, 90]", field="location")
    return {"type": "Point", "coordinates": [lon, lat]}, lon, lat


def _place(
    platform: Platform, location: Any, area_code: str | None
) -> tuple[dict[str, Any] | None, str | None]:
    placed = parse_location(location)
    if area_code is not None:
        get_area(platform, area_code)
    if placed is None:
        return None, area_code
    geometry, lon, lat = placed
    found = locate(platform, lon, lat)
    if area_code is not None and found is not None and found != area_code:
        raise Invalid(
            f"the location lies in {found}, not in {area_code}", field="location", area_code=found
        )
    return geometry, found or area_code


def _check_key(platform: Platform, api_key_id: str | None, chain: tuple[str, ...]) -> None:
    if api_key_id is None:
        return
    try:
        key = keys.get_key(platform, api_key_id)
    except NotFound:
        raise Invalid(f"no API key {api_key_id!r}", field="api_key_id") from None
    if key.revoked:
        raise Invalid(f"API key {api_key_id} is revoked", field="api_key_id")
    if not allowed(_key_actor(key), Action.WRITE_DATA, chain):
        raise Forbidden(
            f"API key {api_key_id} may not write data in {chain[0] if chain else 'the territory'}",
            field="api_key_id",
        )


def _key_actor(key: keys.ApiKey) -> Actor:
    return Actor(kind="key", id=key.id, role=key.role, area_code=key.area_code, scopes=key.scopes)


def _check_write(platform: Platform, actor: Actor, area_code: str | None, what: str) -> None:
    if actor.kind == "anonymous":
        raise Unauthorized(f"sign in or present an API key to {what}")
    if not allowed(actor, Action.WRITE_DATA, area_chain(platform, area_code)):
        raise Forbidden(f"{actor.label} may not {what} in {area_code or 'the territory'}")


def create_device(
    platform: Platform,
    *,
    actor: Actor,
    device_id: str,
    entity_type: str,
    api_key_id: str | None,
    attributes: Mapping[str, Any] | None = None,
    entity_id: str | None = None,
    location: Any = None,
    area_code: str | None = None,
    description: str = "",
) -> Device:
    """Provision a device; its entity id defaults to `urn:ngsi-ld:<type>:<device id>`.

    The commune comes from `location` when it lies in the territory, else from `area_code`.
    """
    if not isinstance(device_id, str) or not DEVICE_ID.fullmatch(device_id):
        raise Invalid("device_id: 1-128 letters, digits, `_.:-`, no `/ + #`", field="device_id")
    if not isinstance(entity_type, str) or not ENTITY_TYPE.fullmatch(entity_type):
        raise Invalid(f"entity_type {entity_type!r} is not a valid type name", field="entity_type")
    entity_id = entity_id or f"urn:ngsi-ld:{entity_type}:{device_id}"
    if not ENTITY_ID.fullmatch(entity_id):
        raise Invalid(f"entity_id {entity_id!r} is not an absolute URI", field="entity_id")
    if len(description) > 2000:
        raise Invalid("description: at most 2000 characters", field="description")
    mapping = parse_attributes(attributes)
    geometry, area = _place(platform, location, area_code)
    _check_write(platform, actor, area, "provision devices")
    _check_key(platform, api_key_id, area_chain(platform, area))
    now = utcnow()
    values = {
        "device_id": device_id,
        "api_key_id": api_key_id,
        "entity_id": entity_id,
        "entity_type": entity_type,
        "area_code": area,
        "attributes": {k: {"name": m.name, "unit": m.unit} for k, m in mapping.items()},
        "location": geometry,
        "description": description,
        "disabled": False,
        "created_at": now,
        "updated_at": now,
    }
    with platform.db.begin() as conn:
        clash = conn.execute(
            sa.select(devices.c.device_id, devices.c.entity_id).where(
                sa.or_(devices.c.device_id == device_id, devices.c.entity_id == entity_id)
            )
        ).first()
        if clash is not None:
            what = "device" if clash.device_id == device_id else "entity"
            raise Conflict(f"a device already exists for this {what}", device_id=clash.device_id)
        conn.execute(devices.insert().values(**values))
        device = _row_to_device(
            conn.execute(sa.select(devices).where(devices.c.device_id == device_id)).one()
        )
        audit.record(
            conn,
            actor=actor,
            action="device.create",
            resource=f"device:{device_id}",
            area_code=area,
            after=device.public(),
        )
    forget_bindings(platform)
    return device


def get_device(platform: Platform, device_id: str) -> Device:
    with platform.db.connect() as conn:
        row = conn.execute(sa.select(devices).where(devices.c.device_id == device_id)).first()
    if row is None:
        raise NotFound(f"no device {device_id!r}", device_id=device_id)
    return _row_to_device(row)


def list_devices(
    platform: Platform,
    *,
    actor: Actor,
    area_code: str | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> list[Device]:
    """Devices the actor may see (those of areas where it reads internal data), by id."""
    if actor.kind == "anonymous":
        raise Unauthorized("sign in or present an API key to list devices")
    query = sa.select(devices).order_by(devices.c.device_id)
    if area_code is not None:
        query = query.where(devices.c.area_code == area_code)
    with platform.db.connect() as conn:
        rows = conn.execute(query).all()
    visible = [
        _row_to_device(r)
        for r in rows
        if allowed(actor, Action.READ_INTERNAL, area_chain(platform, r.area_code))
        or allowed(actor, Action.WRITE_DATA, area_chain(platform, r.area_code))
    ]
    return visible[offset : offset + limit]


def update_device(
    platform: Platform, device_id: str, *, actor: Actor, changes: Mapping[str, Any]
) -> Device:
    """Change some of: api_key_id, attributes, location, area_code, description, disabled."""
    allowed_fields = {
        "api_key_id",
        "attributes",
        "location",
        "area_code",
        "description",
        "disabled",
    }
    unknown = sorted(set(changes) - allowed_fields)
    if unknown:
        raise Invalid(f"cannot change {', '.join(unknown)}", fields=unknown)
    before = get_device(platform, device_id)
    _check_write(platform, actor, before.area_code, "change devices")
    values: dict[str, Any] = {}
    if "attributes" in changes:
        mapping = parse_attributes(changes["attributes"])
        values["attributes"] = {k: {"name": m.name, "unit": m.unit} for k, m in mapping.items()}
    area = before.area_code
    if "location" in changes or "area_code" in changes:
        geometry, area = _place(
            platform,
            changes.get("location", before.location),
            changes.get("area_code", before.area_code),
        )
        values["location"], values["area_code"] = geometry, area
        _check_write(platform, actor, area, "move devices")
    if "description" in changes:
        text = changes["description"]
        if not isinstance(text, str) or len(text) > 2000:
            raise Invalid("description: a text of at most 2000 characters", field="description")
        values["description"] = text
    if "disabled" in changes:
        if not isinstance(changes["disabled"], bool):
            raise Invalid("disabled must be true or false", field="disabled")
        values["disabled"] = changes["disabled"]
    key_id = changes.get("api_key_id", before.api_key_id)
    if "api_key_id" in changes:
        values["api_key_id"] = key_id
    _check_key(platform, key_id, area_chain(platform, area))
    values["updated_at"] = utcnow()
    with platform.db.begin() as conn:
        conn.execute(devices.update().where(devices.c.device_id == device_id).values(**values))
        after = _row_to_device(
            conn.execute(sa.select(devices).where(devices.c.device_id == device_id)).one()
        )
        audit.record(
            conn,
            actor=actor,
            action="device.update",
            resource=f"device:{device_id}",
            area_code=area,
            before=before.public(),
            after=after.public(),
        )
    forget_bindings(platform)
    return after


def delete_device(platform: Platform, device_id: str, *, actor: Actor) -> None:
    """Remove a device (its entity and history stay)."""
    before = get_device(platform, device_id)
    _check_write(platform, actor, before.area_code, "delete devices")
    with platform.db.begin() as conn:
        conn.execute(devices.delete().where(devices.c.device_id == device_id))
        audit.record(
            conn,
            actor=actor,
            action="device.delete",
            resource=f"device:{device_id}",
            area_code=before.area_code,
            before=before.public(),
        )
    forget_bindings(platform)


# The subscriber's side --------------------------------------------------------------------


class Rejected(Exception):
    """A message the subscriber drops; `reason` is a counter name, `str()` the detail."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.expires = 0.0  # until when a cached rejection stands


def forget_bindings(platform: Platform) -> None:
    platform.derived.device_bindings = {}


def binding(platform: Platform, api_key_id: str, device_id: str) -> Binding:
    """The device and acting key for a topic `hakama/<api_key_id>/<device_id>/…`.

    Cached for `BINDING_TTL` seconds. Raises `Rejected` (unknown_device, disabled, wrong_key,
    revoked_key, forbidden) — the subscriber counts and logs it.
    """
    cache = platform.derived.device_bindings
    now = clock.monotonic()
    hit = cache.get((api_key_id, device_id))
    if isinstance(hit, Binding) and hit.expires > now:
        return hit
    if isinstance(hit, Rejected) and hit.expires > now:
        raise hit
    try:
        found = _bind(platform, api_key_id, device_id, expires=now + BINDING_TTL)
    except Rejected as exc:
        exc.expires = now + BINDING_TTL
        cache[(api_key_id, device_id)] = exc
        raise
    cache[(api_key_id, device_id)] = found
    return found


def _bind(platform: Platform, api_key_id: str, device_id: str, *, expires: float) -> Binding:
    try:
        device = get_device(platform, device_id)
    except NotFound:
        raise Rejected("unknown_device", f"no device {device_id!r}") from None
    if device.disabled:
        raise Rejected("disabled", f"device {device_id} is disabled")
    if device.api_key_id is None or device.api_key_id != api_key_id:
        raise Rejected("wrong_key", f"device {device_id} does not publish with key {api_key_id}")
    try:
        key = keys.get_key(platform, api_key_id)
    except NotFound:
        raise Rejected("wrong_key", f"no API key {api_key_id}") from None
    if key.revoked:
        raise Rejected("revoked_key", f"API key {api_key_id} is revoked")
    actor = _key_actor(key)
    if not allowed(actor, Action.WRITE_DATA, area_chain(platform, device.area_code)):
        raise Rejected("forbidden", f"key {api_key_id} may not write in {device.area_code}")
    return Binding(device=device, actor=actor, expires=expires)


def touch(conn: sa.Connection, seen: Mapping[str, datetime]) -> None:
    """Record when devices were last heard from, in the caller's transaction."""
    if not seen:
        return
    conn.execute(
        devices.update()
        .where(devices.c.device_id == sa.bindparam("_id"))
        .values(last_seen_at=sa.bindparam("_at")),
        [{"_id": k, "_at": v} for k, v in seen.items()],
    )


def provision_entity(platform: Platform, device: Device, *, actor: Actor) -> None:
    """Make sure the device's NGSI-LD entity exists (with the device's location, if any).

    Goes through the entities service, so the entity is placed in the device's commune (by its
    location, else the `--area` it was provisioned with), audited and announced to
    subscriptions like any other; an existing entity only gets the location and the commune.
    Placed there, the commune's own key may update it with the device's readings.
    """
    from hakama.services import entities

    body: dict[str, Any] = {"id": device.entity_id, "type": device.entity_type}
    if device.location is not None:
        body["location"] = {"type": "GeoProperty", "value": device.location}
    result = entities.batch_upsert(
        platform,
        [body],
        actor=actor,
        update=True,
        source="http",
        areas={device.entity_id: device.area_code},
    )
    if result.errors:
        raise result.errors[0].error
