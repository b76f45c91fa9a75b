from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from hakama.core.errors import Invalid
from hakama.demo.build import DEMO_DATASETS, already_built, build_demo, read_manifest
from hakama.demo.sensors import plan_sensors
from hakama.demo.territory import demo_areas
from hakama.services.platform import Platform
from hakama.services.territory import list_areas
from hakama.storage.lake_schemas import OBSERVATIONS_SCHEMA


def lake_files(platform: Platform) -> set[str]:
    return {str(p) for d in DEMO_DATASETS for p in platform.lake.files(d)}


@pytest.mark.slow
def test_build_writes_the_lake_and_is_idempotent(sqlite_platform: Platform) -> None:
    seen: list[tuple[str, int, int]] = []
    report = build_demo(
        sqlite_platform,
        scale=0.01,
        run_seeds=False,
        progress=lambda stage, done, total: seen.append((stage, done, total)),
    )
    lake = sqlite_platform.lake
    assert not report.skipped
    assert len(list_areas(sqlite_platform)) == report.areas == 18
    assert report.sensors == 5
    assert lake.row_count("observations") == report.observations > 200_000
    assert lake.row_count("service_requests") == report.requests > 50
    assert lake.row_count("request_events") == report.request_events > report.requests
    assert lake.row_count("admin_records") == report.records > 1_000
    assert len(lake.days("observations")) == 365
    assert {s for s, _, _ in seen} >= {"areas", "observations", "requests", "records"}
    assert ("observations", 365, 365) in seen
    manifest = read_manifest(sqlite_platform.settings.data_dir)
    assert manifest is not None and manifest["complete"] and manifest["seed"] == 2026
    with lake.duckdb() as con:
        assert (
            con.execute("select count(distinct area_code) from service_requests").fetchone()
            is not None
        )

    # Device provisioning plans the sensors from the areas in the database: the same sensors.
    assert plan_sensors(list_areas(sqlite_platform), seed=2026, scale=0.01) == plan_sensors(
        demo_areas(), seed=2026, scale=0.01
    )

    files = lake_files(sqlite_platform)
    again = build_demo(sqlite_platform, scale=0.01, run_seeds=False)
    assert again.skipped
    assert (again.observations, again.requests, again.records) == (
        report.observations,
        report.requests,
        report.records,
    )
    assert lake_files(sqlite_platform) == files


@pytest.mark.slow
def test_rebuild_replaces_demo_files_and_keeps_live_data(sqlite_platform: Platform) -> None:
    first = build_demo(sqlite_platform, scale=0.01, seed=1, run_seeds=False)
    lake = sqlite_platform.lake
    live = pa.Table.from_pylist(
        [
            {
                "time": datetime(
                    first.start.year, first.start.month, first.start.day, 12, tzinfo=UTC
                ),
                "entity_id": "urn:ngsi-ld:Thing:live",
                "entity_type": "Thing",
                "attribute": "t",
                "value": 1.0,
                "unit": "CEL",
                "source": "mqtt",
            }
        ],
        schema=OBSERVATIONS_SCHEMA,
    )
    live_files = lake.append("observations", live)
    before = lake_files(sqlite_platform)
    second = build_demo(sqlite_platform, scale=0.01, seed=2, force=True, run_seeds=False)
    assert not second.skipped
    after = lake_files(sqlite_platform)
    assert str(live_files[0].path) in after
    assert not (before & after) - {str(live_files[0].path)}  # replaced, not doubled
    assert lake.row_count("observations") == second.observations + 1


def test_a_build_with_other_options_is_not_the_same_build() -> None:
    options = {"version": 1, "seed": 1, "scale": 1.0, "start": "2025-11-01", "end": "2026-10-31"}
    assert already_built({**options, "complete": True}, options)
    assert not already_built({**options, "complete": False}, options)
    assert not already_built(None, options)
    for key, other in (("seed", 2), ("scale", 0.5), ("end", "2026-10-30"), ("version", 0)):
        assert not already_built({**options, key: other, "complete": True}, options)


def test_bad_scale_is_refused(sqlite_platform: Platform) -> None:
    with pytest.raises(Invalid, match="scale"):
        build_demo(sqlite_platform, scale=0)
    with pytest.raises(Invalid, match="scale"):
        build_demo(sqlite_platform, scale=float("nan"))
