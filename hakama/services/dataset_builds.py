"""Building the open-data files: DuckDB straight from the lake, through the privacy gate.

A build writes a new version folder `<open-data>/<dataset>/<version>/` — Parquet first (one
streamed `COPY`), then the privacy wall scans its text columns, then CSV, JSON and GeoJSON are
written from that Parquet file, streamed by batches — and only then records the version as
current. A build that fails (a query error, a privacy finding, a full disk) leaves the last good
version in place and records why, which the catalogue shows.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import sqlalchemy as sa

from hakama.core import privacy
from hakama.core.access import Action, Actor, allowed
from hakama.core.clock import utcnow
from hakama.core.datasets import LICENCES
from hakama.core.errors import Forbidden, Invalid, NotFound
from hakama.core.territory import Area, Level
from hakama.services import audit, indicators, territory
from hakama.services.dataset_sources import open_sources
from hakama.services.dataset_specs import (
    BUILT_IN,
    BuildOptions,
    Spec,
    commune_spec,
    indicator_spec,
)
from hakama.services.platform import Platform
from hakama.storage.schema_open_data import open_datasets

log = logging.getLogger("hakama.open_data")

BATCH_ROWS = 65_536
#: Small row groups: a filtered read decompresses only the groups its rows are in (a page of
#: 1,000 rows of one commune reads ~16k rows of each column, not DuckDB's default ~123k).
ROW_GROUP_ROWS = 16_384


def specs(platform: Platform) -> list[Spec]:
    """Every dataset hakama can publish: the built-in ones, one per public indicator, and each
    commune's own slice of the tables that have one (published by the commune)."""
    found = list(BUILT_IN)
    found += [indicator_spec(d) for d in indicators.catalogue(platform) if d.public]
    if platform.settings.open_data_by_commune:
        found += _commune_specs(platform)
    return found


def _commune_specs(platform: Platform) -> list[Spec]:
    """The communes' slices, made again only when the territory changed (the catalogue's
    freshness check asks for the specs on every request)."""
    areas = territory.list_areas(platform)
    cached = platform.derived.commune_specs
    if cached is not None and cached[0] is areas:
        return cached[1]
    communes = [a for a in areas if a.level == Level.COMMUNE]
    made = [commune_spec(s, a.code, a.names) for s in BUILT_IN if s.by_commune for a in communes]
    platform.derived.commune_specs = (areas, made)
    return made


def spec(platform: Platform, dataset_id: str) -> Spec:
    found = next((s for s in specs(platform) if s.id == dataset_id), None)
    if found is None:
        raise NotFound(f"no dataset {dataset_id!r}", dataset=dataset_id)
    return found


def options(platform: Platform) -> BuildOptions:
    s = platform.settings
    return BuildOptions(min_cell=s.min_cell_count, h3_resolution=s.open_data_h3_resolution)


# Building ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildResult:
    dataset_id: str
    ok: bool
    rows: int = 0
    error: str | None = None
    skipped: bool = False  # the lake has none of what it needs yet


def root(platform: Platform) -> Path:
    return platform.settings.data_dir / "opendata"


def publisher(platform: Platform) -> Area | None:
    """Who publishes the catalogue: the province (else the territory's root area)."""
    areas = territory.list_areas(platform)
    provinces = [a for a in areas if a.level.value == "province"]
    roots = provinces or territory.root_areas(platform)
    return roots[0] if roots else None


def check_manage(platform: Platform, actor: Actor) -> None:
    """Only an admin of the whole territory (or the system) rebuilds or relicenses datasets."""
    pub = publisher(platform)
    chain = territory.area_chain(platform, pub.code) if pub else ()
    if actor.kind != "system" and not allowed(actor, Action.MANAGE_CATALOG, chain):
        raise Forbidden(f"{actor.label} may not manage the open-data catalogue")


def build(platform: Platform, dataset_id: str | None = None, *, actor: Actor) -> list[BuildResult]:
    """Build one dataset, or all; each failure is recorded and the last good version kept."""
    check_manage(platform, actor)
    chosen = [spec(platform, dataset_id)] if dataset_id else specs(platform)
    results: list[BuildResult] = []
    with open_sources(platform) as conn:
        present = set(platform.lake.datasets())
        for s in chosen:
            if any(need not in present for need in s.needs) or not _open_parent(platform, conn, s):
                results.append(BuildResult(s.id, ok=False, skipped=True, error="no data yet"))
                continue
            results.append(_build_one(platform, conn, s))
    if actor.kind != "system" and dataset_id:
        with platform.db.begin() as tx:
            audit.record(
                tx,
                actor=actor,
                action="dataset.build",
                resource=f"dataset:{dataset_id}",
                after={"ok": results[0].ok, "error": results[0].error},
            )
    return results


def _open_parent(platform: Platform, conn: duckdb.DuckDBPyConnection, s: Spec) -> bool:
    """For a slice, `parent_table` = the parent's current Parquet file (False: none yet)."""
    if s.parent is None:
        return True
    state = states(platform).get(s.parent)
    if state is None or state.version is None:
        return False
    path = file_path(platform, s.parent, state.version, f"{s.parent}.parquet")
    conn.execute(f"CREATE OR REPLACE TEMP VIEW parent_table AS SELECT * FROM read_parquet('{path}')")
    return True


