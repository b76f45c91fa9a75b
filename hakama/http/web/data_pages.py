"""The open-data pages: `/data` (search the catalogue, facets) and `/data/{id}` (what a dataset
holds, a preview of its first rows, a chart over time when it has a time axis, its downloads,
its licence and the exact calls to fetch it with curl, Python or a CKAN client).

Both read the same services as the CKAN API (`services.datasets`, `services.datastore`), so a
page never shows what the API would not, and suppressed cells read the same: empty, flagged.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hakama.core.datasets import FORMATS, THEMES, Dataset
from hakama.core.errors import Invalid
from hakama.http.deps import PlatformDep
from hakama.http.web.render import page_language, render
from hakama.services import dataset_builds, datasets, datastore, territory
from hakama.services.platform import Platform
from hakama.storage.lake import open_duckdb

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 20
PREVIEW_ROWS = 10
CHART_POINTS = 400


def _facet_label(facet: str, value: str, lang: str, names: dict[str, str]) -> str:
    if facet == "groups" and value in THEMES:
        return THEMES[value].titles[lang]
    if facet == "organization":
        return names.get(value, value)
    return value


@router.get("/data", response_class=HTMLResponse)
def index(request: Request, platform: PlatformDep) -> HTMLResponse:
    """Search the catalogue by words and facets (theme, format, licence, keyword)."""
    lang = page_language(request)
    q = request.query_params.get("q", "")[:200]
    chosen = [(f, v) for f in datasets.FACETS for v in request.query_params.getlist(f) if v][:10]
    fq = " ".join(f'{f}:"{v}"' for f, v in chosen if '"' not in v)
    try:
        page = max(1, int(request.query_params.get("page", "1") or 1))
    except ValueError:
        page = 1
    try:
        result = datasets.search(
            platform,
            q=q,
            fq=fq,
            rows=PAGE_SIZE,
            start=(page - 1) * PAGE_SIZE,
            sort="score desc, title_string asc" if q else "title_string asc",
            facet_fields=datasets.FACETS,
            lang=lang,
        )
    except Invalid:
        result = datasets.search(platform, rows=PAGE_SIZE, facet_fields=datasets.FACETS, lang=lang)
    names = {a.code: a.name(lang) for a in territory.list_areas(platform)}
    return render(
        request,
        "data/index.html",
        result=result,
        q=q,
        chosen=chosen,
        page=page,
        pages=max(1, -(-result.count // PAGE_SIZE)),
        facet_label=lambda f, v: _facet_label(f, v, lang, names),
    )


def _chart(platform: Platform, d: Dataset) -> dict[str, Any] | None:
    """(x, y) points of the dataset's chart, computed over its Parquet file."""
    s = next((s for s in dataset_builds.specs(platform) if s.id == d.id), None)
    parquet = d.distribution("Parquet")
    if s is None or s.chart is None or parquet is None:
        return None
    x, y = s.chart
    path = dataset_builds.root(platform) / parquet.path
    conn = open_duckdb()
    try:
        rows = conn.execute(
            f"SELECT epoch(({x})::TIMESTAMP)::BIGINT AS x, ({y})::DOUBLE AS y FROM read_parquet('{path}') "
            f"GROUP BY 1 ORDER BY 1 LIMIT {CHART_POINTS}"
        ).fetchall()
    finally:
        conn.close()
    if len(rows) < 2:
        return None
    return {"x": [r[0] for r in rows], "y": [r[1] for r in rows]}


@router.get("/data/{dataset_id}", response_class=HTMLResponse)
def dataset(request: Request, platform: PlatformDep, dataset_id: str) -> HTMLResponse:
    """One dataset: description, preview, chart, downloads, licence and how to use it."""
    d = datasets.get(platform, dataset_id)
    preview = None
    tabular = d.distribution("CSV")
    if tabular is not None:
        preview = datastore.search(platform, tabular.id, limit=PREVIEW_ROWS)
    base = str(request.base_url).rstrip("/")
    return render(
        request,
        "data/dataset.html",
        d=d,
        preview=preview,
        chart=_chart(platform, d) if d.built and not d.source else None,
        base=base,
        csv=tabular,
        formats=FORMATS,
        themes=THEMES,
    )
