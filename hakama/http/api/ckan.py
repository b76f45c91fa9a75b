"""The CKAN action API (read side) at `/api/3/action/` and `/api/action/`, for harvesters and
the `ckanapi` client: the same catalogue as `/data` and DCAT, in CKAN's envelope.

Every answer is `{"help", "success", "result"}`; errors are `{"help", "success": false,
"error": {"__type", "message", <field>: [...]}}` with CKAN's status codes (400 bad request,
404 not found, 409 validation error). Parameters come from the query string (GET) or a JSON or
form body (POST, what ckanapi sends); actions only read, so no CSRF token is needed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

import hakama
from hakama.core.datasets import (
    FORMATS,
    LANGUAGES,
    LICENCES,
    THEMES,
    Dataset,
    Distribution,
    Frequency,
)
from hakama.core.errors import HakamaError, Invalid, NotFound
from hakama.core.territory import Area
from hakama.http.deps import platform_of
from hakama.http.offload import run_blocking
from hakama.http.problems import status_of, title_of
from hakama.services import datasets, datastore, territory
from hakama.services.platform import Platform

router = APIRouter(tags=["open data (CKAN)"])
CKAN_VERSION = "2.10.4"

Params = dict[str, Any]


class Context:
    """What an action needs: the platform, the base URL of links, the default language."""

    def __init__(self, platform: Platform, base_url: str) -> None:
        self.platform = platform
        self.base = base_url.rstrip("/")
        self.lang = platform.settings.default_language

    def download_url(self, dist: Distribution) -> str:
        return f"{self.base}/data/{dist.dataset_id}/download/{dist.filename}"


# Renderings -------------------------------------------------------------------------------------


def _iso(when: datetime | None) -> str | None:
    return when.replace(tzinfo=None).isoformat() if when else None


def resource_dict(ctx: Context, d: Dataset, dist: Distribution, position: int) -> dict[str, Any]:
    fmt = FORMATS[dist.format]
    return {
        "id": dist.id,
        "package_id": d.uuid,
        "name": f"{d.title(ctx.lang)} ({dist.format})",
        "description": d.description(ctx.lang),
        "format": dist.format,
        "mimetype": fmt.media_type,
        "url": ctx.download_url(dist),
        "url_type": None,
        "size": dist.size,
        "state": "active",
        "position": position,
        "created": _iso(d.issued),
        "last_modified": _iso(d.modified),
        "datastore_active": dist.tabular,
    }


def organization_dict(area: Area, lang: str, count: int = 0) -> dict[str, Any]:
    return {
        "id": area.code,
        "name": area.code,
        "title": area.name(lang),
        "display_name": area.name(lang),
        "title_translated": dict(area.names),
        "description": area.level.value,
        "type": "organization",
        "is_organization": True,
        "state": "active",
        "approval_status": "approved",
        "image_url": "",
        "package_count": count,
    }


def group_dict(theme_id: str, lang: str, count: int = 0) -> dict[str, Any]:
    theme = THEMES[theme_id]
    return {
        "id": theme.id,
        "name": theme.id,
        "title": theme.titles[lang],
        "display_name": theme.titles[lang],
        "title_translated": dict(theme.titles),
        "description": theme.uri,
        "type": "group",
        "is_organization": False,
        "state": "active",
        "approval_status": "approved",
        "image_url": "",
        "package_count": count,
    }


def package_dict(ctx: Context, d: Dataset) -> dict[str, Any]:
    lic = d.licence
    tags = d.all_keywords()
    resources = [resource_dict(ctx, d, dist, i) for i, dist in enumerate(d.distributions)]
    extras = {
        "frequency": Frequency.uri(d.frequency),
        "issued": _iso(d.issued),
        "modified": _iso(d.modified),
        "temporal_start": d.temporal[0].isoformat() if d.temporal else None,
        "temporal_end": d.temporal[1].isoformat() if d.temporal else None,
        "spatial": json.dumps(d.spatial) if d.spatial else None,
        "spatial_uri": d.spatial_code,
        "theme": json.dumps([THEMES[t].uri for t in d.themes if t in THEMES]),
        "language": json.dumps(list(LANGUAGES)),
        "build_status": "stale" if d.stale_error else "ok",
        "build_error": d.stale_error,
        "harvest_source": d.source,
    }
    return {
        "id": d.uuid,
        "name": d.id,
        "title": d.title(ctx.lang),
        "title_translated": dict(d.titles),
        "notes": d.description(ctx.lang),
        "notes_translated": dict(d.descriptions),
        "type": "dataset",
        "state": "active",
        "private": False,
        "url": d.external_url or f"{ctx.base}/data/{d.id}",
        "version": None,
        "author": None,
        "author_email": None,
        "maintainer": d.publisher_names.get(ctx.lang) or None,
        "maintainer_email": None,
        "license_id": lic.id,
        "license_title": lic.title,
        "license_url": lic.url,
        "isopen": lic.id in LICENCES,
        "metadata_created": _iso(d.issued),
        "metadata_modified": _iso(d.modified),
        "owner_org": d.publisher,
        "organization": {
            "id": d.publisher,
            "name": d.publisher,
            "title": d.publisher_names.get(ctx.lang, d.publisher),
            "type": "organization",
            "is_organization": True,
            "state": "active",
        },
        "groups": [
            {
                "id": t,
                "name": t,
                "title": THEMES[t].titles[ctx.lang],
                "display_name": THEMES[t].titles[ctx.lang],
            }
            for t in d.themes
            if t in THEMES
        ],
        "tags": [{"id": t, "name": t, "display_name": t, "state": "active"} for t in tags],
        "num_tags": len(tags),
        "resources": resources,
        "num_resources": len(resources),
        "extras": [{"key": k, "value": v} for k, v in extras.items() if v is not None],
        "relationships_as_object": [],
        "relationships_as_subject": [],
        **{
            k: v
            for k, v in extras.items()
            if v is not None and k in ("frequency", "temporal_start", "temporal_end")
        },
    }


class Encoded(str):
    """JSON text already encoded (a package rendered once per catalogue state), spliced as is."""


def rendered_package(ctx: Context, d: Dataset, snap: datasets.Snapshot) -> Encoded:
    """`package_dict` as JSON, rendered once per catalogue state, base URL and language."""
    key = (ctx.base, ctx.lang, d.id)
    found = snap.rendered.get(key)
    if found is None:
        found = snap.rendered[key] = Encoded(_json(package_dict(ctx, d)))
    return Encoded(found)


def _json(value: Any, depth: int = 0) -> str:
    """JSON of `value`; the first `depth` levels are walked so `Encoded` parts are spliced in."""
    if isinstance(value, Encoded):
        return str(value)
    if depth > 0 and isinstance(value, dict):
        return (
            "{"
            + ",".join(f"{json.dumps(str(k))}:{_json(v, depth - 1)}" for k, v in value.items())
            + "}"
        )
    if depth > 0 and isinstance(value, list):
        return "[" + ",".join(_json(v, depth - 1) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# Parameters --------------------------------------------------------------------------------------


def _int(params: Params, name: str, default: int, *, high: int | None = None) -> int:
    raw = params.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise Invalid(f"{name}: Invalid integer", field=name) from None
    if value < 0:
        raise Invalid(f"{name}: Must be a natural number", field=name)
    if high is not None and value > high:
        raise Invalid(f"{name}: Must be less than or equal to {high}", field=name)
    return value


def _required(params: Params, name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise Invalid(f"{name}: Missing value", field=name)
    return value


def _bool(params: Params, name: str) -> bool:
    value = params.get(name, False)
    return value is True or str(value).lower() in ("true", "1", "yes")


def _json_param(params: Params, name: str, default: Any) -> Any:
    value = params.get(name, default)
    if isinstance(value, str) and value and value[0] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            raise Invalid(f"{name}: Cannot parse JSON", field=name) from None
    return value


# Actions -----------------------------------------------------------------------------------------


def status_show(ctx: Context, _p: Params) -> Any:
    return {
        "site_title": "hakama",
        "site_url": ctx.base,
        "site_description": "Territorial open data",
        "ckan_version": CKAN_VERSION,
        "hakama_version": hakama.__version__,
        "error_emails_to": None,
        "locale_default": ctx.lang,
        "extensions": ["datastore", "dcat"],
    }


def package_list(ctx: Context, p: Params) -> Any:
    names = sorted(d.id for d in datasets.all_datasets(ctx.platform))
    limit = _int(p, "limit", len(names)) if "limit" in p else len(names)
    offset = _int(p, "offset", 0)
    return names[offset : offset + limit]


def package_show(ctx: Context, p: Params) -> Any:
    return package_dict(ctx, datasets.get(ctx.platform, _required(p, "id")))


def package_search(ctx: Context, p: Params) -> Any:
    rows = _int(p, "rows", 10, high=datasets.MAX_ROWS)
    start = _int(p, "start", 0)
    facet_fields = _json_param(p, "facet.field", [])
    if isinstance(facet_fields, str):
        facet_fields = [facet_fields]
    if not isinstance(facet_fields, list) or not all(isinstance(f, str) for f in facet_fields):
        raise Invalid("facet.field: a JSON list of field names", field="facet.field")
    sort = str(p.get("sort") or "score desc, metadata_modified desc")
    snap = datasets.snapshot(ctx.platform)
    result = datasets.search(
        ctx.platform,
        q=str(p.get("q") or ""),
        fq=str(p.get("fq") or ""),
        rows=rows,
        start=start,
        sort=sort,
        facet_fields=facet_fields,
        lang=ctx.lang,
    )
    return {
        "count": result.count,
        "sort": sort,
        "results": [rendered_package(ctx, d, snap) for d in result.results],
        "facets": result.facets,
        "search_facets": {
            f: {
                "title": f,
                "items": [{"name": k, "display_name": k, "count": n} for k, n in counts.items()],
            }
            for f, counts in result.facets.items()
        },
    }


def _areas(ctx: Context) -> list[Area]:
    return [
        a for a in territory.list_areas(ctx.platform) if a.level.value in ("province", "commune")
    ]


def _counts(ctx: Context, facet: str) -> dict[str, int]:
    return datasets.search(ctx.platform, rows=0, facet_fields=[facet]).facets[facet]


def organization_list(ctx: Context, p: Params) -> Any:
    if _bool(p, "all_fields"):
        counts = _counts(ctx, "organization")
        return [organization_dict(a, ctx.lang, counts.get(a.code, 0)) for a in _areas(ctx)]
    return [a.code for a in _areas(ctx)]


def organization_show(ctx: Context, p: Params) -> Any:
    wanted = _required(p, "id")
    area = next((a for a in _areas(ctx) if a.code == wanted), None)
    if area is None:
        raise NotFound(f"no organization {wanted!r}")
    found = datasets.search(ctx.platform, fq=f'organization:"{area.code}"', rows=datasets.MAX_ROWS)
    out = organization_dict(area, ctx.lang, found.count)
    if _bool(p, "include_datasets"):
        out["packages"] = [package_dict(ctx, d) for d in found.results]
    return out


def group_list(ctx: Context, p: Params) -> Any:
    if _bool(p, "all_fields"):
        counts = _counts(ctx, "groups")
        return [group_dict(t, ctx.lang, counts.get(t, 0)) for t in THEMES]
    return list(THEMES)


def group_show(ctx: Context, p: Params) -> Any:
    wanted = _required(p, "id")
    if wanted not in THEMES:
        raise NotFound(f"no group {wanted!r}")
    found = datasets.search(ctx.platform, fq=f"groups:{wanted}", rows=datasets.MAX_ROWS)
    out = group_dict(wanted, ctx.lang, found.count)
    if _bool(p, "include_datasets"):
        out["packages"] = [package_dict(ctx, d) for d in found.results]
    return out


def tag_list(ctx: Context, p: Params) -> Any:
    tags = sorted({t for d in datasets.all_datasets(ctx.platform) for t in d.all_keywords()})
    query = str(p.get("query") or p.get("q") or "").casefold()
    return [t for t in tags if query in t.casefold()]


def license_list(_ctx: Context, _p: Params) -> Any:
    return [
        {
            "id": lic.id,
            "title": lic.title,
            "url": lic.url,
            "od_conformance": lic.od_conformance,
            "osd_conformance": "not reviewed",
            "status": "active",
            "family": "",
            "is_generic": False,
        }
        for lic in LICENCES.values()
    ]


def resource_show(ctx: Context, p: Params) -> Any:
    d, dist = datasets.resource(ctx.platform, _required(p, "id"))
    return resource_dict(ctx, d, dist, d.distributions.index(dist))


def datastore_search(ctx: Context, p: Params) -> Any:
    resource_id = _required(p, "resource_id")
    filters = _json_param(p, "filters", {})
    q = _json_param(p, "q", "")
    fields = _json_param(p, "fields", None)
    if isinstance(fields, str):
        fields = [f.strip() for f in fields.split(",") if f.strip()]
    if fields is not None and (
        not isinstance(fields, list) or not all(isinstance(f, str) for f in fields)
    ):
        raise Invalid("fields: a list of column names", field="fields")
    if not isinstance(q, str | dict):
        raise Invalid("q: text or an object of column: text", field="q")
    limit = _int(p, "limit", datastore.DEFAULT_LIMIT, high=datastore.MAX_LIMIT)
    offset = _int(p, "offset", 0)
    sort = p.get("sort") or ""
    if not isinstance(sort, str):
        raise Invalid("sort: text like `column desc`", field="sort")
    page = datastore.search(
        ctx.platform,
        resource_id,
        filters=filters,
        q=q,
        limit=limit,
        offset=offset,
        sort=sort,
        fields=fields,
        include_total=not _bool(p, "include_total_false"),
    )
    base = f"/api/3/action/datastore_search?resource_id={resource_id}"
    return {
        "resource_id": resource_id,
        "fields": page.fields,
        "records": Encoded(page.records_json),
        "total": page.total,
        "limit": limit,
        "offset": offset,
        "filters": filters,
        "_links": {"start": base, "next": f"{base}&offset={offset + limit}"},
        "include_total": True,
        "records_format": "objects",
    }


ACTIONS: dict[str, Callable[[Context, Params], Any]] = {
    f.__name__: f
    for f in (
        status_show,
        package_list,
        package_show,
        package_search,
        organization_list,
        organization_show,
        group_list,
        group_show,
        tag_list,
        license_list,
        resource_show,
        datastore_search,
    )
}


# HTTP ----------------------------------------------------------------------------------------------


def _envelope(
    help_url: str, status: int, result: Any = None, error: Mapping[str, Any] | None = None
) -> Response:
    body: dict[str, Any] = {"help": help_url, "success": error is None}
    if error is None:
        body["result"] = result
    else:
        body["error"] = dict(error)
    return Response(_json(body, depth=3), status_code=status, media_type="application/json")


def _error(exc: HakamaError) -> tuple[int, dict[str, Any]]:
    if isinstance(exc, NotFound):
        return 404, {"__type": "Not Found Error", "message": f"Not found: {exc.message}"}
    if isinstance(exc, Invalid):
        field = str(exc.details.get("field") or "message")
        return 409, {"__type": "Validation Error", "message": exc.message, field: [exc.message]}
    if status_of(exc) == 403:
        return 403, {"__type": "Authorization Error", "message": exc.message}
    return status_of(exc), {"__type": title_of(exc), "message": exc.message}


async def _params(request: Request) -> Params:
    params: Params = dict(request.query_params)
    if request.method == "POST":
        kind = request.headers.get("content-type", "")
        body = await request.body()
        if body and kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        elif body:
            try:
                data = json.loads(body)
            except ValueError:
                raise Invalid("the body is not JSON", field="body") from None
            if not isinstance(data, dict):
                raise Invalid("the body must be a JSON object", field="body")
            params.update(data)
    return params


async def _action(request: Request, name: str) -> Response:
    help_url = f"{str(request.base_url).rstrip('/')}/api/3/action/help_show?name={name}"
    action = ACTIONS.get(name)
    if action is None:
        return _envelope(
            help_url,
            400,
            error={
                "__type": "Bad Request",
                "message": f"Bad request - Action name not known: {name}",
            },
        )
    try:
        params = await _params(request)
        ctx = Context(platform_of(request), str(request.base_url))
        result = await run_blocking(action, ctx, params)
    except HakamaError as exc:
        status, error = _error(exc)
        return _envelope(help_url, status, error=error)
    return _envelope(help_url, 200, result=result)


for prefix, suffix in (("/api/3/action", "v3"), ("/api/action", "v0")):
    for method in ("GET", "POST"):
        router.add_api_route(
            f"{prefix}/{{name}}",
            _action,
            methods=[method],
            operation_id=f"ckan_action_{suffix}_{method.lower()}",
            summary="CKAN action (package_search, package_show, datastore_search, …)",
        )