def _build_one(platform: Platform, conn: duckdb.DuckDBPyConnection, s: Spec) -> BuildResult:
    version = f"{utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    folder = root(platform) / s.id / version
    now = utcnow()
    try:
        manifest = write_distributions(conn, s, options(platform), folder)
    except Exception as exc:  # a failed build must never take the others (or the server) down
        shutil.rmtree(folder, ignore_errors=True)
        error = f"{type(exc).__name__}: {exc}"[:2000]
        log.warning("dataset %s: build failed, keeping the last good version: %s", s.id, error)
        _save_state(platform, s.id, attempted_at=now, error=error)
        return BuildResult(s.id, ok=False, error=error)
    if manifest["rows"] == 0 and s.id not in states(platform):
        shutil.rmtree(folder.parent, ignore_errors=True)  # nothing to say yet: not published
        return BuildResult(s.id, ok=False, skipped=True, error="no data yet")
    previous = _save_state(
        platform,
        s.id,
        attempted_at=now,
        error=None,
        version=version,
        manifest=manifest,
        built_at=now,
    )
    _prune(root(platform) / s.id, keep={version, previous} - {None})
    return BuildResult(s.id, ok=True, rows=int(manifest["rows"]))


def _prune(folder: Path, keep: set[str | None]) -> None:
    """Drop versions older than the current and the previous one (a download may still read it)."""
    for child in folder.iterdir():
        if child.is_dir() and child.name not in keep:
            shutil.rmtree(child, ignore_errors=True)


def _save_state(platform: Platform, dataset_id: str, **values: Any) -> str | None:
    with platform.db.begin() as conn:
        row = conn.execute(sa.select(open_datasets).where(open_datasets.c.id == dataset_id)).first()
        if row is None:
            if "version" in values:
                values["issued_at"] = values["built_at"]
            conn.execute(open_datasets.insert().values(id=dataset_id, **values))
            return None
        conn.execute(
            open_datasets.update().where(open_datasets.c.id == dataset_id).values(**values)
        )
        previous: str | None = row.version
        return previous


def write_distributions(
    conn: duckdb.DuckDBPyConnection,
    s: Spec,
    o: BuildOptions,
    folder: Path,
    *,
    formats: Sequence[str] = ("Parquet", "CSV", "JSON", "GeoJSON"),
) -> dict[str, Any]:
    """Write the dataset's files into `folder` (Parquet, then the gate, then the others)."""
    query = s.query(o)
    described = conn.execute(f"DESCRIBE {query}").fetchall()
    columns = [(str(r[0]), str(r[1])) for r in described]
    privacy.check_columns(s.id, [c for c, _t in columns])
    folder.mkdir(parents=True, exist_ok=True)
    parquet = folder / f"{s.id}.parquet"
    conn.execute(
        f"COPY ({query}) TO '{parquet}' "
        f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_ROWS})"
    )
    _privacy_wall(conn, s.id, parquet, columns)
    source = f"read_parquet('{parquet}')"
    files = {"Parquet": parquet}
    if "CSV" in formats:
        files["CSV"] = folder / f"{s.id}.csv"
        csv_columns = ", ".join(f'"{c}"' for c, _t in columns if c != "geometry")
        conn.execute(
            f"COPY (SELECT {csv_columns} FROM {source}) TO '{files['CSV']}' "
            "(FORMAT csv, HEADER true, DELIMITER ',', TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%SZ')"
        )
    if "JSON" in formats:
        files["JSON"] = folder / f"{s.id}.json"
        conn.execute(
            f"COPY (SELECT * FROM {source}) TO '{files['JSON']}' (FORMAT json, ARRAY true)"
        )
    if s.geometry and "GeoJSON" in formats:
        files["GeoJSON"] = folder / f"{s.id}.geojson"
        _write_geojson(conn, parquet, files["GeoJSON"], s.geometry)
    rows = pq.ParquetFile(parquet).metadata.num_rows
    coverage = None
    if s.time_column and rows:
        low, high = conn.execute(
            f"SELECT min({s.time_column})::DATE, max({s.time_column})::DATE FROM {source}"
        ).fetchone() or (None, None)
        if low is not None and high is not None:
            coverage = [low.isoformat(), high.isoformat()]
    return {
        "rows": rows,
        "columns": [{"name": c, "type": t} for c, t in columns],
        "temporal": coverage,
        "files": {
            fmt: {"name": path.name, "size": path.stat().st_size} for fmt, path in files.items()
        },
    }


