"""Computing, storing and reading indicators per area and period.

`compute` is incremental: it compares the lake's files with those the stored values were
computed from, and recomputes only the periods of the days whose files changed (the lake is
partitioned by the UTC day of each row's time, so a file's folder names its day exactly).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa

from hakama.analytics.compiler import Scope, compile_definition
from hakama.analytics.engines import Engine, open_engine
from hakama.core.access import Action, Actor, allowed
from hakama.core.clock import utcnow
from hakama.core.errors import Forbidden, Invalid, NotFound
from hakama.core.indicators import (
    Grain,
    IndicatorDefinition,
    IndicatorValue,
    MeasureKind,
    Quality,
    load_catalogue,
    quality_of,
)
from hakama.core.territory import Area
from hakama.services import access, territory
from hakama.services.platform import Platform
from hakama.storage.schema_indicators import indicator_inputs, indicator_state, indicator_values

BUILT_IN = Path(__file__).resolve().parents[1] / "analytics" / "definitions"
DAY_FOLDER = re.compile(r"day=(\d{4}-\d{2}-\d{2})")
COUNT_LIKE = {MeasureKind.COUNT, MeasureKind.RATE_PER_10K, MeasureKind.DISTINCT_COUNT}

Progress = Callable[[str, int, int], None]


def catalogue(platform: Platform) -> list[IndicatorDefinition]:
    """The built-in definitions and the operator's own (`indicators/*.yaml` in the data folder)."""
    cached = platform.derived.indicator_catalogue
    if cached is None:
        cached = load_catalogue([BUILT_IN, platform.settings.user_indicators_dir])
        platform.derived.indicator_catalogue = cached
    return cached


def definition(platform: Platform, indicator_id: str) -> IndicatorDefinition:
    found = next((d for d in catalogue(platform) if d.id == indicator_id), None)
    if found is None:
        raise NotFound(f"no indicator {indicator_id!r}", indicator=indicator_id)
    return found


def visible_definition(platform: Platform, actor: Actor, indicator_id: str) -> IndicatorDefinition:
    """The definition, or NotFound when it does not exist or is internal and the actor is not
    staff: the public never learns which internal indicators exist."""
    d = definition(platform, indicator_id)
    if not d.public and not access.is_staff(platform, actor):
        raise NotFound(f"no indicator {indicator_id!r}", indicator=indicator_id)
    return d


def can_read(actor: Actor, d: IndicatorDefinition, area_chain: Sequence[str]) -> bool:
    return d.public or allowed(actor, Action.READ_INTERNAL, area_chain)


@dataclass(frozen=True)
class Group:
    """A parent area and the communes whose rows it sums."""

    parent: Area
    children: list[Area]

    def populations(self) -> dict[str, int]:
        pops = {a.code: _population(a) for a in self.children}
        pops[self.parent.code] = _population(self.parent) or sum(pops.values())
        return pops


def _population(area: Area) -> int:
    latest = area.latest_population()
    return latest[1] if latest else 0


def groups(platform: Platform) -> list[Group]:
    """Each parent of communes with outlines (a province), with those communes."""
    areas = territory.list_areas(platform)
    by_code = {a.code: a for a in areas}
    children: dict[str, list[Area]] = {}
    parents_of_outlined = {a.parent_code for a in areas if a.geometry}
    for area in areas:
        if (
            area.parent_code
            and area.code not in parents_of_outlined
            and area.parent_code in by_code
        ):
            children.setdefault(area.parent_code, []).append(area)
    return [Group(by_code[p], kids) for p, kids in sorted(children.items())]


@dataclass
class ComputeReport:
    engine: str
    indicators: int = 0
    skipped: int = 0
    values: int = 0
    seconds: float = 0.0
    periods: dict[str, int] = field(default_factory=dict)  # indicator → periods recomputed


def _lake_files(platform: Platform, dataset: str) -> dict[str, tuple[int, int]]:
    """The dataset's files, relative to the lake root, with their size and mtime."""
    files: dict[str, tuple[int, int]] = {}
    for path in platform.lake.files(dataset):
        try:
            st = path.stat()
        except FileNotFoundError:  # compacted away while listing
            continue
        files[str(path.relative_to(platform.lake.root))] = (st.st_size, st.st_mtime_ns)
    return files


def _changed_days(
    current: dict[str, tuple[int, int]], stored: dict[str, tuple[int, int]]
) -> set[date]:
    """Days whose files appeared, changed or went away since the last computation."""
    days: set[date] = set()
    for path in set(current) | set(stored):
        if current.get(path) != stored.get(path):
            m = DAY_FOLDER.search(path)
            if m:
                days.add(date.fromisoformat(m.group(1)))
    return days


def _touched_periods(d: IndicatorDefinition, days: set[date]) -> list[date]:
    """The periods to recompute: those of the changed days, and the period before each, whose
    quality flag changes when new data starts a new period (it stops being the partial one)."""
    periods: set[date] = set()
    for day in days:
        periods.add(d.grain.start_of(day))
        periods.add(d.grain.start_of(day - timedelta(days=1)))
    return sorted(periods)


