"""Entity parsing, validation, attribute updates, observations and rendering."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hakama.core import entities, entity_geometry, entity_merge, entity_render, jsonld
from hakama.core.errors import Invalid

CORE = jsonld.core()
NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
BODY: dict[str, Any] = {
    "@context": "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld",
    "id": "urn:ngsi-ld:AirQualityObserved:b1",
    "type": "AirQualityObserved",
    "pm25": {
        "type": "Property",
        "value": 31.5,
        "unitCode": "GQ",
        "observedAt": "2026-03-01T09:00:00+01:00",
    },
    "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [-2.30, 34.92]}},
    "name": {"type": "LanguageProperty", "languageMap": {"fr": "Centre", "ar": "المركز"}},
    "refDevice": {"type": "Relationship", "object": "urn:ngsi-ld:Device:7"},
    "createdAt": "1999-01-01T00:00:00Z",
}


def test_parse_normalizes_and_drops_system_members() -> None:
    entity = entities.parse_entity(BODY, CORE)
    assert entity["pm25"] == {
        "type": "Property",
        "value": 31.5,
        "unitCode": "GQ",
        "observedAt": "2026-03-01T08:00:00Z",
    }
    assert "@context" not in entity and "createdAt" not in entity
    assert entity_geometry.representative_point(entity) == (-2.30, 34.92)
    assert entity_geometry.geometry_bbox(entity) == (-2.30, 34.92, -2.30, 34.92)


def test_concise_input_is_understood() -> None:
    entity = entities.parse_entity(
        {
            "id": "urn:x:1",
            "type": "T",
            "count": 3,
            "label": "hello",
            "location": {"type": "Point", "coordinates": [1, 2]},
            "ref": {"object": "urn:x:2"},
            "name": {"languageMap": {"fr": "x"}},
            "speed": {"value": 4, "accuracy": 0.5},
            "data": {"json": {"a": [1, 2]}},
        },
        CORE,
    )
    assert entity["count"] == {"type": "Property", "value": 3}
    assert entity["location"]["type"] == "GeoProperty"
    assert entity["ref"] == {"type": "Relationship", "object": "urn:x:2"}
    assert entity["name"]["type"] == "LanguageProperty"
    assert entity["speed"]["accuracy"] == {"type": "Property", "value": 0.5}
    assert entity["data"] == {"type": "JsonProperty", "json": {"a": [1, 2]}}


def test_multi_instance_attributes_need_distinct_dataset_ids() -> None:
    entity = entities.parse_entity(
        {
            "id": "urn:x:1",
            "type": "T",
            "t": [{"value": 1, "datasetId": "urn:d:a"}, {"value": 2, "datasetId": "urn:d:b"}],
        },
        CORE,
    )
    assert [i["value"] for i in entities.instances(entity["t"])] == [1, 2]
    with pytest.raises(Invalid, match="same datasetId"):
        entities.parse_entity(
            {"id": "urn:x:1", "type": "T", "t": [{"value": 1}, {"value": 2}]}, CORE
        )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "JSON object"),
        ({"type": "T"}, "id: missing"),
        ({"id": "not a uri", "type": "T"}, "must be a URI"),
        ({"id": "urn:x:1"}, "type: missing"),
        ({"id": "urn:x:1", "type": []}, "at least one type"),
        ({"id": "urn:x:1", "type": "T", "a": None}, "null is not a value"),
        ({"id": "urn:x:1", "type": "T", "a": {"type": "Property"}}, "needs `value`"),
        (
            {"id": "urn:x:1", "type": "T", "a": {"type": "Thing", "value": 1}},
            "unknown attribute type",
        ),
        (
            {"id": "urn:x:1", "type": "T", "a": {"type": "Relationship", "object": "nope"}},
            "must be a URI",
        ),
        (
            {"id": "urn:x:1", "type": "T", "location": {"type": "Property", "value": 1}},
            "must be a GeoProperty",
        ),
        (
            {
                "id": "urn:x:1",
                "type": "T",
                "g": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [500, 0]}},
            },
            "WGS 84",
        ),
        (
            {"id": "urn:x:1", "type": "T", "a": {"value": 1, "observedAt": "yesterday"}},
            "not an ISO 8601",
        ),
        (
            {"id": "urn:x:1", "type": "T", "a": {"value": 1, "observedAt": "2026-01-01"}},
            "a date, not a date-time",
        ),
        ({"id": "urn:x:1", "type": "T", "a": {"value": float("nan")}}, "finite"),
        ({"id": "urn:x:1", "type": "T", "a b": 1}, "invalid name"),
        ({"id": "urn:x:1", "type": "T", "n": {"languageMap": {"not a tag!": "x"}}}, "language tag"),
        ({"id": "urn:x:1", "type": "T", "n": {"languageMap": {"fr": 3}}}, "must be a string"),
        ({"id": "urn:x:1", "type": "T", "a": {"value": 1, "unitCode": 5}}, "unitCode"),
        ({"id": "urn:x:1", "type": "T", "a": {"value": 1, "object": "urn:x"}}, "does not belong"),
    ],
)
def test_bad_entities_are_refused_with_the_member_named(body: Any, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        entities.parse_entity(body, CORE)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=10,
    )
)
def test_any_json_is_parsed_or_refused_cleanly(value: Any) -> None:
    for body in (
        value,
        {"id": "urn:x:1", "type": "T", "a": value},
        {"id": "urn:x:1", "type": "T", "a": {"type": "Property", "value": value}},
    ):
        try:
            entity = entities.parse_entity(body, CORE)
        except Invalid:
            continue
        entity_render.render(entity, CORE, fmt="concise")
        entities.observations(
            "urn:x:1", "T", entities.attributes_of(entity), now=NOW, area_code=None, source="http"
        )


def test_apply_fragment_modes() -> None:
    entity = entity_merge.stamp_new(entities.parse_entity(BODY, CORE), NOW)
    later = datetime(2026, 3, 2, tzinfo=UTC)
    fragment = entities.parse_fragment({"pm25": 40, "noise": 55}, CORE)
    update = entity_merge.apply_fragment(entity, fragment, mode="update", now=later)
    assert update.updated == ("pm25",)
    assert update.not_updated == (("noise", "attribute does not exist"),)
    assert update.entity["pm25"]["value"] == 40
    assert update.entity["pm25"]["createdAt"] == "2026-03-01T10:00:00Z"
    assert update.entity["modifiedAt"] == "2026-03-02T00:00:00Z"
    keep = entity_merge.apply_fragment(entity, fragment, mode="append_no_overwrite", now=later)
    assert keep.updated == ("noise",) and keep.entity["pm25"]["value"] == 31.5
    merged = entity_merge.apply_fragment(
        entity,
        entities.parse_fragment({"pm25": {"value": 12}, "name": "urn:ngsi-ld:null"}, CORE),
        mode="merge",
        now=later,
    )
    assert merged.entity["pm25"]["value"] == 12 and merged.entity["pm25"]["unitCode"] == "GQ"
    assert "name" not in merged.entity


def test_observations_one_per_instance_with_observed_time() -> None:
    entity = entities.parse_entity(BODY, CORE)
    rows = {
        o.attribute: o
        for o in entities.observations(
            "urn:x:1", "T", entity, now=NOW, area_code="02.113.01.09", source="http"
        )
    }
    assert rows["pm25"].value == 31.5 and rows["pm25"].unit == "GQ"
    assert rows["pm25"].time == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert rows["refDevice"].text == "urn:ngsi-ld:Device:7" and rows["refDevice"].time == NOW
    assert rows["location"].text == '{"coordinates":[-2.3,34.92],"type":"Point"}'
    assert "id" not in rows and "type" not in rows


def test_render_representations() -> None:
    entity = entity_merge.stamp_new(entities.parse_entity(BODY, CORE), NOW)
    key_values = entity_render.render(entity, CORE, fmt="keyValues", lang="ar")
    assert key_values == {
        "id": "urn:ngsi-ld:AirQualityObserved:b1",
        "type": "AirQualityObserved",
        "pm25": 31.5,
        "location": {"type": "Point", "coordinates": [-2.30, 34.92]},
        "name": "المركز",
        "refDevice": "urn:ngsi-ld:Device:7",
    }
    concise = entity_render.render(entity, CORE, fmt="concise", attrs=["pm25", "refDevice"])
    assert concise["pm25"] == {
        "value": 31.5,
        "unitCode": "GQ",
        "observedAt": "2026-03-01T08:00:00Z",
    }
    assert concise["refDevice"] == {"object": "urn:ngsi-ld:Device:7"}
    assert set(concise) == {"id", "type", "pm25", "refDevice"}
    normalized = entity_render.render(entity, CORE, sys_attrs=True, lang="en,fr;q=0.5")
    assert normalized["name"] == {
        "type": "Property",
        "value": "Centre",
        "lang": "fr",
        "createdAt": "2026-03-01T10:00:00Z",
        "modifiedAt": "2026-03-01T10:00:00Z",
    }
    assert normalized["createdAt"] == "2026-03-01T10:00:00Z"
    assert "createdAt" not in entity_render.render(entity, CORE)["pm25"]
    # Concise output read back gives the same entity.
    again = entities.parse_entity(entity_render.render(entity, CORE, fmt="concise"), CORE)
    assert again == entities.parse_entity(BODY, CORE)


def test_names_follow_the_context() -> None:
    ctx = jsonld.build({"pm": "https://sdm.org/pm25", "AQ": "https://sdm.org/AirQuality"})
    entity = entities.parse_entity({"id": "urn:x:1", "type": "AQ", "pm": 3}, ctx)
    assert entity["type"] == "https://sdm.org/AirQuality" and "https://sdm.org/pm25" in entity
    assert entity_render.render(entity, ctx, fmt="keyValues") == {
        "id": "urn:x:1",
        "type": "AQ",
        "pm": 3,
    }
    assert entity_render.render(entity, CORE, fmt="keyValues") == {
        "id": "urn:x:1",
        "type": "https://sdm.org/AirQuality",
        "https://sdm.org/pm25": 3,
    }
