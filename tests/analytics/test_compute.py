"""Computing indicators on a small hand-made lake: incremental recomputation, operators' own
definitions, quality flags and privacy suppression."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest
import sqlalchemy as sa

from hakama.core.access import ANONYMOUS, system_actor
from hakama.core.errors import Invalid
from hakama.demo.territory import demo_areas
from hakama.services import indicators
from hakama.services.platform import Platform
from hakama.services.territory import save_areas
from hakama.storage.schema_indicators import indicator_values

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ibis")

BERKANE, AHFIR, AKLIM = "02.113.01.09", "02.113.01.01", "02.113.01.07"
FIRST, LAST = date(2026, 1, 5), date(2026, 1, 21)  # Monday 5 to Wednesday 21 January
USER_YAML = """\
# An operator's own indicators, no code.
- id: pm25_weekly_mean
  theme: air
  names: {ar: متوسط, fr: Moyenne PM2.5, en: PM2.5 weekly mean}
  unit: µg/m³
  source: observations
  filters: [{column: attribute, op: "=", value: pm25}]
  measure: {kind: mean, column: value}
  grain: week
  direction: lower_is_better
  min_sample: 10
  method: Mean of the readings of the week.
- id: pm25_readings
  theme: air
  names: {ar: عدد, fr: Relevés, en: Readings}
  unit: readings
  source: observations
  filters: [{column: attribute, op: "=", value: pm25}]
  measure: {kind: count}
  grain: day
  direction: higher_is_better
  min_sample: 1
  method: Readings of the day.
