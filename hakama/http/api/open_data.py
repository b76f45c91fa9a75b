"""Open-data files and their administration: downloads (streamed from the last good build),
the build status of each dataset, an admin's rebuild and licence, an agent's public text for a
request (moderation), and the photos agents approved for publication."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from hakama.core.datasets import FORMATS
from hakama.core.errors import NotFound, Unauthorized
from hakama.http.deps import ActorDep, PlatformDep, require_csrf
from hakama.http.offload import run_blocking
from hakama.services import dataset_builds, datasets, request_media, request_publication

router = APIRouter(tags=["open data"])


async def _signed_in_and_csrf(request: Request, actor: ActorDep) -> None:
    if actor.kind == "anonymous":
        raise Unauthorized("sign in or present an API key")
    await require_csrf(request)


Staff = Annotated[None, Depends(_signed_in_and_csrf)]


@router.get("/data/{dataset_id}/download/{filename}", summary="A dataset's file (last good build)")
def download(platform: PlatformDep, dataset_id: str, filename: str) -> Response:
    d = datasets.get(platform, dataset_id)
    dist = next((x for x in d.distributions if x.filename == filename), None)
    if dist is None:
        raise NotFound(f"dataset {dataset_id} has no file {filename!r}")
    fmt = FORMATS[dist.format]
    media = (
        f"{fmt.media_type}; charset=utf-8"
        if dist.format in ("CSV", "JSON", "GeoJSON")
        else fmt.media_type
    )
    return FileResponse(
        dataset_builds.root(platform) / dist.path,
        media_type=media,
        filename=filename,
        headers={"Cache-Control": "public, max-age=300"},
    )


class DatasetStatus(BaseModel):
    id: str
    licence_id: str
    built_at: datetime | None
    attempted_at: datetime | None
    error: str | None = Field(
        description="Why the last build failed; the last good version is served."
    )
    rows: int | None


@router.get(
    "/api/open-data/datasets", response_model=list[DatasetStatus], operation_id="open_data_status"
)
def status(platform: PlatformDep) -> list[DatasetStatus]:
    """Every dataset hakama can publish and how its last build went."""
    states = dataset_builds.states(platform)
    out = []
    for s in dataset_builds.specs(platform):
        st = states.get(s.id)
        out.append(
            DatasetStatus(
                id=s.id,
                licence_id=(st.licence_id if st else None) or platform.settings.open_data_licence,
                built_at=st.built_at if st else None,
                attempted_at=st.attempted_at if st else None,
                error=st.error if st else None,
                rows=(st.manifest or {}).get("rows") if st else None,
            )
        )
    return out


class BuildOut(BaseModel):
    id: str
    ok: bool
    rows: int
    error: str | None


@router.post(
    "/api/open-data/datasets/{dataset_id}/build",
    response_model=BuildOut,
    operation_id="open_data_build",
)
async def rebuild(platform: PlatformDep, actor: ActorDep, _: Staff, dataset_id: str) -> BuildOut:
    """Rebuild one dataset now (admins of the territory)."""
    results = await run_blocking(dataset_builds.build, platform, dataset_id, actor=actor)
    r = results[0]
    return BuildOut(id=r.dataset_id, ok=r.ok, rows=r.rows, error=r.error)


class LicenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    licence_id: str = Field(max_length=64, examples=["cc-by-4.0"])


@router.put(
    "/api/open-data/datasets/{dataset_id}/licence",
    status_code=204,
    operation_id="open_data_licence",
)
def set_licence(
    platform: PlatformDep, actor: ActorDep, _: Staff, dataset_id: str, body: LicenceIn
) -> Response:
    """Set one dataset's licence (admins of the territory); audited."""
    dataset_builds.set_licence(platform, dataset_id, body.licence_id, actor=actor)
    return Response(status_code=204)


class PublicTextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=4000)
    photos: list[str] = Field(default_factory=list, max_length=5)


class PublicTextOut(BaseModel):
    request_id: str
    text: str
    photos: list[str]
    approved_at: datetime


@router.put(
    "/api/requests/{request_id}/public-text",
    response_model=PublicTextOut,
    operation_id="request_public_text",
)
def approve_text(
    platform: PlatformDep, actor: ActorDep, _: Staff, request_id: str, body: PublicTextIn
) -> PublicTextOut:
    """Approve a public text (and photos) for a request: what open data may say of it (agents)."""
    p = request_publication.approve(
        platform, request_id, text=body.text, photos=body.photos, actor=actor
    )
    return PublicTextOut(
        request_id=p.request_id,
        text=p.public_text,
        photos=list(p.photos),
        approved_at=p.approved_at,
    )


@router.delete(
    "/api/requests/{request_id}/public-text",
    status_code=204,
    operation_id="request_public_text_withdraw",
)
def withdraw_text(platform: PlatformDep, actor: ActorDep, _: Staff, request_id: str) -> Response:
    request_publication.withdraw(platform, request_id, actor=actor)
    return Response(status_code=204)


@router.get(
    "/media/public/{request_id}/{name}", summary="A photo an agent approved for publication"
)
def public_photo(platform: PlatformDep, request_id: str, name: str) -> Response:
    p = request_publication.get(platform, request_id)
    if p is None or name not in p.photos:
        raise NotFound("no such public photo")
    path, content_type = request_media.media_path(platform, name)
    return FileResponse(
        path, media_type=content_type, headers={"Cache-Control": "public, max-age=3600"}
    )
