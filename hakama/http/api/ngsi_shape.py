"""How the NGSI-LD routers render entities for one request (clauses 4.5, 4.21, 6.3.7): the
representation asked for (normalized, concise, keyValues, sysAttrs), `attrs`, `pick`/`omit`,
`lang`, `datasetId`, linked entities (`join`), pagination, and GeoJSON."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response

from hakama.core import entities as core_entities
from hakama.core import jsonld
from hakama.core.entity_render import Projection, Shape, Spec, render_all
from hakama.http.api import ngsi_media as media
from hakama.http.api import ngsi_query_body
from hakama.http.api.ngsi_errors import ErrorKind, NgsiError
from hakama.http.offload import run_blocking
from hakama.services import entities as service
from hakama.services.platform import Platform

MAX_LIMIT = 1000
MAX_OFFSET = 2**31 - 1
DEFAULT_LIMIT = 20

OptionsQ = Annotated[
    str | None, Query(description="keyValues | concise | sysAttrs (comma-separated)")
]
FormatQ = Annotated[
    str | None, Query(description="normalized | keyValues | concise (overrides options)")
]
LangQ = Annotated[
    str | None, Query(description="language for LanguageProperties, e.g. ar or fr,en;q=0.5")
]
AttrsQ = Annotated[str | None, Query(description="attribute names, comma-separated")]
PickQ = Annotated[
    str | None, Query(description="members to keep (attributes, id, type), comma-separated")
]
OmitQ = Annotated[str | None, Query(description="members to leave out, comma-separated")]
JoinQ = Annotated[
    str | None, Query(description="linked entities: flat | inline | @none (clause 4.5.23)")
]
JoinLevelQ = Annotated[int, Query(ge=1, le=5, description="hops followed by join")]
ContainedByQ = Annotated[
    str | None,
    Query(description="ids of entities already held, which join does not follow (clause 4.5.23)"),
]
ExpandValuesQ = Annotated[
    str | None,
    Query(description="attributes whose q values are expanded with the @context (clause 4.9)"),
]
DatasetQ = Annotated[
    str | None, Query(description="datasetIds of the instances to keep (@none: default)")
]


def parse_projection(text: str, where: str) -> Projection:
    """A `pick`/`omit` expression (clause 4.21): names separated by `,`, a name may be
    followed by `{...}` naming members of the entity it links to (used with `join`)."""
    position = 0

    def names() -> Projection:
        nonlocal position
        out: Projection = {}
        while True:
            start = position
            while position < len(text) and text[position] not in ",{}":
                position += 1
            name = text[start:position].strip()
            if not name or not core_entities.valid_name(name):
                raise NgsiError(
                    ErrorKind.BAD_REQUEST_DATA, f"{where}: invalid expression {text[:120]!r}"
                )
            nested: Projection | None = None
            if position < len(text) and text[position] == "{":
                position += 1
                nested = names()
                if position >= len(text) or text[position] != "}":
                    raise NgsiError(ErrorKind.BAD_REQUEST_DATA, f"{where}: unclosed brace")
                position += 1
            out[name] = nested
            if position < len(text) and text[position] == ",":
                position += 1
                continue
            return out

    found = names()
    if position != len(text):
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, f"{where}: invalid expression {text[:120]!r}")
    return found


def _spec(pick: str | None, omit: str | None, attrs: str | None = None) -> Spec | None:
    """The `pick`/`omit` of a request (clause 4.21), checked; None when neither is given."""
    if (pick or omit) and attrs:
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, "attrs cannot be combined with pick or omit")
    picked = parse_projection(pick, "pick") if pick else {}
    omitted = parse_projection(omit, "omit") if omit else {}
    if picked and omitted:
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, "pick and omit exclude each other")
    if picked:
        return ("pick", picked)
    if omitted:
        return ("omit", omitted)
    return None


def representation(
    options: str | None, fmt: str | None, allowed: tuple[str, ...] = ()
) -> tuple[core_entities.Format, bool, set[str]]:
    chosen = media.options(
        options, ("keyValues", "simplified", "concise", "sysAttrs", "normalized", *allowed)
    )
    representation: core_entities.Format = "normalized"
    if "keyValues" in chosen or "simplified" in chosen:
        representation = "keyValues"
    elif "concise" in chosen:
        representation = "concise"
    if fmt is not None:
        aliases: dict[str, core_entities.Format] = {
            "normalized": "normalized", "keyValues": "keyValues", "simplified": "keyValues", "concise": "concise"
        }  # fmt: skip
        if fmt not in aliases:
            raise NgsiError(
                ErrorKind.INVALID_REQUEST,
                f"format: unknown {fmt!r} (normalized, keyValues, concise)",
            )
        representation = aliases[fmt]
    return representation, "sysAttrs" in chosen, chosen


def feature(entity: dict[str, Any], rendered: dict[str, Any], geoproperty: str) -> dict[str, Any]:
    """An entity as a GeoJSON Feature (clause 6.3.15): the geoproperty's value is the geometry."""
    geometry = None
    for instance in core_entities.instances(entity.get(geoproperty)):
        geometry = instance.get("value")
        break
    properties = {k: v for k, v in rendered.items() if k != "id"}
    return {"id": entity["id"], "type": "Feature", "geometry": geometry, "properties": properties}


