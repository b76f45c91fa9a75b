"""Open311 GeoReport v2 under `/open311/v2`: discovery, services, service definitions, POST and
GET requests, tokens — each in `.json` and `.xml`; errors in the spec's own format.

`jurisdiction_id` is an area code (a commune; a province lists the services its communes share).
Requests are placed in their commune from `lat`/`long`. POST needs an `api_key`: a hakama API key
(`hk_…`) or the public citizen-app key `PUBLIC_APP_KEY`. GET answers never carry personal data;
the description is shown only to callers who may read the commune's internals. Adding
`extensions=true` to GET adds `extended_attributes` (see docs/open311.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from hakama.core.access import Action, Actor, Role
from hakama.core.clock import utcnow
from hakama.core.errors import HakamaError, NotFound, Unauthorized
from hakama.core.languages import pick
from hakama.core.request_types import Service, parse_datetime
from hakama.core.requests import ServiceRequest, Status, open311_statuses
from hakama.http.api.open311_codec import FORMATS, FormError, error_response, parse_post, respond
from hakama.http.deps import PlatformDep, platform_of
from hakama.http.offload import run_blocking
from hakama.http.problems import status_of
from hakama.services import (
    request_filing,
    request_media,
    request_types,
    service_requests,
    territory,
)
from hakama.services.platform import Platform

router = APIRouter(prefix="/open311/v2", tags=["open311"])

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-25T00:00:00Z"
#: The key any citizen app may use to file requests (it is public by nature: it ships in apps).
PUBLIC_APP_KEY = "hakama-citizen-app"
DEFAULT_WINDOW = timedelta(days=90)
MAX_RESULTS = 1000
_ERROR_STATUS = {400: 400, 401: 403, 403: 403, 404: 404, 409: 400}


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise Open311Error(404, f"format {fmt[:20]!r} is not served; use .json or .xml")
    return fmt


async def answer(fmt: str, work: Callable[[], Response]) -> Response:
    """Run `work` off the event loop and turn every domain error into an Open311 error."""
    shown = fmt if fmt in FORMATS else "json"
    try:
        _format(fmt)
        return await run_blocking(work)
    except Open311Error as exc:
        return error_response(shown, exc.status, exc.description)
    except FormError as exc:
        return error_response(shown, 400, str(exc))
    except HakamaError as exc:
        return error_response(shown, _ERROR_STATUS.get(status_of(exc), 400), exc.message)


def _language(request: Request, platform: Platform) -> str:
    chosen = request.query_params.get("lang") or request.query_params.get("locale")
    if chosen and chosen[:2].lower() in ("ar", "fr", "en"):
        return chosen[:2].lower()
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip()[:2].lower()
        if tag in ("ar", "fr", "en"):
            return tag
    return platform.settings.default_language


def actor_for(request: Request, api_key: str | None = None) -> Actor:
    """The caller: the api_key given in the query/form, else what the auth middleware found."""
    platform = platform_of(request)
    key = api_key if api_key is not None else request.query_params.get("api_key")
    if key:
        if key == PUBLIC_APP_KEY:
            return Actor(
                kind="key",
                id="citizen-app",
                role=Role.CITIZEN,
                area_code=None,
                scopes=frozenset({Action.READ_PUBLIC, Action.SUBMIT_REQUEST}),
            )
        from hakama.services import keys

        try:
            return keys.actor_for_key(platform, key)
        except Unauthorized:
            raise Open311Error(403, "invalid api_key") from None
    from hakama.http.auth import resolve_actor

    return resolve_actor(request)


def _jurisdiction(request: Request, platform: Platform) -> str | None:
    code = request.query_params.get("jurisdiction_id") or None
    if code is not None:
        try:
            territory.get_area(platform, code)
        except NotFound:
            raise Open311Error(404, f"jurisdiction_id {code[:64]!r} is not served here") from None
    return code


# Discovery and services --------------------------------------------------------------------


@router.get("/discovery.{fmt}", operation_id="open311_discovery")
async def discovery(request: Request, fmt: str) -> Response:
    """Where the GeoReport v2 endpoint is and which formats it speaks (Open311 discovery)."""

    def work() -> Response:
        base = str(request.base_url).rstrip("/") + router.prefix + "/"
        body = {
            "changeset": CHANGESET,
            "contact": "The territory's administrators, through its hakama portal.",
            "key_service": f"Ask the administrators for an API key; citizen apps may use "
            f"api_key={PUBLIC_APP_KEY}.",
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": base,
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        }
        return respond(fmt, body, root="discovery")

    return await answer(fmt, work)


def _service_json(service: Service, language: str) -> dict[str, Any]:
    return {
        "service_code": service.code,
        "service_name": service.name(language),
        "description": service.description(language),
        "metadata": service.has_metadata,
        "type": "realtime",
        "keywords": ", ".join(service.keywords),
        "group": service.group or service.category,
    }


@router.get("/services.{fmt}", operation_id="open311_services")
async def services(request: Request, platform: PlatformDep, fmt: str) -> Response:
    """The services offered in `jurisdiction_id` (or every service, without one)."""

    def work() -> Response:
        language = _language(request, platform)
        area = _jurisdiction(request, platform)
        listed = request_types.list_services(platform, area_code=area)
        rows = [_service_json(s, language) for s in listed]
        return respond(fmt, rows, root="services", row="service")

    return await answer(fmt, work)


@router.get("/services/{service_code}.{fmt}", operation_id="open311_service_definition")
async def service_definition(
    request: Request, platform: PlatformDep, service_code: str, fmt: str
) -> Response:
    """The attributes a service asks for (Open311 service definition)."""

    def work() -> Response:
        language = _language(request, platform)
        area = _jurisdiction(request, platform)
        try:
            service = request_types.get_service(platform, service_code, area_code=area)
        except NotFound:
            raise Open311Error(404, f"service_code {service_code[:64]!r} not found") from None
        attributes = [
            {
                "variable": a.variable,
                "code": a.code,
                "datatype": a.datatype.value,
                "required": a.required,
                "datatype_description": pick(a.datatype_descriptions, language),
                "order": a.order,
                "description": a.description(language),
                "values": [{"key": v.key, "name": v.name(language)} for v in a.values],
            }
            for a in sorted(service.attributes, key=lambda a: a.order)
        ]
        body = {"service_code": service.code, "attributes": attributes}
        return respond(fmt, body, root="service_definition")

    return await answer(fmt, work)


# Requests -----------------------------------------------------------------------------------


def media_url(request: Request, item: str) -> str:
    """An absolute URL for a stored photo name (URLs given by clients are kept as they are)."""
    if request_media.is_stored_name(item):
        return str(request.base_url).rstrip("/") + f"{router.prefix}/media/{item}"
    return item


def _w3c(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


@dataclass(frozen=True)
class Names:
    """Services (by code) and departments (by stored name) named in the caller's language."""

    services: Mapping[str, str]
    departments: Mapping[str, str]

    @classmethod
    def of(cls, request: Request) -> Names:
        """The names for the language `request` asks for (`lang`, `locale`, Accept-Language)."""
        platform = platform_of(request)
        language = _language(request, platform)
        return cls(
            services=service_names(platform, language),
            departments=request_types.department_labels(platform, language),
        )


