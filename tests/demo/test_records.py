from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from hakama.core.territory import Area
from hakama.demo.records import ADMIN_RECORDS_SCHEMA, SERVICES, generate_records
from hakama.demo.sensors import is_urban, population

START, END = date(2026, 1, 1), date(2026, 3, 31)


@pytest.fixture(scope="module")
def records(areas: list[Area]) -> pa.Table:
    return generate_records(areas, seed=2026, scale=0.3, start=START, end=END)


def test_columns_and_types_are_the_lake_contract(records: pa.Table) -> None:
    assert records.schema == ADMIN_RECORDS_SCHEMA
    assert set(records["service"].to_pylist()) == {s.code for s in SERVICES}
    assert len(set(records["record_id"].to_pylist())) == records.num_rows


def test_deterministic(areas: list[Area], records: pa.Table) -> None:
    assert generate_records(areas, seed=2026, scale=0.3, start=START, end=END).equals(records)
    assert not generate_records(areas, seed=9, scale=0.3, start=START, end=END).equals(records)


def test_channels_statuses_and_delays(communes: list[Area], records: pa.Table) -> None:
    con = duckdb.connect()
    con.register("r", records)
    assert con.execute(
        "select count(*) from r where service = 'signature_legalisation' and channel = 'online'"
    ).fetchone() == (0,)
    assert con.execute(
        "select count(*) from r where (status = 'delivered') != (delivered_at is not null) "
        "or delivered_at < time"
    ).fetchone() == (0,)
    share = dict(
        con.execute(
            "select area_code, avg((channel = 'online')::int) from r "
            "where service = 'civil_status_certificate' group by 1"
        ).fetchall()
    )
    urban = np.mean([share[c.code] for c in communes if is_urban(c)])
    rural = np.mean([share[c.code] for c in communes if not is_urban(c)])
    assert urban > 2 * rural
    slow, fast = con.execute(
        "select median(epoch(delivered_at - time)) filter (where service = 'building_permit'), "
        "median(epoch(delivered_at - time)) filter (where service = 'signature_legalisation') from r"
    ).fetchone() or (0, 0)
    assert slow > 100 * fast
    counts = dict(con.execute("select area_code, count(*) from r group by 1").fetchall())
    pops = [population(c) for c in communes]
    assert np.corrcoef(pops, [counts[c.code] for c in communes])[0, 1] > 0.95


def test_bad_scale_is_refused(areas: list[Area]) -> None:
    with pytest.raises(ValueError, match="scale"):
        generate_records(areas, seed=1, scale=0, start=START, end=END)
