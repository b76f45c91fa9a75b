"""Record sources: a commune system's HTTP endpoint that hakama pulls records from, on a schedule.

A source answers JSON (an array, or an object whose `records`/`data`/`items`/`results` is the
array) or CSV, behind no auth, a header (`X-Api-Key: …`) or HTTP basic auth. hakama asks for
what is new since its cursor (`?<cursor_param>=<last value seen of cursor_field>`, a date or an
id) and follows the pages (`Link: <…>; rel="next"`, or a `next` URL in the JSON object). Each
page is validated like a file and stored in one transaction together with the cursor it moves
to, so a crash mid-pull loses nothing and repeats nothing. A page that fails (the endpoint is
down, answers garbage, or sends an invalid record) stores nothing: the source keeps its cursor,
and says why on its page and in `/health`, until a later pull succeeds.

A source's secret (the header's value, the basic-auth password) is stored sealed
(`storage.secret_box`, a key in the data folder's `secrets/`) and opened only to make a request:
no page, API answer, audit entry or log line shows it. A secret stored in clear by an older
version is sealed at its source's next pull.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import sqlalchemy as sa

from hakama.core.access import Action, Actor, Role, allowed
from hakama.core.clock import utcnow
from hakama.core.errors import Conflict, Forbidden, HakamaError, Invalid, NotFound
from hakama.core.records import NO_MAPPING, load_mapping
from hakama.services import audit, record_lake, record_rows, records, territory
from hakama.services.platform import Platform
from hakama.storage.schema_records import record_sources
from hakama.storage.secret_box import SecretBox

MAX_PAGES = 10_000
TIMEOUT = 30.0
ARRAY_KEYS = ("records", "data", "items", "results")
LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


@dataclass(frozen=True)
class Source:
    id: int
    name: str
    record_type: str
    area_code: str
    url: str
    format: str
    auth_kind: str
    cursor_field: str
    cursor_param: str
    cursor_value: str | None
    interval_minutes: int
    enabled: bool
    last_run_at: datetime | None
    last_ok_at: datetime | None
    last_error: str | None

    @property
    def failing(self) -> bool:
        return self.last_error is not None

    def due(self, now: datetime) -> bool:
        return self.enabled and (
            self.last_run_at is None
            or self.last_run_at + timedelta(minutes=self.interval_minutes) <= now
        )


@dataclass(frozen=True)
class PullReport:
    source: str
    pages: int
    rows: int
    inserted: int
    updated: int
    cursor: str | None
    error: str | None = None


def _row(r: Any) -> Source:
    return Source(
        id=r.id, name=r.name, record_type=r.record_type, area_code=r.area_code, url=r.url,
        format=r.format, auth_kind=(r.auth or {}).get("kind", "none"),
        cursor_field=r.cursor_field, cursor_param=r.cursor_param, cursor_value=r.cursor_value,
        interval_minutes=r.interval_minutes, enabled=r.enabled, last_run_at=r.last_run_at,
        last_ok_at=r.last_ok_at, last_error=r.last_error,
    )  # fmt: skip


def _check_manage(platform: Platform, actor: Actor, area_code: str) -> None:
    chain = territory.area_chain(platform, territory.get_area(platform, area_code).code)
    if not allowed(actor, Action.MANAGE_CATALOG, chain):
        raise Forbidden(f"{actor.label} may not manage record sources of {area_code}")


def add_source(
    platform: Platform,
    *,
    actor: Actor,
    name: str,
    record_type: str,
    area_code: str,
    url: str,
    format: str = "json",
    auth: Mapping[str, str] | None = None,
    cursor_field: str = "updated_at",
    cursor_param: str = "since",
    mapping_text: str = "",
    interval_minutes: int = 60,
) -> Source:
    """Declare a source (the operator or the commune's administrator)."""
    _check_manage(platform, actor, area_code)
    records.record_type(platform, record_type)
    if not NAME.fullmatch(name):
        raise Invalid("a source name is letters, digits, '.', '_' or '-' (at most 100)")
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise Invalid(f"the source URL must be http(s)://…, got {url!r}")
    if format not in ("json", "csv"):
        raise Invalid("format is json or csv")
    auth_spec = dict(auth or {"kind": "none"})
    kind = auth_spec.get("kind", "none")
    if kind == "header" and not (auth_spec.get("name") and auth_spec.get("value")):
        raise Invalid("header auth needs a header name and value")
    if kind == "basic" and not auth_spec.get("username"):
        raise Invalid("basic auth needs a username (and a password)")
    if kind not in ("none", "header", "basic"):
        raise Invalid("auth is none, header or basic")
    auth_spec = _sealed(SecretBox(platform.settings.secrets_dir), auth_spec)
    if mapping_text:
        load_mapping(mapping_text)
    if interval_minutes < 1:
        raise Invalid("interval_minutes is at least 1")
    with platform.db.begin() as conn:
        if conn.execute(
            sa.select(record_sources.c.id).where(record_sources.c.name == name)
        ).first():
            raise Conflict(f"a source named {name!r} exists")
        conn.execute(
            record_sources.insert().values(
                name=name,
                record_type=record_type,
                area_code=area_code,
                url=url,
                format=format,
                auth=auth_spec,
                cursor_field=cursor_field,
                cursor_param=cursor_param,
                mapping=mapping_text,
                interval_minutes=interval_minutes,
                enabled=True,
                created_at=utcnow(),
            )
        )
        audit.record(
            conn, actor=actor, action="records.source.add", resource=f"record_source:{name}",
            area_code=area_code,
            after={"url": url, "type": record_type, "format": format, "auth": kind,
                   "cursor": cursor_field},
        )  # fmt: skip
    return get_source(platform, name)


def get_source(platform: Platform, name: str) -> Source:
    with platform.db.connect() as conn:
        r = conn.execute(sa.select(record_sources).where(record_sources.c.name == name)).first()
    if r is None:
        raise NotFound(f"no record source {name!r}")
    return _row(r)


def list_sources(platform: Platform, *, actor: Actor | None = None) -> list[Source]:
    with platform.db.connect() as conn:
        rows = conn.execute(sa.select(record_sources).order_by(record_sources.c.name)).all()
    found = [_row(r) for r in rows]
    if actor is None:
        return found
    return [
        s
        for s in found
        if allowed(actor, Action.READ_INTERNAL, territory.area_chain(platform, s.area_code))
    ]


def due_sources(platform: Platform) -> list[Source]:
    now = utcnow()
    return [s for s in list_sources(platform) if s.due(now)]


def pull(
    platform: Platform, name: str, *, client: httpx.Client | None = None, max_pages: int = MAX_PAGES
) -> PullReport:
    """Pull what is new from a source, page by page; never raises for a failing source."""
    with platform.db.connect() as conn:
        raw = conn.execute(sa.select(record_sources).where(record_sources.c.name == name)).first()
    if raw is None:
        raise NotFound(f"no record source {name!r}")
    source = _row(raw)
    mapping = load_mapping(raw.mapping) if raw.mapping else None
    actor = Actor(kind="system", id=f"source:{name}", role=Role.AGENT, area_code=source.area_code)
    headers = {"Accept": "application/json" if source.format == "json" else "text/csv"}
    auth: httpx.BasicAuth | None = None
    box = SecretBox(platform.settings.secrets_dir)
    spec = dict(raw.auth or {})
    if any(name in spec for name in SECRET_FIELDS):  # stored in clear by an older version
        spec = _sealed(box, spec)
        with platform.db.begin() as conn:
            conn.execute(
                record_sources.update().where(record_sources.c.id == source.id).values(auth=spec)
            )
    own_client = client is None
    http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    cursor = source.cursor_value
    url: str | None = source.url
    params: dict[str, str] | None = {source.cursor_param: cursor} if cursor else None
    pages = rows_total = inserted = updated = 0
    seen_urls: set[str] = set()
    error: str | None = None
    try:
        if spec.get("kind") == "header":
            headers[str(spec["name"])] = box.open(str(spec["sealed_value"]))
        elif spec.get("kind") == "basic":
            password = box.open(str(spec["sealed_password"])) if "sealed_password" in spec else ""
            auth = httpx.BasicAuth(str(spec.get("username", "")), password)
        while url is not None and pages < max_pages:
            page_key = url + repr(params)
            if page_key in seen_urls:
                raise Invalid("the source's next page is one already read (a loop)")
            seen_urls.add(page_key)
            rows, next_url = _fetch(http, url, params, headers, auth, source.format)
            params = None  # a next link carries its own query
            if not rows:
                break
            new_cursor = _max_cursor(rows, source.cursor_field, cursor)

            def move(conn: sa.Connection, value: str | None = new_cursor) -> None:
                conn.execute(
                    record_sources.update()
                    .where(record_sources.c.id == source.id)
                    .values(cursor_value=value)
                )

            report = record_rows.ingest_rows(
                platform, actor=actor, area_code=source.area_code, type_id=source.record_type,
                rows=rows, channel="pull", source_name=name,
                mapping=mapping or NO_MAPPING, on_commit=move, sync=False,
            )  # fmt: skip
            cursor = new_cursor
            pages += 1
            rows_total += len(rows)
            inserted += report.inserted
            updated += report.updated
            url = urljoin(url, next_url) if next_url else None
    except HakamaError as exc:
        error = _first_errors(exc)
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {_short(str(exc))}"
    except (ValueError, csv.Error) as exc:
        error = (
            f"the source answered something that is not {source.format.upper()}: {_short(str(exc))}"
        )
    finally:
        if own_client:
            http.close()
    if pages:
        record_lake.sync_lake(platform)
    now = utcnow()
    with platform.db.begin() as conn:
        values: dict[str, Any] = {"last_run_at": now, "last_error": error}
        if error is None:
            values["last_ok_at"] = now
        conn.execute(
            record_sources.update().where(record_sources.c.id == source.id).values(**values)
        )
    return PullReport(name, pages, rows_total, inserted, updated, cursor, error)


SECRET_FIELDS = ("value", "password")  # of an auth spec: stored as sealed_value, sealed_password


def _sealed(box: SecretBox, spec: Mapping[str, str]) -> dict[str, str]:
    """The auth spec with its secret fields sealed (`value` → `sealed_value`…)."""
    out = {k: v for k, v in spec.items() if k not in SECRET_FIELDS}
    for name in SECRET_FIELDS:
        if spec.get(name):
            out[f"sealed_{name}"] = box.seal(str(spec[name]))
    return out


def _short(text: str) -> str:
    return text.splitlines()[0][:300] if text else ""


def _first_errors(exc: HakamaError) -> str:
    errors = exc.details.get("errors") or []
    shown = "; ".join(
        f"record {e['line']} {e['column']}: {e['reason']}"
        for e in errors[:3]
        if isinstance(e, dict)
    )
    return _short(exc.message + (f" ({shown})" if shown else ""))


def _fetch(
    http: httpx.Client,
    url: str,
    params: dict[str, str] | None,
    headers: dict[str, str],
    auth: httpx.BasicAuth | None,
    fmt: str,
) -> tuple[list[dict[str, Any]], str | None]:
    response = http.get(url, params=params, headers=headers, auth=auth)
    if response.status_code >= 400:
        raise httpx.HTTPStatusError(
            f"the source answered HTTP {response.status_code}",
            request=response.request,
            response=response,
        )
    link = LINK_NEXT.search(response.headers.get("link", ""))
    next_url = link.group(1) if link else None
    if fmt == "csv":
        text = response.content.decode(response.encoding or "utf-8")
        return [dict(r) for r in csv.DictReader(io.StringIO(text))], next_url
    body = response.json()
    if isinstance(body, list):
        return _objects(body), next_url
    if isinstance(body, dict):
        for key in ARRAY_KEYS:
            if isinstance(body.get(key), list):
                following = body.get("next")
                return _objects(body[key]), (following if isinstance(following, str) else next_url)
    raise ValueError("expected a JSON array of records, or an object with `records`")


def _objects(items: Sequence[Any]) -> list[dict[str, Any]]:
    if not all(isinstance(i, dict) for i in items):
        raise ValueError("every record must be a JSON object")
    return list(items)


def _max_cursor(rows: Sequence[Mapping[str, Any]], field: str, current: str | None) -> str | None:
    values = [str(r[field]) for r in rows if r.get(field) not in (None, "")]
    if current:
        values.append(current)
    if not values:
        return current
    if all(v.isdigit() for v in values):
        return max(values, key=int)
    return max(values)


def set_enabled(platform: Platform, *, actor: Actor, name: str, enabled: bool) -> Source:
    source = get_source(platform, name)
    _check_manage(platform, actor, source.area_code)
    with platform.db.begin() as conn:
        conn.execute(
            record_sources.update().where(record_sources.c.id == source.id).values(enabled=enabled)
        )
        audit.record(
            conn, actor=actor, action="records.source." + ("enable" if enabled else "disable"),
            resource=f"record_source:{name}", area_code=source.area_code,
        )  # fmt: skip
    return get_source(platform, name)


def health(platform: Platform) -> dict[str, Any]:
    """What `/health` says about record sources: how many, and which fail and why."""
    found = list_sources(platform)
    failing = [{"name": s.name, "error": s.last_error} for s in found if s.enabled and s.failing]
    return {"sources": len(found), "failing": failing}