def request_json(
    request: Request,
    item: ServiceRequest,
    *,
    extensions: bool = False,
    now: datetime | None = None,
    names: Names | None = None,
) -> dict[str, Any]:
    """One request in the spec's fields (personal data never appears: it is not in `item`).

    `service_name` and `agency_responsible` are in the caller's language (`names`, looked up
    when not given); the extensions carry the department as stored (`department`).
    """
    named = names or Names.of(request)
    media = [media_url(request, m) for m in item.media]
    body: dict[str, Any] = {
        "service_request_id": item.id,
        "status": item.status.open311,
        "status_notes": item.status_notes,
        "service_name": named.services.get(item.service_code, item.service_name),
        "service_code": item.service_code,
        "description": item.description,
        "agency_responsible": named.departments.get(item.department, item.department),
        "service_notice": "",
        "requested_datetime": _w3c(item.requested_at),
        "updated_datetime": _w3c(item.updated_at),
        "expected_datetime": _w3c(item.expected_at),
        "address": item.address,
        "address_id": item.address_id,
        "zipcode": "",
        "lat": item.lat,
        "long": item.lon,
        "media_url": media[0] if media else "",
    }
    if extensions:
        body["extended_attributes"] = {
            "jurisdiction_id": item.area_code,
            "status_detail": item.status.value,
            "category": item.category,
            "media_urls": media,
            "language": item.language,
            "channel": item.channel,
            "department": item.department,
            "reopened": item.reopened,
            "merged_into": item.merged_into or "",
            "overdue": item.overdue(now or utcnow()),
            "resolved_datetime": _w3c(item.resolved_at),
            "closed_datetime": _w3c(item.closed_at),
        }
    return body


def service_names(platform: Platform, language: str) -> dict[str, str]:
    """Service names in `language`, by code (the widest definition of each code)."""
    return {s.code: s.name(language) for s in request_types.list_services(platform)}


def _date_param(request: Request, name: str) -> datetime | None:
    text = request.query_params.get(name)
    if not text:
        return None
    try:
        return parse_datetime(text, what=name)
    except ValueError as exc:
        raise Open311Error(400, str(exc)) from None


def _statuses(text: str) -> tuple[Status, ...]:
    out: list[Status] = []
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        try:
            out.extend(open311_statuses(part))
        except ValueError:
            try:
                out.append(Status(part))  # our finer statuses, as an extension
            except ValueError:
                raise Open311Error(
                    400, f"status must be open or closed, not {part[:20]!r}"
                ) from None
    return tuple(dict.fromkeys(out))


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise Open311Error(400, f"{name} must be a whole number") from None
    if not low <= value <= high:
        raise Open311Error(400, f"{name} must be between {low} and {high}")
    return value


