"""Build the demo territory: its areas in the database, a year of synthetic history in the lake,
then the optional seed steps other parts of hakama provide (users, services, devices,
indicators).

The lake part is skipped when `<data-dir>/demo.json` says the same seed, scale and year were
already built completely (unless `force`). Every lake file the demo writes is listed, as it is
written, in `<data-dir>/demo-files.txt`, so a rebuild (or a build interrupted half-way) removes
exactly the demo's files and never touches data that arrived from devices or imports.
Caveat: a compaction that merges demo files with live ones leaves those demo rows in place.

Seed steps run on every build and must be idempotent: each module
`hakama.demo.seed_<name>` exposes `seed(platform, *, seed: int, scale: float) -> str`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from hakama.core.access import system_actor
from hakama.core.errors import Invalid
from hakama.core.territory import Area
from hakama.demo import (
    readings,
    records,
    requests,
    seed_devices,
    seed_indicators,
    seed_services,
    seed_users,
)
from hakama.demo.sensors import Sensor, plan_sensors
from hakama.demo.territory import demo_areas
from hakama.services.platform import Platform
from hakama.services.relocation import save_and_relocate
from hakama.storage.lake import LakeFile

MANIFEST = "demo.json"
FILE_LOG = "demo-files.txt"
#: 2: the outlines' latitudes corrected (issue 9): sensors and requests are placed again.
MANIFEST_VERSION = 2
DEMO_DATASETS = ("observations", "service_requests", "request_events", "admin_records")


class Seed(Protocol):
    def __call__(self, platform: Platform, *, seed: int, scale: float) -> str: ...


#: The seed steps that follow the lake, in order: (short name, step).
SEEDS: tuple[tuple[str, Seed], ...] = (
    ("seed_users", seed_users.seed),
    ("seed_services", seed_services.seed),
    ("seed_devices", seed_devices.seed),
    ("seed_indicators", seed_indicators.seed),
)

#: Told of progress: (stage, done, total). Stages: areas, observations, requests, records,
#: then one per seed step (its short name, e.g. `seed_users`).
Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class DemoReport:
    """What a demo build did: counts, the period, and the seconds each stage took."""

    seed: int
    scale: float
    start: date
    end: date
    areas: int
    sensors: int
    observations: int
    requests: int
    request_events: int
    records: int
    skipped: bool  # the lake was already built with the same options
    seconds: float
    stage_seconds: Mapping[str, float] = field(default_factory=dict)
    seeded: tuple[str, ...] = ()  # one-line summaries of the seed steps


def read_manifest(data_dir: Path) -> dict[str, Any] | None:
    """The demo manifest of a data folder (seed, scale, period, counts), if a build finished."""
    path = Path(data_dir) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_manifest(data_dir: Path, content: Mapping[str, Any]) -> None:
    path = data_dir / MANIFEST
    tmp = path.with_name(f".{MANIFEST}.tmp")
    tmp.write_text(json.dumps(content, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _remove_previous(data_dir: Path, lake_root: Path) -> int:
    """Delete the lake files a previous demo build wrote (listed in the file log)."""
    log = data_dir / FILE_LOG
    if not log.exists():
        return 0
    removed = 0
    for line in log.read_text(encoding="utf-8").splitlines():
        path = (lake_root / line.strip()).resolve()
        # Only files under the lake, in case the log was edited by hand.
        if line.strip() and path.is_relative_to(lake_root.resolve()) and path.is_file():
            path.unlink()
            removed += 1
    log.unlink()
    return removed


def already_built(manifest: Mapping[str, Any] | None, options: Mapping[str, Any]) -> bool:
    """True when a manifest records a complete build with exactly these options."""
    return (
        manifest is not None
        and manifest.get("complete") is True
        and all(manifest.get(k) == v for k, v in options.items())
    )


class _FileLog:
    """Appends the relative path of each lake file the build writes, flushed as it goes."""

    def __init__(self, data_dir: Path, lake_root: Path) -> None:
        self.lake_root = lake_root.resolve()
        self.handle = (data_dir / FILE_LOG).open("a", encoding="utf-8")
        self.written: list[Path] = []

    def add(self, files: list[LakeFile]) -> None:
        self.written.extend(f.path for f in files)
        for f in files:
            self.handle.write(f"{f.path.resolve().relative_to(self.lake_root)}\n")
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()


def build_demo(
    platform: Platform,
    *,
    seed: int = 2026,
    scale: float = 1.0,
    force: bool = False,
    year_end: date | None = None,
    progress: Progress | None = None,
    run_seeds: bool = True,
) -> DemoReport:
    """Build (or bring up to date) the demo territory in the platform's database and lake.

    `run_seeds=False` leaves out the seed steps of other modules (users, services, devices,
    indicators): the lake and the areas only.
    """
    if not 0 < scale <= 1000:
        raise Invalid("scale must be greater than 0 and at most 1000", scale=scale)
    report = progress or _no_progress
    started = time.perf_counter()
    stage_seconds: dict[str, float] = {}
    period = readings.demo_period(year_end)
    data_dir = platform.settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    lake = platform.lake

    t = time.perf_counter()
    areas = demo_areas()
    report("areas", 0, 1)
    # Over an earlier demo, outlines are updated in place and what lies on them re-placed.
    save_and_relocate(platform, areas, actor=system_actor("demo"))
    report("areas", 1, 1)
    stage_seconds["areas"] = time.perf_counter() - t
    sensors = plan_sensors(areas, seed=seed, scale=scale)

    options = {
        "version": MANIFEST_VERSION,
        "seed": seed,
        "scale": scale,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
    }
    manifest = read_manifest(data_dir)
    same = already_built(manifest, options) and all(
        lake.has(d) for d in ("observations", "service_requests", "admin_records")
    )
    if same and not force:
        assert manifest is not None
        counts = dict(manifest.get("counts", {}))
        for stage in ("observations", "requests", "records"):
            report(stage, 1, 1)
        skipped = True
    else:
        counts = _build_lake(platform, areas, sensors, seed, scale, period, report, stage_seconds)
        _write_manifest(data_dir, {**options, "complete": True, "counts": counts})
        skipped = False

    seeded: list[str] = []
    for short, step in SEEDS if run_seeds else ():
        t = time.perf_counter()
        report(short, 0, 1)
        summary = step(platform, seed=seed, scale=scale)
        report(short, 1, 1)
        stage_seconds[short] = time.perf_counter() - t
        seeded.append(f"{short}: {summary}")

    return DemoReport(
        seed=seed,
        scale=scale,
        start=period.start,
        end=period.end,
        areas=len(areas),
        sensors=len(sensors),
        observations=int(counts.get("observations", 0)),
        requests=int(counts.get("service_requests", 0)),
        request_events=int(counts.get("request_events", 0)),
        records=int(counts.get("admin_records", 0)),
        skipped=skipped,
        seconds=time.perf_counter() - started,
        stage_seconds=stage_seconds,
        seeded=tuple(seeded),
    )


def _build_lake(
    platform: Platform,
    areas: list[Area],
    sensors: list[Sensor],
    seed: int,
    scale: float,
    period: readings.Period,
    report: Progress,
    stage_seconds: dict[str, float],
) -> dict[str, int]:
    data_dir = platform.settings.data_dir
    lake = platform.lake
    (data_dir / MANIFEST).unlink(missing_ok=True)
    _remove_previous(data_dir, lake.root)
    log = _FileLog(data_dir, lake.root)
    counts: dict[str, int] = {}
    try:
        t = time.perf_counter()
        plan = readings.plan_readings(sensors, areas, seed=seed, period=period)
        rows = 0
        report("observations", 0, period.days)
        for index, (_, table) in enumerate(readings.iter_days(plan)):
            log.add(lake.append("observations", table, durable=False))
            rows += table.num_rows
            report("observations", index + 1, period.days)
        counts["observations"] = rows
        stage_seconds["observations"] = time.perf_counter() - t

        t = time.perf_counter()
        report("requests", 0, 2)
        reqs, events = requests.generate_requests_and_events(
            areas, seed=seed, scale=scale, start=period.start, end=period.end
        )
        log.add(lake.append("service_requests", reqs, durable=False))
        report("requests", 1, 2)
        log.add(lake.append("request_events", events, durable=False))
        report("requests", 2, 2)
        counts["service_requests"] = reqs.num_rows
        counts["request_events"] = events.num_rows
        stage_seconds["requests"] = time.perf_counter() - t

        t = time.perf_counter()
        months = records.iter_months(
            areas, seed=seed, scale=scale, start=period.start, end=period.end
        )
        total_months = (
            (period.end.year - period.start.year) * 12 + period.end.month - period.start.month + 1
        )
        rows = 0
        report("records", 0, total_months)
        for index, table in enumerate(months):
            log.add(lake.append("admin_records", table, durable=False))
            rows += table.num_rows
            report("records", index + 1, total_months)
        counts["admin_records"] = rows
        stage_seconds["records"] = time.perf_counter() - t
        # One sync at the end instead of one per file: a build that dies is redone whole anyway.
        lake.sync(log.written)
    finally:
        log.close()
    return counts
