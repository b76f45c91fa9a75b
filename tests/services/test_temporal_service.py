"""The temporal service on SQLite and PostgreSQL: writing instances, reading them back from
staging and from the lake, aggregation, deletion by tombstones, access by area."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hakama.core.access import Actor, Role, system_actor
from hakama.core.errors import Forbidden, Invalid, NotFound
from hakama.core.temporal import TemporalQuery
from hakama.services import audit, observations, temporal, temporal_deletes, temporal_writes
from hakama.services.platform import Platform

ADMIN = system_actor("test")
AGENT_A = Actor(kind="user", id="agent-a", role=Role.AGENT, area_code="C-A")
AGENT_B = Actor(kind="user", id="agent-b", role=Role.AGENT, area_code="C-B")
EID = "urn:ngsi-ld:AirQualityObserved:t1"
DAY = datetime(2026, 3, 1, tzinfo=UTC)


def at(hours: float) -> str:
    return (DAY + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def history(eid: str = EID, values: tuple[float, ...] = (10.0, 20.0, 30.0, 40.0)) -> dict[str, Any]:
    """pm25 every 12 hours from DAY (two days), and one text attribute."""
    return {
        "id": eid,
        "type": "AirQualityObserved",
        "pm25": [
            {"type": "Property", "value": v, "observedAt": at(12 * i), "unitCode": "GQ"}
            for i, v in enumerate(values)
        ],
        "status": {"type": "Property", "value": "ok", "observedAt": at(1)},
    }


def test_instances_written_are_read_back_at_once_and_after_flush(platform: Platform) -> None:
    assert temporal_writes.create(platform, history(), actor=ADMIN) is True
    before_flush = temporal.retrieve(platform, EID, TemporalQuery())
    assert before_flush["id"] == EID and before_flush["type"] == "AirQualityObserved"
    pm25 = before_flush["pm25"]
    assert [i["value"] for i in pm25] == [10.0, 20.0, 30.0, 40.0]
    assert pm25[0]["observedAt"] == "2026-03-01T00:00:00Z" and pm25[0]["unitCode"] == "GQ"
    assert pm25[0]["instanceId"].startswith("urn:ngsi-ld:Instance:")
    assert len({i["instanceId"] for i in pm25}) == 4
    assert before_flush["status"] == [
        {
            "type": "Property",
            "value": "ok",
            "observedAt": "2026-03-01T01:00:00Z",
            "instanceId": before_flush["status"][0]["instanceId"],
        }
    ]
    observations.flush(platform)
    assert platform.lake.row_count("observations") == 5
    assert temporal.retrieve(platform, EID, TemporalQuery()) == before_flush
    # Sending the same history again adds nothing (a retry counts once).
    assert temporal_writes.create(platform, history(), actor=ADMIN) is False
    assert len(temporal.retrieve(platform, EID, TemporalQuery())["pm25"]) == 4


def test_windows_attrs_last_n_and_temporal_values(platform: Platform) -> None:
    temporal_writes.create(platform, history(), actor=ADMIN)
    after = TemporalQuery.parse(timerel="after", time_at=at(12), attrs="pm25")
    got = temporal.retrieve(platform, EID, after)
    assert [i["value"] for i in got["pm25"]] == [20.0, 30.0, 40.0] and "status" not in got
    before = TemporalQuery.parse(timerel="before", time_at=at(12))
    assert [i["value"] for i in temporal.retrieve(platform, EID, before)["pm25"]] == [10.0]
    between = TemporalQuery.parse(timerel="between", time_at=at(12), end_time_at=at(36))
    assert [i["value"] for i in temporal.retrieve(platform, EID, between)["pm25"]] == [20.0, 30.0]
    last = TemporalQuery.parse(last_n="2", attrs="pm25")
    assert [i["value"] for i in temporal.retrieve(platform, EID, last)["pm25"]] == [30.0, 40.0]
    values = temporal.retrieve(platform, EID, TemporalQuery.parse(options=["temporalValues"]))
    assert values["pm25"] == {
        "type": "Property",
        "values": [
            [10.0, "2026-03-01T00:00:00Z"],
            [20.0, "2026-03-01T12:00:00Z"],
            [30.0, "2026-03-02T00:00:00Z"],
            [40.0, "2026-03-02T12:00:00Z"],
        ],
    }
    empty = TemporalQuery.parse(timerel="after", time_at="2030-01-01T00:00:00Z")
    assert temporal.retrieve(platform, EID, empty) == {"id": EID, "type": "AirQualityObserved"}


def test_aggregation_per_day_and_over_the_window(platform: Platform) -> None:
    temporal_writes.create(platform, history(), actor=ADMIN)
    observations.flush(platform)  # half in the lake, half staged: the answer is the same
    temporal_writes.append(
        platform,
        EID,
        {"pm25": {"type": "Property", "value": 50.0, "observedAt": at(47)}},
        actor=ADMIN,
    )
    tq = TemporalQuery.parse(aggr_methods="avg,max,totalCount,min", aggr_period="P1D", attrs="pm25")
    got = temporal.retrieve(platform, EID, tq)
    assert got["pm25"] == {
        "type": "Property",
        "avg": [[15.0, "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"],
                [40.0, "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"]],
        "max": [[20.0, "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"],
                [50.0, "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"]],
        "totalCount": [[2, "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"],
                       [3, "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"]],
        "min": [[10.0, "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"],
                [30.0, "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"]],
    }  # fmt: skip
    whole = TemporalQuery.parse(
        timerel="between", time_at=at(0), end_time_at=at(48),
        aggr_methods="sum,sumsq,stddev,distinctCount", aggr_period="PT0S", attrs="pm25",
    )  # fmt: skip
    got = temporal.retrieve(platform, EID, whole)["pm25"]
    assert got["sum"] == [[150.0, "2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z"]]
    assert got["sumsq"][0][0] == 100 + 400 + 900 + 1600 + 2500
    assert got["stddev"][0][0] == pytest.approx(14.142135, rel=1e-6)
    assert got["distinctCount"][0][0] == 5
    # Periods start at timeAt when the window has a start.
    shifted = TemporalQuery.parse(
        timerel="after", time_at=at(6), aggr_methods="totalCount", aggr_period="P1D", attrs="pm25"
    )
    counts = temporal.retrieve(platform, EID, shifted)["pm25"]["totalCount"]
    assert counts == [[2, "2026-03-01T06:00:00Z", "2026-03-02T06:00:00Z"],
                      [2, "2026-03-02T06:00:00Z", "2026-03-03T06:00:00Z"]]  # fmt: skip
    # Text attributes have counts, min and max but no average.
    text = temporal.retrieve(
        platform,
        EID,
        TemporalQuery.parse(aggr_methods="avg,max", aggr_period="P1D", attrs="status"),
    )
    assert text["status"] == {
        "type": "Property",
        "max": [["ok", "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"]],
    }


def test_query_across_entities_with_pagination_and_count(platform: Platform) -> None:
    for n in range(3):
        temporal_writes.create(
            platform, history(f"urn:ngsi-ld:AirQualityObserved:q{n}", (float(n),)), actor=ADMIN
        )
    tq = TemporalQuery.parse(attrs="pm25", last_n="1")
    page = temporal.query(platform, tq, types=["AirQualityObserved"], limit=2, offset=1, count=True)
    assert page.count == 3
    assert [e["id"] for e in page.entities] == [
        "urn:ngsi-ld:AirQualityObserved:q1",
        "urn:ngsi-ld:AirQualityObserved:q2",
    ]
    assert [e["pm25"][0]["value"] for e in page.entities] == [1.0, 2.0]
    aggregated = TemporalQuery.parse(aggr_methods="max", aggr_period="P1D", attrs="pm25")
    agg_page = temporal.query(
        platform, aggregated, types=["AirQualityObserved"], limit=1, offset=2, count=True
    )
    assert agg_page.count == 3
    assert [(e["id"], e["pm25"]["max"][0][0]) for e in agg_page.entities] == [
        ("urn:ngsi-ld:AirQualityObserved:q2", 2.0)
    ]
    beyond = temporal.query(platform, aggregated, limit=5, offset=10, count=True)
    assert beyond.entities == [] and beyond.count == 3
    pattern = temporal.query(platform, tq, id_pattern=".*q0$")
    assert [e["id"] for e in pattern.entities] == ["urn:ngsi-ld:AirQualityObserved:q0"]
    assert temporal.query(platform, tq, types=["Nothing"]).entities == []
    with pytest.raises(Invalid):
        temporal.query(platform, tq, id_pattern="(")


def test_deleting_instances_attributes_and_entities_hides_them(platform: Platform) -> None:
    temporal_writes.create(platform, history(), actor=ADMIN)
    observations.flush(platform)
    got = temporal.retrieve(platform, EID, TemporalQuery())
    second = got["pm25"][1]["instanceId"]
    temporal_deletes.delete_instance(platform, EID, "pm25", second, actor=ADMIN)
    values = [i["value"] for i in temporal.retrieve(platform, EID, TemporalQuery())["pm25"]]
    assert values == [10.0, 30.0, 40.0]
    agg = TemporalQuery.parse(aggr_methods="totalCount", aggr_period="P1D", attrs="pm25")
    assert temporal.retrieve(platform, EID, agg)["pm25"]["totalCount"][0][0] == 1
    with pytest.raises(NotFound):
        temporal_deletes.delete_instance(platform, EID, "pm25", second, actor=ADMIN)
    with pytest.raises(NotFound):
        temporal_deletes.delete_instance(
            platform, EID, "pm25", "urn:ngsi-ld:Instance:nope", actor=ADMIN
        )

    temporal_deletes.delete_attribute(platform, EID, "status", actor=ADMIN)
    assert "status" not in temporal.retrieve(platform, EID, TemporalQuery())
    with pytest.raises(NotFound):
        temporal_deletes.delete_attribute(platform, EID, "status", actor=ADMIN)

    temporal_deletes.delete_entity(platform, EID, actor=ADMIN)
    assert temporal.retrieve(platform, EID, TemporalQuery()) == {
        "id": EID,
        "type": "AirQualityObserved",
    }
    # Readings observed after the deletion are history again.
    later = datetime.now(UTC) + timedelta(seconds=5)
    temporal_writes.append(
        platform, EID,
        {"pm25": {"type": "Property", "value": 7.0, "observedAt": later.isoformat()}},
        actor=ADMIN,
    )  # fmt: skip
    assert [i["value"] for i in temporal.retrieve(platform, EID, TemporalQuery())["pm25"]] == [7.0]
    with platform.db.connect() as conn:
        actions = [e.action for e in audit.entries(conn)]
    assert "ngsi.temporal.delete_instance" in actions and "ngsi.temporal.delete_entity" in actions
    with pytest.raises(NotFound):
        temporal_deletes.delete_entity(platform, "urn:ngsi-ld:X:none", actor=ADMIN)


def test_writes_are_scoped_to_the_writers_commune(platform: Platform) -> None:
    temporal_writes.create(platform, history(), actor=AGENT_A)
    extra = {"pm25": {"type": "Property", "value": 1.0, "observedAt": at(5)}}
    with pytest.raises(Forbidden):
        temporal_writes.append(platform, EID, extra, actor=AGENT_B)
    with pytest.raises(Forbidden):
        temporal_writes.create(platform, history(), actor=AGENT_B)
    with pytest.raises(Forbidden):
        temporal_deletes.delete_entity(platform, EID, actor=AGENT_B)
    assert temporal_writes.append(platform, EID, extra, actor=AGENT_A) == 1


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"type": "T"},
        {"id": "not a uri", "type": "T"},
        {"id": "urn:x:1"},
        {
            "id": "urn:x:1",
            "type": "T",
            "pm25": [{"type": "Property", "value": 1, "observedAt": "yesterday"}],
        },
        {"id": "urn:x:1", "type": "T", "pm25": {"type": "Nonsense", "value": 1}},
    ],
)
def test_bad_temporal_entities_are_refused(sqlite_platform: Platform, bad: Any) -> None:
    with pytest.raises(Invalid):
        temporal_writes.create(sqlite_platform, bad, actor=ADMIN)


def test_unknown_entities_are_not_found(sqlite_platform: Platform) -> None:
    with pytest.raises(NotFound):
        temporal.retrieve(sqlite_platform, "urn:ngsi-ld:X:none", TemporalQuery())
    with pytest.raises(NotFound):
        temporal_writes.append(sqlite_platform, "urn:ngsi-ld:X:none", {"a": 1}, actor=ADMIN)


def test_q_tests_the_history_and_geo_the_current_state(platform: Platform) -> None:
    from hakama.core import ngsi_query
    from hakama.services import entities

    for n, (value, lon) in enumerate([(1.0, -2.30), (50.0, -2.31), (60.0, -9.0)]):
        entities.create(
            platform,
            {
                "id": f"urn:ngsi-ld:AirQualityObserved:g{n}",
                "type": "AirQualityObserved",
                "pm25": {"type": "Property", "value": value, "observedAt": at(n)},
                "location": {
                    "type": "GeoProperty",
                    "value": {"type": "Point", "coordinates": [lon, 34.9]},
                },
            },
            actor=ADMIN,
        )
    tq = TemporalQuery.parse(attrs="pm25")
    high = temporal.query(platform, tq, q=ngsi_query.parse_q("pm25>10"))
    assert [e["id"] for e in high.entities] == [
        "urn:ngsi-ld:AirQualityObserved:g1",
        "urn:ngsi-ld:AirQualityObserved:g2",
    ]
    near = ngsi_query.parse_geoq("near;maxDistance==5000", "Point", "[-2.3,34.9]")
    both = temporal.query(platform, tq, q=ngsi_query.parse_q("pm25>10"), geoq=near)
    assert [e["id"] for e in both.entities] == ["urn:ngsi-ld:AirQualityObserved:g1"]
    assert both.entities[0]["pm25"][0]["value"] == 50.0


def test_long_histories_are_cut_at_one_instant_for_every_attribute(platform: Platform) -> None:
    body = history()
    body["no2"] = [{"type": "Property", "value": 1.0, "observedAt": at(h)} for h in (2, 30)]
    temporal_writes.create(platform, body, actor=ADMIN)
    got, cut = temporal.retrieve_range(platform, EID, TemporalQuery(), max_instances=2)
    assert cut is not None
    assert cut.first == DAY and cut.last == DAY + timedelta(hours=12)
    assert [i["value"] for i in got["pm25"]] == [10.0, 20.0]
    assert [i["observedAt"] for i in got["no2"]] == ["2026-03-01T02:00:00Z"]
    whole, none = temporal.retrieve_range(platform, EID, TemporalQuery(), max_instances=10)
    assert none is None and len(whole["pm25"]) == 4