@router.get("/requests.{fmt}", operation_id="open311_requests")
async def get_requests(request: Request, platform: PlatformDep, fmt: str) -> Response:
    """Requests by id (comma-separated), or by service, status and date window (default: the
    last 90 days, at most 1000, newest first)."""

    def work() -> Response:
        actor = actor_for(request)
        params = request.query_params
        extensions = params.get("extensions", "").lower() == "true"
        ids = tuple(i.strip() for i in params.get("service_request_id", "").split(",") if i.strip())
        if ids:
            if len(ids) > MAX_RESULTS:
                raise Open311Error(400, f"at most {MAX_RESULTS} service_request_id at once")
            filters = service_requests.RequestFilter(request_ids=ids)
            page_size, offset = MAX_RESULTS, 0
        else:
            area = _jurisdiction(request, platform)
            start = _date_param(request, "start_date")
            end = _date_param(request, "end_date")
            now = utcnow()
            if start is None and end is None:
                end, start = now, now - DEFAULT_WINDOW
            elif start is None:
                assert end is not None
                start = end - DEFAULT_WINDOW
            elif end is None:
                end = max(start + DEFAULT_WINDOW, start)
            if end < start:
                raise Open311Error(400, "end_date is before start_date")
            if end - start > DEFAULT_WINDOW:
                raise Open311Error(400, "start_date and end_date may not span more than 90 days")
            codes = tuple(c.strip() for c in params.get("service_code", "").split(",") if c.strip())
            filters = service_requests.RequestFilter(
                area_codes=(area,) if area else (),
                service_codes=codes,
                statuses=_statuses(params.get("status", "")),
                start=start,
                end=end,
            )
            page_size = _int_param(request, "page_size", MAX_RESULTS, 1, MAX_RESULTS)
            offset = (_int_param(request, "page", 1, 1, 1_000_000) - 1) * page_size
        page = service_requests.list_requests(
            platform, filters=filters, actor=actor, limit=page_size, offset=offset, with_total=False
        )
        now = utcnow()
        names = Names.of(request)
        rows = [
            request_json(request, r, extensions=extensions, now=now, names=names)
            for r in page.items
        ]
        return respond(fmt, rows, root="service_requests", row="request")

    return await answer(fmt, work)


@router.get("/requests/{service_request_id}.{fmt}", operation_id="open311_request")
async def get_request(
    request: Request, platform: PlatformDep, service_request_id: str, fmt: str
) -> Response:
    """One request, as a one-element list (as the spec shows it)."""

    def work() -> Response:
        actor = actor_for(request)
        try:
            item = service_requests.get_request(platform, service_request_id, actor=actor)
        except NotFound:
            raise Open311Error(
                404, f"service_request_id {service_request_id[:40]!r} not found"
            ) from None
        extensions = request.query_params.get("extensions", "").lower() == "true"
        rows = [request_json(request, item, extensions=extensions)]
        return respond(fmt, rows, root="service_requests", row="request")

    return await answer(fmt, work)


@router.get("/tokens/{token}.{fmt}", operation_id="open311_token")
async def get_token(request: Request, platform: PlatformDep, token: str, fmt: str) -> Response:
    """The request id a POST's token stands for."""

    def work() -> Response:
        try:
            found = service_requests.request_id_for_token(platform, token)
        except NotFound:
            raise Open311Error(404, "token not found") from None
        rows = [{"service_request_id": found, "token": token}]
        return respond(fmt, rows, root="service_requests", row="request")

    return await answer(fmt, work)


MAX_BODY = 64 * 1024


@router.post("/requests.{fmt}", operation_id="open311_create_request")
async def post_request(request: Request, platform: PlatformDep, fmt: str) -> Response:
    """File a request (form-encoded; `attribute[code]` answers; `api_key` required)."""
    shown = fmt if fmt in FORMATS else "json"
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return error_response(shown, 400, "send the request as application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > MAX_BODY:
        return error_response(shown, 400, f"the form is larger than {MAX_BODY // 1024} KB")
    from urllib.parse import parse_qsl

    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=400
        )
    except (UnicodeDecodeError, ValueError):
        return error_response(shown, 400, "the form is not valid UTF-8 form encoding")

    def work() -> Response:
        parsed = parse_post(pairs, default_language=platform.settings.default_language)
        actor = actor_for(request, parsed.api_key or "")
        if actor.kind == "anonymous":
            raise Open311Error(403, "api_key is required")
        filed = request_filing.file_request(
            platform,
            draft=parsed.draft,
            actor=actor,
            contact=None if parsed.contact.is_empty() else parsed.contact,
            idempotency_key=parsed.idempotency_key or request.headers.get("idempotency-key"),
        )
        item = filed.request
        notice = ""
        if item.expected_at is not None:
            local = item.expected_at.astimezone(ZoneInfo(platform.settings.timezone))
            notice = f"expected by {local.isoformat(timespec='minutes')}"
        if filed.replayed:
            notice = f"already filed with this idempotency key; {notice}"
        rows = [
            {
                "service_request_id": item.id,
                "token": filed.token,
                "service_notice": notice,
                "account_id": parsed.contact.account_id,
            }
        ]
        return respond(fmt, rows, root="service_requests", row="request")

    return await answer(fmt, work)


__all__ = ["PUBLIC_APP_KEY", "actor_for", "media_url", "request_json", "router"]
