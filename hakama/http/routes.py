"""Which routers the app serves, in order. A module listed here that does not exist yet is
skipped, so each piece of work adds its module without editing this file again."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "web" / "static"

#: Modules exposing `router` (an APIRouter), or `routers` (a list of them).
ROUTER_MODULES = (
    "hakama.http.api.health",
    "hakama.http.api.metrics",
    "hakama.http.api.territory",
    "hakama.http.api.admin",
    "hakama.http.api.ngsi_ld",
    "hakama.http.api.ngsi_ld_temporal",
    "hakama.http.api.ngsi_ld_subscriptions",
    "hakama.http.api.devices",
    "hakama.http.api.open311",
    "hakama.http.api.service_requests",
    "hakama.http.api.catalog",
    "hakama.http.api.indicators",
    "hakama.http.api.records",
    "hakama.http.api.ckan",
    "hakama.http.api.dcat",
    "hakama.http.api.open_data",
    "hakama.http.web.auth_pages",
    "hakama.http.web.portal",
    "hakama.http.web.notices",
    "hakama.http.web.backoffice",
    "hakama.http.web.records_pages",
    "hakama.http.web.comparisons",
    "hakama.http.web.dashboards",
    "hakama.http.web.data_pages",
    "hakama.http.web.communes",
    "hakama.http.web.reports",
    "hakama.http.web.pages",
    "hakama.http.web.tiles",
)


def routers() -> list[APIRouter]:
    found: list[APIRouter] = []
    for name in ROUTER_MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        module = importlib.import_module(name)
        if hasattr(module, "routers"):
            found.extend(module.routers)
        else:
            found.append(module.router)
    return found


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
