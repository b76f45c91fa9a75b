"""The engines indicators run on: DuckDB embedded (default) and Spark (for clusters).

Both read the lake's Parquet files where they lie; what differs between them is kept here, as
data, and nowhere else.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import ibis
import ibis.expr.types as ir
import pyarrow as pa

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
    """Ibis on PySpark (local mode in tests, a cluster's session in production)."""

    name = "spark"

    def __init__(self, lake: Lake, session: Any) -> None:
        self.lake = lake
        self.session = session
        self.con = ibis.pyspark.connect(session)
        self._tables: dict[str, ir.Table] = {}

    def has(self, dataset: str) -> bool:
        return self.lake.has(dataset)

    def table(self, dataset: str) -> ir.Table:
        if dataset not in self._tables:
            self._tables[dataset] = self.con.read_parquet(
                str(self.lake.dataset_dir(dataset)), table_name=f"lake_{dataset}"
            )
        return self._tables[dataset]

    def execute(self, expr: ir.Table) -> pa.Table:
        return self.con.to_pyarrow(expr)

    def close(self) -> None:
        pass


def local_spark_session(*, cores: int = 2, memory: str = "4g") -> Any:
    """A local Spark session configured like the DuckDB engine (UTC, few shuffle partitions)."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("hakama-indicators")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(cores * 2))
        .config("spark.driver.memory", memory)
        .config("spark.sql.parquet.mergeSchema", "true")
        # Spark writes a warehouse folder where it is started unless told otherwise.
        .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="hakama-spark-"))
        .getOrCreate()
    )


@contextmanager
def open_engine(name: str, lake: Lake) -> Iterator[Engine]:
    """An engine by name: `duckdb` (default) or `spark` (local mode unless a session exists)."""
    if name == "duckdb":
        duck = DuckDBEngine(lake)
        try:
            yield duck
        finally:
            duck.close()
    elif name == "spark":
        yield SparkEngine(lake, local_spark_session())
    else:
        from hakama.core.errors import Invalid

        raise Invalid(f"unknown engine {name!r}: duckdb or spark")
