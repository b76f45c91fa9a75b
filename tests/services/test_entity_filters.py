"""`q=` comparisons and geo-query boxes narrowed in SQL (`services.entity_filters`) give the
results of the Python filter alone, on both engines, for random entities and queries.

Each example stores random entities (scalar values of several kinds, lists, multi-instance
attributes, relationships, points and lines) and asks random queries; the oracle is
`ngsi_query.matches` / `geo_matches` over every stored entity. The SQL condition alone must keep
every entity the oracle keeps, and decide exactly for entities whose attributes are one
instance with a scalar value (so the work really is done in SQL).
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hakama.core.access import system_actor
from hakama.core.ngsi_query import And, Not, Or, Query, geo_matches, matches, parse_geoq, parse_q
from hakama.services import entities as service
from hakama.services import entity_filters
from hakama.services.platform import Platform
from hakama.storage.schema_entities import entities

ADMIN = system_actor("test")
NAMES = ("a", "b")
WORDS = ("", "a", "B", "ab", "é", "z z", "10", "Ω")
NUMBERS = st.one_of(
    st.integers(-5, 5),
    st.sampled_from([-2.5, -0.1, 0.0, 0.1, 0.30000000000000004, 2.5, 1e-9, 3.0]),
)
SCALARS = st.one_of(NUMBERS, st.sampled_from(WORDS), st.booleans())
VALUES = st.one_of(
    SCALARS,
    SCALARS,
    st.lists(SCALARS, min_size=1, max_size=3),
    st.fixed_dictionaries({"k": SCALARS}),
)


def _attribute() -> st.SearchStrategy[Any]:
    prop = VALUES.map(lambda v: {"type": "Property", "value": v})
    relationship = st.sampled_from(["urn:x:1", "urn:x:2"]).map(
        lambda o: {"type": "Relationship", "object": o}
    )
    multi = st.lists(
        st.tuples(SCALARS, st.sampled_from(["urn:d:1", "urn:d:2"])), min_size=2, max_size=2
    ).map(lambda items: [{"type": "Property", "value": v, "datasetId": d} for v, d in items])
    return st.one_of(prop, prop, prop, relationship, multi)


def _location() -> st.SearchStrategy[Any]:
    coordinate = st.floats(-0.3, 0.3, allow_nan=False).map(lambda x: round(x, 5))
    point = st.tuples(coordinate, coordinate).map(
        lambda p: {"type": "Point", "coordinates": list(p)}
    )
    line = st.tuples(coordinate, coordinate, coordinate, coordinate).map(
        lambda c: {"type": "LineString", "coordinates": [[c[0], c[1]], [c[2], c[3]]]}
    )
    return st.one_of(point, point, line).map(lambda g: {"type": "GeoProperty", "value": g})


ENTITY = st.fixed_dictionaries(
    {},
    optional={"a": _attribute(), "b": _attribute(), "location": _location()},
)


def _term() -> st.SearchStrategy[str]:
    literal = st.one_of(
        NUMBERS.map(repr),
        st.sampled_from(WORDS).map(lambda w: json.dumps(w, ensure_ascii=False)),
        st.sampled_from(["true", "false"]),
    )
    compared = st.tuples(
        st.sampled_from(NAMES), st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), literal
    ).map(lambda t: f"{t[0]}{t[1]}{t[2]}")
    other = st.sampled_from(
        ["a", "b", "!a", "a[k]>0", 'a[k]=="a"', 'a~="^a"', "a==1..3", 'b!="a","B"']
    )
    return st.one_of(compared, compared, compared, other)


QUERY = st.recursive(
    _term(),
    lambda inner: st.tuples(inner, st.sampled_from([";", "|"]), inner).map(
        lambda t: f"({t[0]}){t[1]}({t[2]})"
    ),
    max_leaves=4,
)
GEO = st.one_of(
    st.none(),
    st.tuples(
        st.floats(-0.3, 0.3).map(lambda x: round(x, 4)),
        st.floats(-0.3, 0.3).map(lambda x: round(x, 4)),
        st.integers(100, 40_000),
    ).map(lambda t: (f"near;maxDistance=={t[2]}", "Point", f"[{t[0]},{t[1]}]")),
    st.tuples(st.floats(-0.3, 0.2), st.floats(-0.3, 0.2), st.floats(0.01, 0.3)).map(
        lambda t: (
            "within",
            "Polygon",
            json.dumps(
                [
                    [
                        [t[0], t[1]],
                        [t[0] + t[2], t[1]],
                        [t[0] + t[2], t[1] + t[2]],
                        [t[0], t[1] + t[2]],
                        [t[0], t[1]],
                    ]
                ]
            ),
        )
    ),
)


def _store(platform: Platform, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with platform.db.begin() as conn:
        conn.execute(entities.delete())
    numbered = [{"id": f"urn:ngsi-ld:T:{i}", "type": "T", **body} for i, body in enumerate(bodies)]
    service.batch_upsert(platform, numbered, actor=ADMIN)
    with platform.db.connect() as conn:
        return list(conn.execute(sa.select(entities.c.doc).order_by(entities.c.id)).scalars())


def _expressible(query: Query) -> bool:
    """Made only of comparisons with a number or a string (or existence), `;` and `|`."""
    if isinstance(query, And | Or):
        return all(_expressible(t) for t in query.terms)
    if isinstance(query, Not) or query.path.keys:
        return False
    value = query.value
    return query.op is None or (
        query.op in ("==", "!=", "<", "<=", ">", ">=")
        and isinstance(value, int | float | str)
        and not isinstance(value, bool)
    )


def _simple(doc: dict[str, Any]) -> bool:
    """Every queried attribute, if present, is one instance with a scalar value."""
    return all(
        isinstance(doc.get(n), dict)
        and "value" in doc[n]
        and not isinstance(doc[n]["value"], list | dict)
        for n in NAMES
        if n in doc
    )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    bodies=st.lists(ENTITY, min_size=1, max_size=25), queries=st.lists(QUERY, max_size=4), geo=GEO
)
def test_sql_narrowing_keeps_the_python_results(
    platform: Platform, bodies: list[dict[str, Any]], queries: list[str], geo: Any
) -> None:
    docs = _store(platform, bodies)
    geoq = parse_geoq(*geo) if geo else None
    for text in [*queries, None]:
        q = parse_q(text) if text else None
        expected = [
            d["id"]
            for d in docs
            if (q is None or matches(d, q)) and (geoq is None or geo_matches(d, geoq))
        ]
        found = service.query(platform, q=q, geoq=geoq, limit=1000, count=True)
        assert [d["id"] for d in found.entities] == expected, (text, geo)
        assert found.count == len(expected)
        page = service.query(platform, q=q, geoq=geoq, limit=3, offset=1)
        assert [d["id"] for d in page.entities] == expected[1:4]
        if q is None:
            continue
        condition = entity_filters.q_condition(q, platform.db.dialect)
        if condition is None:
            continue
        with platform.db.connect() as conn:
            kept = set(conn.execute(sa.select(entities.c.id).where(condition)).scalars())
        by_q = {d["id"] for d in docs if matches(d, q)}
        assert kept >= by_q, text
        if _expressible(q):
            simple = {d["id"] for d in docs if _simple(d)}
            assert kept & simple == by_q & simple, text


def test_cells_hold_the_whole_box_or_are_large() -> None:
    assert entity_filters.cell_of(None) is None
    small = entity_filters.cell_of((-2.3001, 34.9201, -2.3001, 34.9201))
    assert small is not None and small >= 0
    assert entity_filters.cell_of((-2.3001, 34.9201, -2.3001, 34.9201)) == small
    assert entity_filters.cell_of((-2.3, 34.9, -2.2, 34.95)) == entity_filters.LARGE
    assert entity_filters.cell_of((-2.3001, 34.9201, -2.2801, 34.9201)) != small
