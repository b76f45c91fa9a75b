"""Which routers the app serves, in order, imported by name."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from hakama.http.api import (
    admin,
    ckan,
    dcat,
    devices,
    health,
    indicators,
    metrics,
    ngsi_ld,
    ngsi_ld_subscriptions,
    ngsi_ld_temporal,
    open311,
    open_data,
    records,
    service_requests,
    territory,
)
from hakama.http.web import (
    auth_pages,
    backoffice,
    communes,
    comparisons,
    dashboards,
    data_pages,
    notices,
    pages,
    portal,
    records_pages,
    reports,
    request_types_editor,
    tiles,
    tracking,
)

STATIC = Path(__file__).parent / "web" / "static"


def routers() -> list[APIRouter]:
    return [
        health.router,
        metrics.router,
        territory.router,
        admin.router,
        *ngsi_ld.routers,
        ngsi_ld_temporal.router,
        ngsi_ld_subscriptions.router,
        devices.router,
        open311.router,
        service_requests.router,
        *indicators.routers,
        records.router,
        ckan.router,
        dcat.router,
        open_data.router,
        auth_pages.router,
        portal.router,
        tracking.router,
        notices.router,
        backoffice.router,
        request_types_editor.router,
        records_pages.router,
        comparisons.router,
        dashboards.router,
        data_pages.router,
        communes.router,
        reports.router,
        pages.router,
        tiles.router,
    ]


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
