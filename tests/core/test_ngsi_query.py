"""The q-language parser and evaluator (clause 4.9) and geo-queries (clause 4.10)."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hakama.core.errors import Invalid
from hakama.core.ngsi_query import (
    And,
    Comparison,
    Not,
    Or,
    Path,
    Query,
    Range,
    attribute_names,
    geo_matches,
    matches,
    parse_geoq,
    parse_q,
    to_text,
)
from hakama.core.ngsi_selectors import parse_types, types_match

ENTITY: dict[str, Any] = {
    "id": "urn:ngsi-ld:AirQualityObserved:b1",
    "type": "AirQualityObserved",
    "pm25": {
        "type": "Property",
        "value": 31.5,
        "unitCode": "GQ",
        "observedAt": "2026-03-01T10:00:00Z",
    },
    "status": {"type": "Property", "value": "ok"},
    "online": {"type": "Property", "value": True},
    "tags": {"type": "Property", "value": ["school", "road"]},
    "address": {"type": "Property", "value": {"city": "Berkane", "street": {"number": 12}}},
    "name": {"type": "LanguageProperty", "languageMap": {"fr": "Centre", "ar": "المركز"}},
    "refDevice": {"type": "Relationship", "object": "urn:ngsi-ld:Device:7"},
    "temperature": [
        {"type": "Property", "value": 21, "datasetId": "urn:ngsi-ld:Dataset:a"},
        {"type": "Property", "value": 25, "datasetId": "urn:ngsi-ld:Dataset:b"},
    ],
    "noise": {"type": "Property", "value": 60, "accuracy": {"type": "Property", "value": 0.5}},
    "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [-2.30, 34.92]}},
}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("pm25>30", True),
        ("pm25>=31.5", True),
        ("pm25<31.5", False),
        ("pm25<=31.5;pm25>31", True),
        ("pm25==30..40", True),
        ("pm25==32..40", False),
        ("pm25!=32..40", True),
        ("pm25==1,2,31.5", True),
        ("pm25!=1,2,31.5", False),
        ("pm25!=1,2", True),
        ('status=="ok"', True),
        ('status!="ok"', False),
        ("status==ok", True),
        ("online==true", True),
        ("online==false", False),
        ('tags=="road"', True),
        ('tags=="park"', False),
        ('address[city]=="Berkane"', True),
        ("address[street.number]>=12", True),
        ("address[zip]", False),
        ("address[city]", True),
        ('name=="Centre"', True),
        ('name~="^Cen"', True),
        ('name!~="^Cen"', False),
        ("refDevice==urn:ngsi-ld:Device:7", True),
        ('refDevice=="urn:ngsi-ld:Device:8"', False),
        ("pm25.observedAt>2026-02-28T00:00:00Z", True),
        ("pm25.observedAt<2026-02-28", False),
        ('pm25.unitCode=="GQ"', True),
        ("noise.accuracy<1", True),
        ("noise.accuracy>1", False),
        ("temperature>24", True),
        ("temperature>30", False),
        ("pm25", True),
        ("missing", False),
        ("!missing", True),
        ("!pm25", False),
        ("missing>3", False),
        ("missing!=3", False),
        ("(pm25<10|pm25>30);status==ok", True),
        ("pm25<10|pm25>30;status==nok", False),
        ("pm25<10|(pm25>30;status==ok)", True),
        ('pm25=="31.5"', False),
        ("status>3", False),
        (" pm25 > 30 ", True),
    ],
)
def test_q_on_an_entity(q: str, expected: bool) -> None:
    assert matches(ENTITY, parse_q(q)) is expected


def test_and_binds_tighter_than_or() -> None:
    query = parse_q("a==1|b==2;c==3")
    assert isinstance(query, Or)
    assert isinstance(query.terms[1], And)


def test_names_are_expanded_with_the_request_context() -> None:
    query = parse_q(
        "pm25>3;noise.accuracy<1;address[city]==x", expand=lambda n: f"https://x.org/{n}"
    )
    assert attribute_names(query) == {
        "https://x.org/pm25",
        "https://x.org/noise",
        "https://x.org/address",
    }
    assert isinstance(query, And)
    second = query.terms[1]
    assert isinstance(second, Comparison)
    assert second.path == Path("https://x.org/noise", ("https://x.org/accuracy",))


@pytest.mark.parametrize(
    ("q", "message"),
    [
        ("", "empty"),
        ("pm25>", "expected a value"),
        ("pm25>>3", "unquoted value"),
        ("(pm25>3", "missing ')'"),
        ("pm25>3)", "unexpected character"),
        ('pm25=="x', "unterminated string"),
        ("a;;b", "expected an attribute name"),
        ('a~="("', "bad regular expression"),
        ("a==1..2..3", "two ends"),
        ("a>1,2", "needs == or !="),
        ("a>1..2", "needs == or !="),
        ("a[b", "missing ']'"),
        ("a==1,,2", "empty value"),
        ("a==()", "unquoted value"),
        ("(" * 40 + "a" + ")" * 40, "nested"),
    ],
)
def test_bad_queries_say_what_and_where(q: str, message: str) -> None:
    with pytest.raises(Invalid, match=re.escape(message)):
        parse_q(q)


# ----------------------------------------------------------------------- hypothesis

names = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_]{0,6}", fullmatch=True)
scalars = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
    st.datetimes(
        min_value=datetime(1000, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
    ),
)
paths = st.builds(
    Path,
    names,
    st.lists(names.filter(lambda n: n not in ("value", "object", "lang")), max_size=2).map(tuple),
    st.lists(names, max_size=2).map(tuple),
)
comparisons = st.one_of(
    st.builds(Comparison, paths, st.sampled_from(["==", "!=", ">", ">=", "<", "<="]), scalars),
    st.builds(
        Comparison,
        paths,
        st.sampled_from(["==", "!="]),
        st.lists(scalars, min_size=2, max_size=4).map(tuple),
    ),
    st.builds(Comparison, paths, st.sampled_from(["==", "!="]), st.builds(Range, scalars, scalars)),
    st.builds(
        Comparison,
        paths,
        st.sampled_from(["~=", "!~="]),
        st.from_regex(r"\^?[a-z0-9 .]{1,10}\$?", fullmatch=True).map(re.compile),
    ),
    st.builds(Comparison, paths, st.none()),
    st.builds(Not, paths),
)
queries: st.SearchStrategy[Query] = st.recursive(
    comparisons,
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(lambda t: And(tuple(t))),
        st.lists(inner, min_size=2, max_size=3).map(lambda t: Or(tuple(t))),
    ),
    max_leaves=8,
)


@settings(max_examples=120, deadline=None)
@given(queries)
def test_written_queries_parse_back_to_themselves(query: Query) -> None:
    text = to_text(query)
    assert to_text(parse_q(text)) == text


@settings(max_examples=200, deadline=None)
@given(queries)
def test_evaluating_any_query_never_raises(query: Query) -> None:
    assert matches(ENTITY, parse_q(to_text(query))) in (True, False)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab.[]()!=<>~;|,\"'\\ 0123456789-:TZ")), max_size=40))
def test_any_text_parses_or_is_refused_cleanly(text: str) -> None:
    try:
        query = parse_q(text)
    except Invalid as exc:
        assert str(exc).startswith("q: ")
        return
    assert matches(ENTITY, query) in (True, False)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_unicode_parses_or_is_refused_cleanly(text: str) -> None:
    with contextlib.suppress(Invalid):
        parse_q(text)


@settings(max_examples=200, deadline=None)
@given(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9),
    st.sampled_from([">", ">=", "<", "<=", "==", "!="]),
)
def test_numeric_comparisons_follow_python(value: float, bound: float, op: str) -> None:
    entity = {"id": "urn:x:1", "type": "T", "v": {"type": "Property", "value": value}}
    expected = {
        ">": value > bound, ">=": value >= bound, "<": value < bound,
        "<=": value <= bound, "==": value == bound, "!=": value != bound,
    }[op]  # fmt: skip
    assert matches(entity, parse_q(f"v{op}{bound!r}")) is expected


# ----------------------------------------------------------------------- geo-queries

SQUARE = "[[[-2.4,34.8],[-2.2,34.8],[-2.2,35.0],[-2.4,35.0],[-2.4,34.8]]]"


@pytest.mark.parametrize(
    ("georel", "geometry", "coordinates", "expected"),
    [
        ("near;maxDistance==1000", "Point", "[-2.31,34.92]", True),  # about 913 m away
        ("near;maxDistance==800", "Point", "[-2.31,34.92]", False),
        ("near;minDistance==800", "Point", "[-2.31,34.92]", True),
        ("near;minDistance==1000", "Point", "[-2.31,34.92]", False),
        ("within", "Polygon", SQUARE, True),
        ("within", "Polygon", "[[[0,0],[1,0],[1,1],[0,1],[0,0]]]", False),
        ("intersects", "Polygon", SQUARE, True),
        ("disjoint", "Polygon", SQUARE, False),
        ("disjoint", "Polygon", "[[[0,0],[1,0],[1,1],[0,1],[0,0]]]", True),
        ("equals", "Point", "[-2.30,34.92]", True),
        ("equals", "Point", "[-2.30,34.93]", False),
        ("contains", "Point", "[-2.30,34.92]", True),
        ("overlaps", "Polygon", SQUARE, False),
        ("near;maxDistance==2000", "LineString", "[[-2.32,34.90],[-2.32,34.95]]", True),
    ],
)
def test_geo_relations(georel: str, geometry: str, coordinates: str, expected: bool) -> None:
    geoq = parse_geoq(georel, geometry, coordinates)
    assert geoq is not None
    assert geo_matches(ENTITY, geoq) is expected
    box = geoq.bbox()
    if expected and box is not None:
        # The SQL prefilter box must never drop a match.
        lon, lat = ENTITY["location"]["value"]["coordinates"]
        assert box[0] <= lon <= box[2] and box[1] <= lat <= box[3]


def test_a_named_geoproperty_is_queried() -> None:
    entity = {
        **ENTITY,
        "area": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [10, 10]}},
    }
    geoq = parse_geoq("near;maxDistance==10", "Point", "[10,10]", "area")
    assert geoq is not None and geo_matches(entity, geoq)
    assert not geo_matches(ENTITY, geoq)  # no such property


@pytest.mark.parametrize(
    ("georel", "geometry", "coordinates", "message"),
    [
        ("near", "Point", "[0,0]", "maxDistance or minDistance"),
        ("near;maxDistance==x", "Point", "[0,0]", "number of metres"),
        ("near;maxDistance==-1", "Point", "[0,0]", "non-negative"),
        ("near;foo==1", "Point", "[0,0]", "bad modifier"),
        ("within;maxDistance==1", "Polygon", SQUARE, "bad modifier"),
        ("around", "Point", "[0,0]", "unknown relation"),
        ("within", "Circle", "[0,0]", "unknown type"),
        ("within", "Point", "[0,", "not a JSON array"),
        ("within", "Point", "[200,0]", "outside WGS 84"),
        ("within", "Point", "[0]", "a position is"),
        ("within", "Polygon", "[[[0,0],[1,0]]]", "malformed Polygon"),
        ("within", "Point", '["a","b"]', "arrays of numbers"),
        ("within", None, "[0,0]", "together"),
    ],
)
def test_bad_geo_queries(georel: str, geometry: str | None, coordinates: str, message: str) -> None:
    with pytest.raises(Invalid, match=re.escape(message)):
        parse_geoq(georel, geometry, coordinates)


def test_no_geo_query_is_none() -> None:
    assert parse_geoq(None, None, None) is None
    with pytest.raises(Invalid):
        parse_geoq(None, None, None, "location")


@pytest.mark.parametrize(
    ("text", "types", "expected"),
    [
        ("A", {"A"}, True),
        ("A,B", {"B"}, True),
        ("A|B", {"C"}, False),
        ("A;B", {"A"}, False),
        ("A;B", {"A", "B", "C"}, True),
        ("(A;B)|C", {"C"}, True),
        ("(A|B);C", {"B", "C"}, True),
        ("(A|B);C", {"A", "B"}, False),
    ],
)
def test_type_expressions(text: str, types: set[str], expected: bool) -> None:
    assert types_match(types, parse_types(text)) is expected


@pytest.mark.parametrize("text", ["", "(A", "A;", "A)", "A||B", "(" * 40 + "A" + ")" * 40])
def test_bad_type_expressions(text: str) -> None:
    with pytest.raises(Invalid, match="type: "):
        parse_types(text)
