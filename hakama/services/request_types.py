"""Request types (Open311 services) use cases: define, list, disable them; resolve what a commune
offers. The open-data catalogue is `services/datasets.py`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from hakama.core.access import Action, Actor, allowed
from hakama.core.clock import utcnow
from hakama.core.errors import Forbidden, Invalid, NotFound
from hakama.core.request_types import (
    AttributeValue,
    Datatype,
    Service,
    ServiceAttribute,
    department_name,
    department_names,
    effective_catalogue,
    service_from_dict,
    service_to_dict,
    validate_service,
)
from hakama.services import audit, territory
from hakama.services.platform import Platform
from hakama.storage.schema_requests import services as services_table

__all__ = [
    "AttributeValue",
    "Datatype",
    "Service",
    "ServiceAttribute",
    "all_definitions",
    "department_label",
    "department_labels",
    "disable_service",
    "get_service",
    "import_services",
    "list_services",
    "load_yaml",
    "save_service",
    "save_services",
]



def _row_to_service(row: Any) -> Service:
    data = {
        "code": row.code,
        "area_code": row.area_code,
        "category": row.category,
        "names": row.names,
        "descriptions": row.descriptions,
        "department": row.department,
        "department_names": row.department_names or {},
        "target_hours": row.target_hours,
        "icon": row.icon,
        "keywords": row.keywords,
        "group": row.group_name,
        "attributes": row.attributes,
        "active": row.active,
        "business_hours": row.business_hours,
    }
    # Stored rows were validated on the way in; build without re-validating an old icon list.
    try:
        return service_from_dict(data)
    except ValueError:
        return Service(
            code=row.code,
            area_code=row.area_code,
            category=row.category,
            names=dict(row.names),
            target_hours=float(row.target_hours),
            active=bool(row.active),
        )


def all_definitions(platform: Platform) -> list[Service]:
    """Every stored definition, active or not, at every area (cached until the next change)."""
    cached = platform.derived.request_services
    if cached is None:
        with platform.db.connect() as conn:
            rows = conn.execute(
                sa.select(services_table).order_by(
                    services_table.c.area_code, services_table.c.code
                )
            ).all()
        cached = [_row_to_service(r) for r in rows]
        platform.derived.request_services = cached
    return cached


def department_label(platform: Platform, department: str, language: str) -> str:
    """A department as a request stores it, named in `language` when the catalogue names it."""
    if not department:
        return ""
    return department_name(department, department_names(all_definitions(platform)), language)


def department_labels(platform: Platform, language: str) -> dict[str, str]:
    """Every department the catalogue names, by its stored name, named in `language` (what a
    list of requests looks its departments up in; one not in it is shown as stored)."""
    known = department_names(all_definitions(platform))
    return {stored: department_name(stored, known, language) for stored in known}


def list_services(platform: Platform, *, area_code: str | None = None) -> list[Service]:
    """The services offered in `area_code` (a commune), or, without one, every service code
    once in its widest definition (what an area-less Open311 client sees)."""
    definitions = all_definitions(platform)
    if area_code is not None:
        chain = territory.area_chain(platform, territory.get_area(platform, area_code).code)
        return effective_catalogue(definitions, chain)
    depth = {a.code: a.level.depth for a in territory.list_areas(platform)}
    widest: dict[str, Service] = {}
    for service in definitions:
        current = widest.get(service.code)
        if current is None or depth.get(service.area_code, 99) < depth.get(current.area_code, 99):
            widest[service.code] = service
    return sorted(
        (s for s in widest.values() if s.active), key=lambda s: (s.group, s.category, s.code)
    )


def get_service(platform: Platform, code: str, *, area_code: str | None = None) -> Service:
    """The service `code` as offered in `area_code` (or in its widest definition)."""
    for service in list_services(platform, area_code=area_code):
        if service.code == code:
            return service
    where = f" in area {area_code}" if area_code else ""
    raise NotFound(f"no service with code {code!r}{where}", service_code=code)


def definitions_at(platform: Platform, area_code: str) -> list[Service]:
    """The definitions made at exactly `area_code`, disabled ones included (for admins)."""
    return [s for s in all_definitions(platform) if s.area_code == area_code]


def _check_manage(platform: Platform, actor: Actor, area_code: str) -> None:
    territory.get_area(platform, area_code)
    if not allowed(actor, Action.MANAGE_CATALOG, territory.area_chain(platform, area_code)):
        raise Forbidden(f"{actor.label} may not manage the services of area {area_code}")


def save_service(platform: Platform, service: Service, *, actor: Actor) -> Service:
    """Create or replace the definition of `service.code` at `service.area_code`, audited."""
    return save_services(platform, [service], actor=actor)[0]


def save_services(
    platform: Platform, services: Sequence[Service], *, actor: Actor
) -> list[Service]:
    """Create or replace several definitions in one transaction, each audited."""
    for service in services:
        try:
            validate_service(service)
        except ValueError as exc:
            raise Invalid(str(exc), service_code=service.code) from None
        _check_manage(platform, actor, service.area_code)
    now = utcnow()
    with platform.db.begin() as conn:
        for service in services:
            _write(conn, service, actor=actor, now=now)
    platform.derived.request_services = None
    return list(services)


def _write(conn: sa.Connection, service: Service, *, actor: Actor, now: Any) -> None:
    t = services_table
    data = service_to_dict(service)
    values = {
        "category": service.category,
        "names": data["names"],
        "descriptions": data["descriptions"],
        "department": service.department,
        "department_names": data["department_names"],
        "target_hours": service.target_hours,
        "business_hours": service.business_hours,
        "icon": service.icon,
        "keywords": data["keywords"],
        "group_name": service.group,
        "attributes": data["attributes"],
        "active": service.active,
        "updated_at": now,
    }
    where = sa.and_(t.c.area_code == service.area_code, t.c.code == service.code)
    before = conn.execute(sa.select(t).where(where)).first()
    if before is None:
        conn.execute(t.insert().values(area_code=service.area_code, code=service.code, **values))
    else:
        conn.execute(t.update().where(where).values(**values))
    audit.record(
        conn,
        actor=actor,
        action="service.save",
        resource=f"service:{service.area_code}/{service.code}",
        area_code=service.area_code,
        before=service_to_dict(_row_to_service(before)) if before is not None else None,
        after=data,
    )


def disable_service(platform: Platform, code: str, *, area_code: str, actor: Actor) -> Service:
    """Stop offering `code` in `area_code`: disables its definition there, or, when it is
    inherited from a wider area, adds a disabled override."""
    _check_manage(platform, actor, area_code)
    own = next((s for s in definitions_at(platform, area_code) if s.code == code), None)
    if own is None:
        inherited = get_service(platform, code, area_code=area_code)
        own = replace(inherited, area_code=area_code)
    disabled = replace(own, active=False)
    return save_service(platform, disabled, actor=actor)


def load_yaml(path: Path, *, area_code: str | None = None) -> list[Service]:
    """Read definitions from a YAML file: a list of services, or `{services: [...]}`.

    Each entry may name its `area_code`; `area_code` given here applies to entries without one.
    """
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise Invalid(f"cannot read {path}: {exc}") from None
    return parse_definitions(data, area_code=area_code)


def parse_definitions(data: Any, *, area_code: str | None = None) -> list[Service]:
    entries: Any = data.get("services") if isinstance(data, Mapping) else data
    if not isinstance(entries, list):
        raise Invalid("a catalogue is a list of services (or a mapping with a 'services' list)")
    out: list[Service] = []
    for i, entry in enumerate(entries, start=1):
        if not isinstance(entry, Mapping):
            raise Invalid(f"service #{i} is not a mapping")
        where = entry.get("area_code") or area_code
        if not where:
            raise Invalid(f"service #{i} ({entry.get('code')}) has no area_code")
        try:
            out.append(service_from_dict(entry, area_code=str(where)))
        except ValueError as exc:
            raise Invalid(f"service #{i}: {exc}") from None
    return out


def import_services(
    platform: Platform, definitions: Iterable[Service], *, actor: Actor
) -> list[Service]:
    """Save definitions read from a file (all or nothing)."""
    return save_services(platform, list(definitions), actor=actor)