"""
MINE = ["pm25_weekly_mean", "pm25_readings"]


def readings(area: str, times: list[datetime], value: float) -> pa.Table:
    n = len(times)
    return pa.table(
        {
            "time": pa.array(times, pa.timestamp("us", tz="UTC")),
            "entity_id": [f"urn:ngsi-ld:AirQualityObserved:{area}"] * n,
            "entity_type": ["AirQualityObserved"] * n,
            "attribute": ["pm25"] * n,
            "value": [value + i % 3 for i in range(n)],
            "text": pa.nulls(n, pa.string()),
            "unit": ["GQ"] * n,
            "area_code": [area] * n,
            "source": ["test"] * n,
        }
    )


def hourly(first: date, last: date) -> list[datetime]:
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    return [start + timedelta(hours=h) for h in range(((last - first).days + 1) * 24)]


def prepare(platform: Platform) -> None:
    save_areas(platform, demo_areas(), actor=system_actor("test"))
    platform.lake.append("observations", readings(BERKANE, hourly(FIRST, LAST), 20.0))
    platform.lake.append("observations", readings(AHFIR, hourly(FIRST, LAST), 10.0))
    aklim = [datetime(2026, 1, 13, h, tzinfo=UTC) for h in (8, 9, 10)]  # three readings only
    platform.lake.append("observations", readings(AKLIM, aklim, 30.0))
    folder = platform.settings.user_indicators_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mine.yaml").write_text(USER_YAML, encoding="utf-8")


def stored(
    platform: Platform,
) -> dict[tuple[str, str, date], tuple[float | None, int, str, datetime]]:
    with platform.db.connect() as conn:
        rows = conn.execute(
            sa.select(indicator_values).where(indicator_values.c.indicator_id.in_(MINE))
        ).all()
    return {
        (r.indicator_id, r.area_code, r.period_start): (r.value, r.sample, r.quality, r.computed_at)
        for r in rows
    }


def test_user_definitions_are_picked_up(sqlite_platform: Platform) -> None:
    prepare(sqlite_platform)
    ids = {d.id for d in indicators.catalogue(sqlite_platform)}
    assert set(MINE) <= ids and "requests_per_10k" in ids
    assert indicators.definition(sqlite_platform, "pm25_weekly_mean").origin.endswith("mine.yaml")


def test_a_new_day_recomputes_only_its_periods(platform: Platform) -> None:
    prepare(platform)
    first = indicators.compute(platform, only=MINE)
    assert first.periods == {"pm25_weekly_mean": 3, "pm25_readings": 17}
    before = stored(platform)
    week = before[("pm25_weekly_mean", BERKANE, date(2026, 1, 12))]
    assert week[1] == 7 * 24 and week[0] == pytest.approx((20 * 56 + 21 * 56 + 22 * 56) / 168)

    unchanged = indicators.compute(platform, only=MINE)
    assert unchanged.indicators == 0 and unchanged.periods == {}

    new_day = date(2026, 1, 22)
    platform.lake.append("observations", readings(BERKANE, hourly(new_day, new_day), 50.0))
    again = indicators.compute(platform, only=MINE)
    # The new day's periods, and the period before each (its partial-period flag may change).
    assert again.periods == {"pm25_weekly_mean": 1, "pm25_readings": 2}
    after = stored(platform)
    assert set(after) == set(before) | {
        ("pm25_readings", area, new_day) for area in (BERKANE, "02.113")
    }
    touched = {("pm25_weekly_mean", a, date(2026, 1, 19)) for a in (BERKANE, AHFIR, "02.113")}
    touched |= {
        ("pm25_readings", a, d)
        for a in (BERKANE, AHFIR, "02.113")
        for d in (new_day, new_day - timedelta(days=1))
    }
    for key, row in after.items():
        if key in touched:
            continue
        assert row == before[key], key  # same value, same computed_at: not recomputed
    berkane_week = after[("pm25_weekly_mean", BERKANE, date(2026, 1, 19))]
    assert (
        berkane_week[1] == 4 * 24
        and berkane_week[3] > before[("pm25_weekly_mean", BERKANE, date(2026, 1, 19))][3]
    )


def test_quality_flags(sqlite_platform: Platform) -> None:
    prepare(sqlite_platform)
    indicators.compute(sqlite_platform, only=MINE)
    rows = stored(sqlite_platform)
    assert rows[("pm25_weekly_mean", AKLIM, date(2026, 1, 12))][1:3] == (3, "too_few_observations")
    assert rows[("pm25_weekly_mean", BERKANE, date(2026, 1, 12))][2] == "complete"
    assert (
        rows[("pm25_weekly_mean", BERKANE, date(2026, 1, 19))][2] == "partial_period"
    )  # data ends on Wednesday
    assert rows[("pm25_weekly_mean", "02.113", date(2026, 1, 5))][1] == 2 * 7 * 24


def test_small_public_counts_are_suppressed_for_the_public(sqlite_platform: Platform) -> None:
    prepare(sqlite_platform)
    indicators.compute(sqlite_platform, only=MINE)
    day = date(2026, 1, 13)
    public = {
        v.area_code: v
        for v in indicators.series(
            sqlite_platform, "pm25_readings", actor=ANONYMOUS, date_from=day, date_to=day
        )
    }
    assert (
        public[AKLIM].value is None
        and public[AKLIM].quality.value == "suppressed"
        and public[AKLIM].sample == 3
    )
    assert public[BERKANE].value == 24
    staff = {
        v.area_code: v
        for v in indicators.series(
            sqlite_platform, "pm25_readings", actor=system_actor("t"), date_from=day, date_to=day
        )
    }
    assert staff[AKLIM].value == 3 and staff[AKLIM].quality.value == "complete"


def test_an_invalid_user_definition_names_file_and_line(sqlite_platform: Platform) -> None:
    prepare(sqlite_platform)
    bad = sqlite_platform.settings.user_indicators_dir / "zz_bad.yaml"
    bad.write_text(USER_YAML.replace("grain: week", "grain: fortnight"), encoding="utf-8")
    sqlite_platform.derived.indicator_catalogue = None
    with pytest.raises(Invalid) as caught:
        indicators.compute(sqlite_platform, only=MINE)
    assert str(caught.value).startswith(
        f"{bad}:2: indicator pm25_weekly_mean: `grain` must be one of"
    )


def test_computing_some_indicators_hides_no_change_from_the_others(
    sqlite_platform: Platform,
) -> None:
    prepare(sqlite_platform)
    indicators.compute(sqlite_platform, only=MINE)
    new_day = date(2026, 1, 22)
    sqlite_platform.lake.append("observations", readings(BERKANE, hourly(new_day, new_day), 50.0))
    first = indicators.compute(sqlite_platform, only=[MINE[0]])
    assert set(first.periods) == {MINE[0]}
    rest = indicators.compute(sqlite_platform, only=MINE)
    assert set(rest.periods) == set(MINE[1:])  # the change was still news to them
