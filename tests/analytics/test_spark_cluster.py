"""Spark as a real cluster: a standalone master and two workers started from the pyspark
package's own launcher (loopback only), HAKAMA_SPARK_MASTER pointing at it, the lake handed to
the executors as a URL they read, and the whole indicator catalogue giving DuckDB's values."""

from __future__ import annotations

import json
import math
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from hakama.analytics.engines import DuckDBEngine
from hakama.analytics.spark_standalone import Cluster, standalone_cluster
from hakama.demo.build import build_demo
from hakama.services import indicators
from hakama.services.platform import Platform
from hakama.settings import Settings
from hakama.storage.schema_indicators import indicator_values

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning:ibis")]

Row = tuple[float | None, int, str]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    platform = Platform.open(
        Settings(data_dir=tmp_path_factory.mktemp("cluster") / "data", environment="test")
    )
    build_demo(platform, scale=0.02, run_seeds=False)
    yield platform
    platform.close()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with standalone_cluster(workers=2, cores=1, memory="1g", timeout=300) as running:
        yield running


def _stored(platform: Platform) -> dict[tuple[str, str, str], Row]:
    with platform.db.connect() as conn:
        rows = conn.execute(sa.select(indicator_values)).all()
    return {
        (r.indicator_id, r.area_code, r.period_start.isoformat()): (r.value, r.sample, r.quality)
        for r in rows
    }


def _master_state(cluster: Cluster) -> dict[str, Any]:
    with urllib.request.urlopen(f"{cluster.ui_url}/json/", timeout=10) as r:
        state: dict[str, Any] = json.loads(r.read())
    return state


def test_the_catalogue_on_a_standalone_cluster_gives_duckdbs_values(
    demo: Platform, cluster: Cluster
) -> None:
    duck = DuckDBEngine(demo.lake)
    try:
        on_duckdb = indicators.compute(demo, engine=duck, full=True)
    finally:
        duck.close()
    by_duckdb = _stored(demo)

    demo.settings.spark_master = cluster.master_url
    demo.settings.spark_lake_url = demo.lake.root.as_uri()  # file:///…: what the executors read
    demo.settings.spark_conf = {
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.driver.memory": "1g",
        "spark.executor.memory": "768m",
        "spark.executor.cores": "1",
        "spark.cores.max": "2",
        "spark.app.name": "hakama-cluster-test",
    }
    from pyspark.sql import SparkSession

    try:
        on_spark = indicators.compute(demo, engine="spark", full=True)
        session = SparkSession.getActiveSession()
        assert session is not None
        context = session.sparkContext
        assert context.master == cluster.master_url  # not local mode
        # the driver and one executor per worker
        assert context._jsc.sc().getExecutorMemoryStatus().size() == 3
        running = _master_state(cluster)["activeapps"]
        assert [a["name"] for a in running] == ["hakama-cluster-test"]
    finally:
        active = SparkSession.getActiveSession()
        if active is not None:
            active.stop()
    by_spark = _stored(demo)

    assert on_spark.engine == "spark"
    assert on_duckdb.indicators == on_spark.indicators == len(indicators.catalogue(demo)) >= 15
    assert on_duckdb.values == on_spark.values == len(by_duckdb) > 100
    assert set(by_duckdb) == set(by_spark)
    mismatched = []
    for key, (value, sample, quality) in by_duckdb.items():
        other = by_spark[key]
        same_value = (value is None and other[0] is None) or (
            value is not None
            and other[0] is not None
            and math.isclose(value, other[0], rel_tol=1e-9, abs_tol=1e-12)
        )
        if not same_value or sample != other[1] or quality != other[2]:
            mismatched.append((key, (value, sample, quality), other))
    assert not mismatched, mismatched[:5]
    done = _master_state(cluster)["completedapps"]
    assert "hakama-cluster-test" in [a["name"] for a in done]
