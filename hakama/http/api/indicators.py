"""`/api/indicators`, `/api/disparities`, `/api/alerts`: the indicator catalogue, values per area
and period (JSON or CSV), where communes lag behind, and the alerts of an area.

Internal indicators (`public: false`) are listed only to staff (an actor who may read internal
data in its own area). To anyone else they do not exist: asking for one answers **404**, the same
as an unknown id, so the API never tells the public which internal indicators there are. A staff
member of one commune asking for another commune's internal values gets 403 (they know it
exists). Values carry their `sample` and `quality`; public counts below the minimum cell size
come back as `null` with quality `suppressed` unless the caller is staff of that area.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from hakama.core.errors import Unauthorized
from hakama.core.indicators import LANGUAGES, IndicatorDefinition, IndicatorValue
from hakama.http.deps import ActorDep, PlatformDep
from hakama.http.problems import problem
from hakama.services import access, alerts, disparities, indicators, territory
from hakama.services.platform import Platform

router = APIRouter(prefix="/api/indicators", tags=["indicators"])
disparities_router = APIRouter(prefix="/api/disparities", tags=["indicators"])
alerts_router = APIRouter(prefix="/api/alerts", tags=["indicators"])
routers = [router, disparities_router, alerts_router]

Language = Literal["ar", "fr", "en"]
CSV_COLUMNS = (
    "indicator_id",
    "area_code",
    "grain",
    "period_start",
    "period_end",
    "value",
    "sample",
    "quality",
)


def _languages(values: Any, lang: str | None) -> dict[str, str]:
    mapping = {str(k): str(v) for k, v in dict(values).items()}
    if lang is None:
        return mapping
    return {lang: mapping.get(lang) or mapping.get("en") or next(iter(mapping.values()), "")}


def definition_json(platform: Platform, d: IndicatorDefinition, lang: str | None) -> dict[str, Any]:
    """What a client needs to read an indicator's values; `lang` keeps one language only."""
    latest = indicators.latest_period(platform, d.id)
    return {
        "id": d.id,
        "names": _languages(d.names, lang),
        "descriptions": _languages(d.descriptions, lang) if d.descriptions else {},
        "unit": d.unit,
        "theme": d.theme,
        "source": d.source,
        "measure": d.measure.kind.value,
        "grain": d.grain.value,
        "direction": d.direction.value,
        "target": d.target,
        "alert": {"above": d.alert.above, "below": d.alert.below} if d.alert else None,
        "min_sample": d.min_sample,
        "method": _languages(d.method, lang),
        "public": d.public,
        "in_composite": d.in_composite,
        "latest_period": latest.isoformat() if latest else None,
        "links": {
            "series": f"/api/indicators/{d.id}/series",
            "csv": f"/api/indicators/{d.id}/series?format=csv",
            "disparities": f"/api/indicators/{d.id}/disparities",
        },
    }


def value_json(v: IndicatorValue) -> dict[str, Any]:
    return {
        "area_code": v.area_code,
        "period_start": v.period_start.isoformat(),
        "period_end": v.grain.next_start(v.period_start).isoformat(),
        "value": v.value,
        "sample": v.sample,
        "quality": v.quality.value,
    }


