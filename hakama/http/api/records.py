"""`/api/records`: record types, the push API for the communes' systems, imports and their errors.

`POST /api/records/{type}` takes a batch of records (a JSON array, or `{"area_code": …,
"records": [...]}`) from an API key with the `write_data` scope, for the key's commune (or the
one named, inside the key's area). Records are identified by their type's key fields, so a
retried batch stores nothing twice. A batch with any invalid record stores nothing and answers
400 with every error (`?partial=true` keeps the valid ones). A body above
`HAKAMA_RECORDS_MAX_PUSH_MB` is refused with 413 as soon as it passes the limit (it is read in
chunks, never whole).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.exceptions import HTTPException

from hakama.core.access import Action
from hakama.core.errors import Invalid
from hakama.http.deps import ActorDep, CsrfDep, PlatformDep
from hakama.http.offload import run_blocking
from hakama.services import record_rows, records
from hakama.services.access import require

router = APIRouter(prefix="/api/records", tags=["records"])


@router.get("/types", operation_id="record_types")
def list_types(platform: PlatformDep) -> JSONResponse:
    """Record types: fields (type, code list, personal), and the fields identifying a record."""
    return JSONResponse(
        [
            {
                "id": t.id,
                "service": t.service,
                "names": dict(t.names),
                "key": list(t.key),
                "fields": [
                    {
                        "name": f.name,
                        "type": f.type.value,
                        "required": f.required or f.name in t.key,
                        "codes": list(f.codes),
                        "personal": f.personal,
                        "stored": f.stored,
                        "labels": dict(f.labels),
                    }
                    for f in t.fields
                ],
            }
            for t in records.types(platform)
        ]
    )


PUSH_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "description": "An array of records, or {area_code, records}.",
                "anyOf": [
                    {"type": "array", "items": {"type": "object"}},
                    {
                        "type": "object",
                        "properties": {
                            "area_code": {"type": "string"},
                            "records": {"type": "array", "items": {"type": "object"}},
                        },
                        "required": ["records"],
                    },
                ],
            }
        }
    },
}


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise Invalid("the body is not valid JSON") from None


async def bounded_body(request: Request, limit: int) -> bytes:
    """The request body, read chunk by chunk; 413 as soon as it passes `limit` bytes."""
    too_large = HTTPException(413, f"the body is larger than {limit // 1_048_576} MB")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/{record_type}", operation_id="push_records", openapi_extra={"requestBody": PUSH_BODY}
)
async def push(
    record_type: str,
    request: Request,
    platform: PlatformDep,
    actor: ActorDep,
    _: CsrfDep,
    partial: Annotated[bool, Query(description="Keep the valid records of a batch.")] = False,
) -> JSONResponse:
    """Store a batch of records (idempotent by the type's key fields)."""
    raw = await bounded_body(request, platform.settings.records_max_push_mb * 1_048_576)
    body = await run_blocking(_json, raw)  # up to the limit: not on the event loop
    area_code = actor.area_code
    rows = body
    if isinstance(body, dict):
        area_code = body.get("area_code") or area_code
        rows = body.get("records")
    if not isinstance(rows, list):
        raise Invalid("send a JSON array of records, or an object with `records`")
    if not isinstance(area_code, str) or not area_code:
        raise Invalid("name the commune: `area_code` (the key is not tied to one)")
    require(platform, actor, Action.WRITE_DATA, area_code)
    report = await run_blocking(
        lambda: record_rows.ingest_rows(
            platform,
            actor=actor,
            area_code=area_code,
            type_id=record_type,
            rows=rows,
            channel="push",
            source_name="api",
            partial=partial,
        )
    )
    body_out = report.as_dict()
    body_out.pop("preview", None)
    return JSONResponse(body_out)


@router.get("/imports", operation_id="record_imports")
def list_imports(
    platform: PlatformDep,
    actor: ActorDep,
    area: Annotated[str | None, Query(description="Only this commune.")] = None,
) -> JSONResponse:
    """Imports the caller may see (its area's), newest first."""
    require(platform, actor, Action.READ_INTERNAL, area or actor.area_code)
    found = records.list_imports(platform, actor=actor, area_code=area)
    return JSONResponse([r.as_dict() for r in found])


@router.get("/imports/{import_id}", operation_id="record_import")
def get_import(import_id: str, platform: PlatformDep, actor: ActorDep) -> JSONResponse:
    require(platform, actor, Action.READ_INTERNAL, actor.area_code)
    return JSONResponse(records.get_import(platform, actor=actor, import_id=import_id).as_dict())


@router.get("/imports/{import_id}/errors.csv", operation_id="record_import_errors")
def import_errors(import_id: str, platform: PlatformDep, actor: ActorDep) -> FileResponse:
    """Every rejected row of an import: line, column, value, code (stable), reason."""
    require(platform, actor, Action.READ_INTERNAL, actor.area_code)
    path = records.errors_csv(platform, actor=actor, import_id=import_id)
    return FileResponse(path, media_type="text/csv", filename=f"errors-{import_id[:12]}.csv")
