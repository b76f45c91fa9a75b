"""The Query object (clause 5.2.23) of `POST …/entityOperations/query` (`ngsi_ld_batch`) and of
`POST …/temporal/entityOperations/query` (`ngsi_ld_temporal`): one reader for both; and the
list members a query also takes as URI parameters (`expandValues`, `containedBy`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hakama.core import entities as core_entities
from hakama.core import jsonld, ngsi_query, ngsi_selectors
from hakama.http.api.ngsi_errors import ErrorKind, NgsiError
from hakama.services.entity_reads import Selector


@dataclass(frozen=True)
class QueryBody:
    """A Query object, checked: selectors, attrs (canonical), q and geoQ parsed; scopeQ raw."""

    selectors: list[Selector]
    attrs: list[str]
    q: ngsi_query.Query | None
    geoq: ngsi_query.GeoQuery | None
    scope_q: str | None
    body: Mapping[str, Any]

    @property
    def empty(self) -> bool:
        """No member that selects entities (the Query must have one)."""
        return not (self.selectors or self.attrs or self.q or self.geoq or self.scope_q)


def read_query(body: Any, context: jsonld.Context) -> QueryBody:
    """The Query object of a request body; BadRequestData when it is not one."""
    if not isinstance(body, Mapping) or body.get("type") != "Query":
        raise NgsiError(
            ErrorKind.BAD_REQUEST_DATA, 'the body must be a Query object ({"type": "Query", ...})'
        )
    selectors = [_selector(item, context) for item in members(body, "entities")]
    attr_names = [context.to_canonical(text(a, "attrs")) for a in members(body, "attrs")]
    q = body.get("q")
    query = ngsi_query.parse_q(text(q, "q"), expand=context.to_canonical) if q is not None else None
    query = expanded_values(query, body.get("expandValues"), context)
    geo = body.get("geoQ")
    geoq = None
    if geo is not None:
        if not isinstance(geo, Mapping):
            raise NgsiError(ErrorKind.BAD_REQUEST_DATA, "geoQ: must be an object")
        prop = geo.get("geoproperty")
        geoq = ngsi_query.parse_geoq(
            text(geo.get("georel"), "geoQ.georel"),
            text(geo.get("geometry"), "geoQ.geometry"),
            geo.get("coordinates"),
            context.to_canonical(text(prop, "geoQ.geoproperty")) if prop else None,
        )
    scope_q = body.get("scopeQ")
    return QueryBody(
        selectors,
        attr_names,
        query,
        geoq,
        text(scope_q, "scopeQ") if scope_q else None,
        body,
    )


def listed(value: Any, where: str) -> list[str]:
    """A list given as a URI parameter (comma-separated) or a Query member (an array of
    strings); BadRequestData when it is empty or has an empty item."""
    if isinstance(value, str):
        items = [item.strip() for item in value.split(",")]
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = [item.strip() for item in value]
    else:
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, f"{where}: must be a list of strings")
    if not items or not all(items):
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, f"{where}: an empty item in {value!r:.80}")
    return items


def expanded_values(
    query: ngsi_query.Query | None, names: Any, context: jsonld.Context
) -> ngsi_query.Query | None:
    """`expandValues` (clause 4.9, EXAMPLE 12): the values of q's terms on the attributes
    named are expanded against the request's @context before the query runs."""
    if names is None:
        return query
    attributes = []
    for name in listed(names, "expandValues"):
        if name in core_entities.ENTITY_MEMBERS or not core_entities.valid_name(name):
            raise NgsiError(
                ErrorKind.BAD_REQUEST_DATA, f"expandValues: {name[:80]!r} is not an attribute name"
            )
        attributes.append(context.to_canonical(name))
    if query is None:
        return None
    return ngsi_query.expand_values(query, frozenset(attributes), context.expand)


def contained_by(value: Any) -> frozenset[str]:
    """`containedBy` (clause 4.5.23): the ids of entities the client already holds, which a
    join does not follow relationships to; BadRequestData for an item that is not a URI."""
    if value is None:
        return frozenset()
    ids = listed(value, "containedBy")
    for entity_id in ids:
        if not core_entities.is_uri(entity_id):
            raise NgsiError(
                ErrorKind.BAD_REQUEST_DATA, f"containedBy: {entity_id[:80]!r} is not a URI"
            )
    return frozenset(ids)


def members(body: Mapping[str, Any], name: str) -> list[Any]:
    """The array member `name` of a body (empty when absent)."""
    value = body.get(name, [])
    if not isinstance(value, list):
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, f"{name}: must be an array")
    return value


def text(value: Any, where: str) -> str:
    """A member that must be a non-empty string."""
    if not isinstance(value, str) or not value:
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, f"{where}: must be a non-empty string")
    return value


def _selector(item: Any, context: jsonld.Context) -> Selector:
    if not isinstance(item, Mapping):
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, "entities: each item must be an object")
    kind = item.get("type")
    entity_id = item.get("id")
    if entity_id is not None and not core_entities.is_uri(entity_id):
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, "entities: id must be a URI")
    pattern = item.get("idPattern")
    types = (
        ngsi_selectors.parse_types(text(kind, "entities.type"), expand=context.to_canonical)
        if kind is not None
        else ()
    )
    single = len(types) == 1 and len(types[0]) == 1
    return Selector(
        type=next(iter(types[0])) if single else None,
        type_query=() if single else types,
        id=entity_id,
        id_pattern=text(pattern, "entities.idPattern") if pattern is not None else None,
    )