def page_size(limit: int | None, count: bool) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if limit < 0 or (limit == 0 and not count):
        raise NgsiError(
            ErrorKind.BAD_REQUEST_DATA, "limit must be positive (0 only with count=true)"
        )
    if limit > MAX_LIMIT:
        raise NgsiError(ErrorKind.TOO_MANY_RESULTS, f"limit must be at most {MAX_LIMIT}")
    return limit


async def entities_response(
    platform: Platform,
    result: service.QueryResult,
    shape: Shape,
    accept: str,
    geoproperty: str | None,
    request: Request | None = None,
    page: tuple[int, int] | None = None,
) -> Response:
    headers = {media.COUNT_HEADER: str(result.count)} if result.count is not None else {}
    if page is not None and request is not None:
        offset, limit = page
        more = len(result.entities) > limit
        result = service.QueryResult(result.entities[:limit], result.count)
        links = media.page_links(request, offset=offset, limit=limit, more=more, media=accept)
        if links:
            headers["Link"] = links
    rendered = await run_blocking(
        render_all, result.entities, shape, partial(service.get_many, platform)
    )
    context = shape.context
    if accept == media.GEOJSON:
        prop = context.to_canonical(geoproperty) if geoproperty else "location"
        features = [feature(e, r, prop) for e, r in zip(result.entities, rendered, strict=False)]
        collection = {"type": "FeatureCollection", "features": features}
        return media.respond(collection, context, media.GEOJSON, headers=headers)
    return media.respond(rendered, context, accept, headers=headers)


def from_parameters(
    context: jsonld.Context,
    options: str | None,
    fmt: str | None,
    attrs: str | None,
    lang: str | None,
    pick: str | None,
    omit: str | None,
    join: str | None,
    join_level: int,
    dataset_id: str | None,
    contained_by: str | None = None,
) -> Shape:
    """How a retrieval or a query renders its entities, from its parameters (checked)."""
    chosen, sys_attrs, _ = representation(options, fmt)
    return Shape(
        context,
        chosen,
        sys_attrs,
        media.split_names(attrs, context),
        lang,
        _spec(pick, omit, attrs),
        join_kind(join),
        join_level,
        _datasets(dataset_id),
        ngsi_query_body.contained_by(contained_by),
    )


def join_kind(join: str | None) -> str | None:
    """`join` (clause 4.5.23): `flat` or `inline`, None for `@none` or absent."""
    if join is None or join == "@none":
        return None
    if join not in ("inline", "flat"):
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, "join: one of flat, inline, @none")
    return join


def _datasets(value: str | None) -> tuple[str | None, ...] | None:
    """`datasetId` (clause 4.5.5): the instances to keep; `@none` is the default instance."""
    if value is None:
        return None
    out: list[str | None] = []
    for item in media.split(value):
        if item == "@none":
            out.append(None)
        elif core_entities.is_uri(item):
            out.append(item)
        else:
            raise NgsiError(ErrorKind.BAD_REQUEST_DATA, f"datasetId: {item[:80]!r} is not a URI")
    return tuple(out)