def compute(
    platform: Platform,
    *,
    engine: str | Engine = "duckdb",
    full: bool = False,
    only: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> ComputeReport:
    """Compute (or bring up to date) every indicator for every area and period."""
    if isinstance(engine, str):
        with open_engine(engine, platform.lake, platform.settings) as opened:
            return compute(platform, engine=opened, full=full, only=only, progress=progress)
    # Compaction swaps a day's files: the shared lock keeps it waiting while the engine reads,
    # so no day is read twice (or missed) in the middle of a swap.
    with platform.lake.lock(exclusive=False):
        return _compute(platform, engine, full=full, only=only, progress=progress)


def _compute(
    platform: Platform,
    engine: Engine,
    *,
    full: bool,
    only: Sequence[str] | None,
    progress: Progress | None,
) -> ComputeReport:
    started = time.perf_counter()
    definitions = [d for d in catalogue(platform) if only is None or d.id in only]
    if only:
        unknown = set(only) - {d.id for d in definitions}
        if unknown:
            raise NotFound(f"unknown indicator(s): {', '.join(sorted(unknown))}")
    report = ComputeReport(engine=engine.name)
    datasets = sorted({d.source for d in definitions})
    current = {ds: _lake_files(platform, ds) for ds in datasets}
    with platform.db.connect() as conn:
        stored: dict[str, dict[str, tuple[int, int]]] = {}
        for r in conn.execute(
            sa.select(indicator_inputs).where(
                indicator_inputs.c.indicator_id.in_([d.id for d in definitions])
            )
        ):
            stored.setdefault(r.indicator_id, {})[r.path] = (r.size, r.mtime_ns)
        computed_before = {
            r.indicator_id: r.definition_hash for r in conn.execute(sa.select(indicator_state))
        }
    coverage = {ds: _coverage(platform, ds) for ds in datasets}
    area_groups = groups(platform)
    for number, d in enumerate(definitions, start=1):
        if progress:
            progress(d.id, number, len(definitions))
        files = current[d.source]
        if not files or not engine.has(d.source):
            report.skipped += 1
            continue
        # A new or edited definition is computed whole; otherwise only the touched periods.
        whole = full or computed_before.get(d.id) != definition_hash(d)
        periods = None if whole else _touched_periods(d, _changed_days(files, stored.get(d.id, {})))
        if periods == []:
            report.skipped += 1
            continue
        rows = _compute_one(platform, engine, d, area_groups, periods, coverage.get(d.source))
        _replace(platform, d, rows, periods, engine.name, files)
        report.indicators += 1
        report.values += len(rows)
        report.periods[d.id] = len({r.period_start for r in rows})
    report.seconds = time.perf_counter() - started
    return report


def _coverage(platform: Platform, dataset: str) -> tuple[date, date] | None:
    days = platform.lake.days(dataset)
    return (days[0], days[-1]) if days else None


def compute_periods(
    platform: Platform, engine: Engine, d: IndicatorDefinition, starts: Sequence[date]
) -> list[IndicatorValue]:
    """Values of `d` for the periods starting on `starts`, computed now and not stored (a
    quarter or a year of a monthly indicator, for reports and comparisons)."""
    if not starts or not engine.has(d.source):
        return []
    with platform.lake.lock(exclusive=False):
        return _compute_one(
            platform, engine, d, groups(platform), sorted(set(starts)), _coverage(platform, d.source)
        )


def _compute_one(
    platform: Platform,
    engine: Engine,
    d: IndicatorDefinition,
    area_groups: list[Group],
    periods: list[date] | None,
    coverage: tuple[date, date] | None,
) -> list[IndicatorValue]:
    out: list[IndicatorValue] = []
    source = engine.table(d.source)
    for group in area_groups:
        codes = [a.code for a in group.children]
        scope = Scope(
            parent_code=group.parent.code,
            populations=group.populations(),
            period_from=periods[0] if periods else None,
            period_to=d.grain.next_start(periods[-1]) if periods else None,
        )
        filtered = source.filter(source[d.area_column].isin(codes))
        table: pa.Table = engine.execute(compile_definition(d, filtered, scope))
        wanted = set(periods) if periods else None
        for row in table.to_pylist():
            start = row["period_start"]
            if wanted is not None and start not in wanted:
                continue
            value = row["value"]
            if value is not None and value != value:  # NaN: 0/0 of an empty ratio
                value = None
            out.append(
                IndicatorValue(
                    indicator_id=d.id,
                    area_code=row["area_code"],
                    grain=d.grain,
                    period_start=start,
                    value=value,
                    sample=int(row["n_sample"] or 0),
                    quality=quality_of(
                        sample=int(row["n_sample"] or 0),
                        min_sample=d.min_sample,
                        period_start=start,
                        period_end=d.grain.next_start(start),
                        coverage=coverage,
                    ),
                )
            )
    return out


def definition_hash(d: IndicatorDefinition) -> str:
    """A fingerprint of what the definition computes (not where it was read from)."""
    body = repr(replace(d, origin="", names={}, descriptions={}, method={}))
    return hashlib.sha256(body.encode()).hexdigest()


def _replace(
    platform: Platform,
    d: IndicatorDefinition,
    rows: list[IndicatorValue],
    periods: list[date] | None,
    engine: str,
    files: dict[str, tuple[int, int]],
) -> None:
    """Store the values and the inputs they reflect in one transaction (never one without the
    other, so a crash is recomputed rather than skipped)."""
    now = utcnow()
    with platform.db.begin() as conn:
        conn.execute(indicator_inputs.delete().where(indicator_inputs.c.indicator_id == d.id))
        conn.execute(
            indicator_inputs.insert(),
            [
                {"indicator_id": d.id, "path": p, "size": v[0], "mtime_ns": v[1]}
                for p, v in files.items()
            ],
        )
        conn.execute(indicator_state.delete().where(indicator_state.c.indicator_id == d.id))
        conn.execute(
            indicator_state.insert().values(
                indicator_id=d.id, definition_hash=definition_hash(d), computed_at=now
            )
        )
        query = indicator_values.delete().where(indicator_values.c.indicator_id == d.id)
        if periods is not None:
            query = query.where(indicator_values.c.period_start.in_(periods))
        conn.execute(query)
        if rows:
            conn.execute(
                indicator_values.insert(),
                [
                    {
                        "indicator_id": r.indicator_id,
                        "area_code": r.area_code,
                        "grain": r.grain.value,
                        "period_start": r.period_start,
                        "value": r.value,
                        "sample": r.sample,
                        "quality": r.quality.value,
                        "computed_at": now,
                        "engine": engine,
                    }
                    for r in rows
                ],
            )


# Reading ---------------------------------------------------------------------------------


def publishable(
    d: IndicatorDefinition, v: IndicatorValue, *, staff: bool, min_cell: int
) -> IndicatorValue:
    """What may be shown: public counts below the minimum cell size are suppressed."""
    if staff or d.measure.kind not in COUNT_LIKE or v.sample >= min_cell:
        return v
    return IndicatorValue(
        v.indicator_id, v.area_code, v.grain, v.period_start, None, v.sample, Quality.SUPPRESSED
    )


def series(
    platform: Platform,
    indicator_id: str,
    *,
    actor: Actor,
    area: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> list[IndicatorValue]:
    """Stored values of one indicator, for one area (or all), within [from, to], oldest first."""
    d = definition(platform, indicator_id)
    if area is not None:
        territory.get_area(platform, area)
    chain = territory.area_chain(platform, area) if area else ()
    if not d.public and not allowed(
        actor, Action.READ_INTERNAL, chain or _any_area_chain(platform, actor)
    ):
        raise Forbidden(f"indicator {indicator_id} is internal: staff of the area only")
    if date_from and date_to and date_from > date_to:
        raise Invalid("`from` is after `to`")
    query = sa.select(indicator_values).where(indicator_values.c.indicator_id == indicator_id)
    if area:
        query = query.where(indicator_values.c.area_code == area)
    if date_from:
        query = query.where(indicator_values.c.period_start >= date_from)
    if date_to:
        query = query.where(indicator_values.c.period_start <= date_to)
    query = query.order_by(indicator_values.c.period_start, indicator_values.c.area_code)
    with platform.db.connect() as conn:
        rows = conn.execute(query).all()
    values = [
        IndicatorValue(
            r.indicator_id,
            r.area_code,
            Grain(r.grain),
            r.period_start,
            r.value,
            r.sample,
            Quality(r.quality),
        )
        for r in rows
    ]
    staff = {
        code: allowed(actor, Action.READ_INTERNAL, territory.area_chain(platform, code))
        for code in {v.area_code for v in values}
    }
    if not d.public:
        values = [v for v in values if staff[v.area_code]]
    return [
        publishable(d, v, staff=staff[v.area_code], min_cell=platform.settings.min_cell_count)
        for v in values
    ]


def _any_area_chain(platform: Platform, actor: Actor) -> tuple[str, ...]:
    return territory.area_chain(platform, actor.area_code) if actor.area_code else ()


def latest_period(
    platform: Platform, indicator_id: str, *, complete_only: bool = False
) -> date | None:
    """The latest period with a value (a complete one if asked)."""
    query = sa.select(sa.func.max(indicator_values.c.period_start)).where(
        indicator_values.c.indicator_id == indicator_id
    )
    if complete_only:
        query = query.where(indicator_values.c.quality == Quality.COMPLETE.value)
    with platform.db.connect() as conn:
        found: date | None = conn.execute(query).scalar()
    return found
