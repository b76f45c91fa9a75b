"""`/metrics`: the Prometheus text format, for staff (an API key with `read_internal` over the
whole platform; Prometheus sends it as `Authorization: Bearer …`). `HAKAMA_METRICS_PORT` serves
the same without sign-in on a port of its own (see `http.server`)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hakama.core.access import Action
from hakama.http.deps import ActorDep, PlatformDep
from hakama.services.access import require

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    operation_id="metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
def metrics(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
    """Request counts and latency per route, ingest counters and lag, staging and outbox depth,
    open alerts, broker losses, jobs' last successes."""
    require(platform, actor, Action.READ_INTERNAL, None)
    body = generate_latest(request.app.state.metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
