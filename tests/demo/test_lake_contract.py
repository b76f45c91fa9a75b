"""The demo writes exactly the columns `docs/lake.md` documents, in that order."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pytest

from hakama.demo.records import ADMIN_RECORDS_SCHEMA
from hakama.demo.requests import REQUEST_EVENTS_SCHEMA, SERVICE_REQUESTS_SCHEMA
from hakama.storage.lake_schemas import OBSERVATIONS_SCHEMA

DOC = Path(__file__).resolve().parents[2] / "docs" / "lake.md"


def documented_columns() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `(\w+)` \| [^|]+ \| `(.+)` \|", line)
        if match:
            bare = re.sub(r"\([^)]*\)", "", match.group(2))
            out[match.group(1)] = [c.strip() for c in bare.split(",")]
    return out


@pytest.mark.parametrize(
    ("dataset", "schema"),
    [
        ("observations", OBSERVATIONS_SCHEMA),
        ("service_requests", SERVICE_REQUESTS_SCHEMA),
        ("request_events", REQUEST_EVENTS_SCHEMA),
        ("admin_records", ADMIN_RECORDS_SCHEMA),
    ],
)
def test_schema_matches_the_doc(dataset: str, schema: pa.Schema) -> None:
    assert documented_columns()[dataset] == schema.names
    assert schema.field("time").type == pa.timestamp("us", tz="UTC")
