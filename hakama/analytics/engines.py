"""The engines indicators run on: DuckDB embedded (default) and Spark (for clusters).

Both read the lake's Parquet files where they lie; what differs between them is kept here, as
data, and nowhere else.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from hakama.settings import Settings
from hakama.storage.lake import Lake


class Engine(Protocol):
    name: str

    def table(self, dataset: str) -> ir.Table: ...

    def has(self, dataset: str) -> bool: ...

    def execute(self, expr: ir.Table) -> pa.Table: ...


class DuckDBEngine:
    """Ibis on an in-memory DuckDB reading the lake."""

    name = "duckdb"

    def __init__(
        self, lake: Lake, *, threads: int | None = None, memory_limit: str | None = None
    ) -> None:
        self.lake = lake
        self.con = ibis.duckdb.connect()
        if threads:
            self.con.raw_sql(f"SET threads={int(threads)}")
        if memory_limit:
            self.con.raw_sql(f"SET memory_limit='{memory_limit}'")
        self._tables: dict[str, ir.Table] = {}

    def has(self, dataset: str) -> bool:
        return self.lake.has(dataset)

    def table(self, dataset: str) -> ir.Table:
        if dataset not in self._tables:
            self._tables[dataset] = self.con.read_parquet(
                self.lake.glob(dataset),
                table_name=f"lake_{dataset}",
                hive_partitioning=True,
                union_by_name=True,
            )
        return self._tables[dataset]

    def execute(self, expr: ir.Table) -> pa.Table:
        return self.con.to_pyarrow(expr)

    def close(self) -> None:
        self.con.disconnect()


class SparkEngine:
    """Ibis on PySpark: local mode, or a cluster's session (standalone, YARN, Kubernetes).

    `lake_url` is the lake as the executors reach it (a shared folder mounted on every node, or
    an object store URL such as `s3a://bucket/lake`); by default the driver's own folder, which
    is right for local mode and for a cluster whose nodes share that path.
    """

    name = "spark"

    def __init__(self, lake: Lake, session: Any, *, lake_url: str | None = None) -> None:
        self.lake = lake
        self.session = session
        self.lake_url = lake_url.rstrip("/") if lake_url else None
        self.con = ibis.pyspark.connect(session)
        self._tables: dict[str, ir.Table] = {}

    def has(self, dataset: str) -> bool:
        return self.lake.has(dataset)

    def location(self, dataset: str) -> str:
        """Where the executors read a dataset's folder."""
        if self.lake_url:
            return f"{self.lake_url}/{dataset}"
        return str(self.lake.dataset_dir(dataset))

    def table(self, dataset: str) -> ir.Table:
        if dataset not in self._tables:
            self._tables[dataset] = self.con.read_parquet(
                self.location(dataset), table_name=f"lake_{dataset}"
            )
        return self._tables[dataset]

    def execute(self, expr: ir.Table) -> pa.Table:
        return self.con.to_pyarrow(expr)

    def close(self) -> None:
        pass


def spark_session(
    master: str = "local[2]",
    conf: Mapping[str, str] | None = None,
    *,
    memory: str = "4g",
    partitions: int = 4,
) -> Any:
    """A Spark session configured like the DuckDB engine (UTC, few shuffle partitions), on
    `master` (`local[N]`, `spark://host:7077`, `yarn`, `k8s://https://…`); `conf` is added
    last, so a deployment can say anything else Spark needs (executors, S3 credentials…)."""
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(master)
        .appName("hakama-indicators")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.driver.memory", memory)
        .config("spark.sql.parquet.mergeSchema", "true")
        # Spark writes a warehouse folder where it is started unless told otherwise.
        .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="hakama-spark-"))
    )
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def local_spark_session(*, cores: int = 2, memory: str = "4g") -> Any:
    """A local-mode Spark session on `cores` threads."""
    return spark_session(f"local[{cores}]", memory=memory, partitions=cores * 2)


@contextmanager
def open_engine(name: str, lake: Lake, settings: Settings | None = None) -> Iterator[Engine]:
    """An engine by name: `duckdb` (default) or `spark`, on the master, configuration and lake
    URL of `settings` (`HAKAMA_SPARK_MASTER`, `HAKAMA_SPARK_CONF`, `HAKAMA_SPARK_LAKE_URL`)."""
    if name == "duckdb":
        duck = DuckDBEngine(lake)
        try:
            yield duck
        finally:
            duck.close()
    elif name == "spark":
        if settings is None:
            yield SparkEngine(lake, local_spark_session())
            return
        session = spark_session(settings.spark_master, settings.spark_conf)
        yield SparkEngine(lake, session, lake_url=settings.spark_lake_url)
    else:
        from hakama.core.errors import Invalid

        raise Invalid(f"unknown engine {name!r}: duckdb or spark")
