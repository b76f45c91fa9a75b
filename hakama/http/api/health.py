"""`/health`: is the database reachable and current, is the lake readable."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from hakama.http.deps import platform_of
from hakama.http.offload import run_blocking
from hakama.services import health as service

router = APIRouter(tags=["health"])


@router.get("/health", operation_id="health")
async def health(request: Request) -> JSONResponse:
    """The state of the database and the lake; 503 ("degraded") when either is not usable or
    the last storage check (database integrity, audit chain, lake files) failed."""
    # No dependency and a limiter of its own: a probe never waits behind the threads that
    # heavy queries or a flood of ordinary requests hold (hakama.http.offload).
    limiter: anyio.CapacityLimiter = request.app.state.health_limiter
    body = await run_blocking(service.report, platform_of(request), limiter=limiter)
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)