def _privacy_wall(
    conn: duckdb.DuckDBPyConnection,
    dataset_id: str,
    parquet: Path,
    columns: Sequence[tuple[str, str]],
) -> None:
    """Scan every text column of the built file for phones, e-mails and CIN numbers.

    One pass: each row's texts joined by a control character (no pattern crosses it) against
    one alternation of the patterns; only when something is found are the columns and kinds
    told apart, to say what was refused.
    """
    texts = [c for c, t in columns if t == "VARCHAR" and c not in ("geometry", "h3_cell")]
    if not texts:
        return
    source = f"read_parquet('{parquet}')"
    joined = "concat_ws(chr(1), " + ", ".join(f"coalesce(\"{c}\", '')" for c in texts) + ")"
    anything = "|".join(f"(?:{p})" for p in privacy.PATTERNS.values())
    found = conn.execute(
        f"SELECT count(*) FROM {source} WHERE regexp_matches({joined}, {_literal(anything)})"
    ).fetchone()
    if not found or not found[0]:
        return
    for column in texts:
        for kind, pattern in privacy.PATTERNS.items():
            hits = conn.execute(
                f'SELECT count(*) FROM {source} WHERE regexp_matches("{column}", {_literal(pattern)})'
            ).fetchone()
            if hits and hits[0]:
                raise privacy.PrivacyViolation(
                    f"{dataset_id}.{column}: {hits[0]} value(s) look like a {kind}; nothing published"
                )
    raise privacy.PrivacyViolation(
        f"{dataset_id}: {found[0]} row(s) look personal; nothing published"
    )


def _literal(text: str) -> str:
    """A SQL string literal of one of our own constant patterns (compiled once by DuckDB)."""
    return "'" + text.replace("'", "''") + "'"


def json_value_sql(column: str, kind: str) -> str:
    """SQL for a column as it should read in JSON: instants in ISO 8601 UTC, no NaN."""
    quoted = f'"{column}"'
    if kind.startswith("TIMESTAMP"):
        return f"strftime({quoted}, '%Y-%m-%dT%H:%M:%SZ') AS {quoted}"
    if kind in ("DOUBLE", "FLOAT"):
        return f"CASE WHEN isfinite({quoted}) THEN {quoted} END AS {quoted}"
    return quoted


def _write_geojson(conn: duckdb.DuckDBPyConnection, parquet: Path, target: Path, kind: str) -> None:
    """A FeatureCollection: DuckDB writes each feature's JSON, streamed out batch by batch."""
    source = f"read_parquet('{parquet}')"
    types = {
        str(r[0]): str(r[1]) for r in conn.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    }
    if kind == "point":
        geometry = (
            "CASE WHEN lat IS NULL OR lon IS NULL THEN NULL ELSE "
            "json_object('type', 'Point', 'coordinates', json_array(lon, lat)) END"
        )
    else:
        geometry = "json(geometry)"
    cursor = conn.execute(
        f"SELECT json_object('type', 'Feature', 'geometry', {geometry}, "
        f"'properties', json_object({_pairs(types)}))::VARCHAR FROM {source}"
    )
    tmp = target.with_name(f".{target.name}.tmp")
    with tmp.open("w", encoding="utf-8") as out:
        out.write('{"type":"FeatureCollection","features":[')
        first = True
        while rows := cursor.fetchmany(BATCH_ROWS):
            out.write(("" if first else ",") + ",".join(r[0] for r in rows))
            first = False
        out.write("]}")
    tmp.replace(target)


def _pairs(types: dict[str, str]) -> str:
    """`'name', value, …` for json_object: every column but the geometry, JSON-ready."""
    parts = []
    for column, kind in types.items():
        if column == "geometry":
            continue
        value = json_value_sql(column, kind).rsplit(" AS ", 1)[0]
        parts.append(f"'{column}', {value}")
    return ", ".join(parts)


# State ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildState:
    dataset_id: str
    licence_id: str | None
    version: str | None
    manifest: dict[str, Any] | None
    issued_at: datetime | None
    built_at: datetime | None
    attempted_at: datetime | None
    error: str | None


def states(platform: Platform) -> dict[str, BuildState]:
    with platform.db.connect() as conn:
        rows = conn.execute(sa.select(open_datasets)).all()
    return {
        r.id: BuildState(
            r.id,
            r.licence_id,
            r.version,
            r.manifest,
            r.issued_at,
            r.built_at,
            r.attempted_at,
            r.error,
        )
        for r in rows
    }


def file_path(platform: Platform, dataset_id: str, version: str, name: str) -> Path:
    return root(platform) / dataset_id / version / name


def set_licence(platform: Platform, dataset_id: str, licence_id: str, *, actor: Actor) -> None:
    """An admin's licence for one dataset (audited)."""
    check_manage(platform, actor)
    spec(platform, dataset_id)
    if licence_id not in LICENCES:
        raise Invalid(
            f"unknown licence {licence_id!r}; one of: {', '.join(LICENCES)}", licence=licence_id
        )
    with platform.db.begin() as conn:
        row = conn.execute(
            sa.select(open_datasets.c.licence_id).where(open_datasets.c.id == dataset_id)
        ).first()
        if row is None:
            conn.execute(open_datasets.insert().values(id=dataset_id, licence_id=licence_id))
        else:
            conn.execute(
                open_datasets.update()
                .where(open_datasets.c.id == dataset_id)
                .values(licence_id=licence_id)
            )
        audit.record(
            conn,
            actor=actor,
            action="dataset.licence",
            resource=f"dataset:{dataset_id}",
            before={"licence": row.licence_id if row else None},
            after={"licence": licence_id},
        )
