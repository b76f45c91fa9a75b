"""One definition, two engines: the whole catalogue on DuckDB and on Spark (local mode) gives the
same rows, values and samples on the demo lake."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from hakama.analytics.engines import DuckDBEngine, SparkEngine, local_spark_session
from hakama.demo.build import build_demo
from hakama.services import indicators
from hakama.services.platform import Platform
from hakama.settings import Settings
from hakama.storage.schema_indicators import indicator_values

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning:ibis")]

Row = tuple[float | None, int, str]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    platform = Platform.open(Settings(data_dir=tmp_path_factory.mktemp("parity") / "data", environment="test"))
    build_demo(platform, scale=0.05, run_seeds=False)
    yield platform
    platform.close()


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = local_spark_session(cores=2, memory="2g")
    yield session
    session.stop()


def _stored(platform: Platform) -> dict[tuple[str, str, str], Row]:
    with platform.db.connect() as conn:
        rows = conn.execute(sa.select(indicator_values)).all()
    return {(r.indicator_id, r.area_code, r.period_start.isoformat()): (r.value, r.sample, r.quality) for r in rows}


def test_duckdb_and_spark_agree_on_the_whole_catalogue(demo: Platform, spark: Any) -> None:
    duck = DuckDBEngine(demo.lake)
    try:
        on_duckdb = indicators.compute(demo, engine=duck, full=True)
    finally:
        duck.close()
    by_duckdb = _stored(demo)
    on_spark = indicators.compute(demo, engine=SparkEngine(demo.lake, spark), full=True)
    by_spark = _stored(demo)

    assert on_duckdb.indicators == on_spark.indicators == len(indicators.catalogue(demo)) >= 15
    assert on_duckdb.values == on_spark.values == len(by_duckdb) > 1000
    assert set(by_duckdb) == set(by_spark)
    assert {k[0] for k in by_duckdb} == {d.id for d in indicators.catalogue(demo)}
    mismatched = []
    for key, (value, sample, quality) in by_duckdb.items():
        other = by_spark[key]
        same_value = (value is None and other[0] is None) or (
            value is not None and other[0] is not None and math.isclose(value, other[0], rel_tol=1e-9, abs_tol=1e-12)
        )
        if not same_value or sample != other[1] or quality != other[2]:
            mismatched.append((key, (value, sample, quality), other))
    assert not mismatched, mismatched[:5]