def values_csv(values: list[IndicatorValue]) -> str:
    """The values as CSV with a header row (RFC 4180; empty cell for a missing value)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for v in values:
        writer.writerow(
            (
                v.indicator_id,
                v.area_code,
                v.grain.value,
                v.period_start.isoformat(),
                v.grain.next_start(v.period_start).isoformat(),
                "" if v.value is None else repr(float(v.value)),
                v.sample,
                v.quality.value,
            )
        )
    return out.getvalue()


@router.get("", operation_id="indicators_list")
def list_indicators(
    platform: PlatformDep,
    actor: ActorDep,
    lang: Annotated[
        Language | None, Query(description="One language only (ar, fr, en); all by default")
    ] = None,
    theme: Annotated[str | None, Query(max_length=64, description="Only this theme")] = None,
) -> dict[str, Any]:
    """The indicator catalogue: public indicators to everyone, internal ones to staff too."""
    staff = access.is_staff(platform, actor)
    found = [
        definition_json(platform, d, lang)
        for d in indicators.catalogue(platform)
        if (d.public or staff) and (theme is None or d.theme == theme)
    ]
    return {"languages": list(LANGUAGES) if lang is None else [lang], "indicators": found}


@router.get("/{indicator_id}", operation_id="indicators_get")
def get_indicator(
    platform: PlatformDep,
    actor: ActorDep,
    indicator_id: str,
    lang: Annotated[Language | None, Query(description="One language only (ar, fr, en)")] = None,
) -> dict[str, Any]:
    """One indicator's definition.

    An internal indicator answers 404 to anyone who is not staff, like an unknown id, so the
    public cannot learn which internal indicators exist.
    """
    return definition_json(platform, indicators.visible_definition(platform, actor, indicator_id), lang)


@router.get("/{indicator_id}/series", operation_id="indicators_series", response_model=None)
def get_series(
    platform: PlatformDep,
    actor: ActorDep,
    indicator_id: str,
    area: Annotated[
        str | None, Query(max_length=64, description="One area's code; every area by default")
    ] = None,
    date_from: Annotated[
        date | None, Query(alias="from", description="First period start, YYYY-MM-DD")
    ] = None,
    date_to: Annotated[
        date | None, Query(alias="to", description="Last period start, YYYY-MM-DD")
    ] = None,
    format: Annotated[
        Literal["json", "csv"], Query(description="`csv` for a table with a header row")
    ] = "json",
) -> Response:
    """Values per area and period, oldest first, each with its sample size and quality flag.

    Quality: `complete`, `partial_period` (the data does not cover the whole period),
    `too_few_observations` (sample below the definition's `min_sample`) or `suppressed` (a public
    count below the minimum cell size: value null, unless the caller is staff of that area).
    An internal indicator is 404 to non-staff (not 403: its existence is not disclosed); staff of
    another area get 403. `from`/`to` filter on period starts; `from` after `to` is 422.
    """
    d = indicators.visible_definition(platform, actor, indicator_id)
    if date_from and date_to and date_from > date_to:
        return problem(
            422,
            "Invalid request",
            "`from` is after `to`",
            errors=[{"loc": ["query", "from"], "msg": "after `to`"}],
        )
    values = indicators.series(
        platform, d.id, actor=actor, area=area, date_from=date_from, date_to=date_to
    )
    if format == "csv":
        return Response(
            values_csv(values),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{d.id}.csv"'},
        )
    return JSONResponse(
        {
            "indicator": d.id,
            "unit": d.unit,
            "grain": d.grain.value,
            "direction": d.direction.value,
            "target": d.target,
            "area": area,
            "from": date_from.isoformat() if date_from else None,
            "to": date_to.isoformat() if date_to else None,
            "values": [value_json(v) for v in values],
        }
    )


def _plain(result: Any) -> Any:
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        result = dataclasses.asdict(result)
    return jsonable_encoder(result)


@router.get(
    "/{indicator_id}/disparities", operation_id="indicators_disparities", response_model=None
)
def get_disparities(
    platform: PlatformDep,
    actor: ActorDep,
    indicator_id: str,
    period: Annotated[
        date | None, Query(description="Period start, YYYY-MM-DD; the latest by default")
    ] = None,
) -> Response:
    """Communes ranked for one period, their distance to the province and the target, and the
    dispersion across communes (coefficient of variation, Gini, max/min)."""
    d = indicators.visible_definition(platform, actor, indicator_id)
    return JSONResponse(
        _plain(disparities.for_period(platform, d.id, period_start=period, actor=actor))
    )


@disparities_router.get("/composite", operation_id="disparities_composite", response_model=None)
def get_composite(platform: PlatformDep, actor: ActorDep) -> Response:
    """The communes furthest behind across themes (the documented composite), with its inputs."""
    return JSONResponse(_plain(disparities.composite(platform, actor=actor)))


@alerts_router.get("", operation_id="alerts_list", response_model=None)
def list_alerts(
    platform: PlatformDep,
    actor: ActorDep,
    state: Annotated[Literal["open", "closed", "all"], Query(description="Which alerts")] = "open",
    area: Annotated[
        str | None, Query(max_length=64, description="Only this area (and below)")
    ] = None,
) -> Response:
    """Alerts of the caller's area (staff only): open by default."""
    if actor.kind == "anonymous":
        raise Unauthorized("sign in or present an API key to read alerts")
    if area is not None:
        territory.get_area(platform, area)
    found = alerts.list_alerts(platform, actor=actor, state=state, area=area)
    return JSONResponse({"state": state, "area": area, "alerts": [_plain(a) for a in found]})
