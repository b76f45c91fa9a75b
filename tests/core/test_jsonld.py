"""@context handling: canonical names, user contexts, Link headers."""

from __future__ import annotations

from typing import Any

import pytest

from hakama.core import jsonld
from hakama.core.errors import Invalid

USER = {
    "sdm": "https://smartdatamodels.org/",
    "pm25": "sdm:pm25",
    "Sensor": "https://example.org/Sensor",
}


def test_core_names_are_their_own_canonical_form() -> None:
    core = jsonld.core()
    assert core.expand("pm25") == "https://uri.etsi.org/ngsi-ld/default-context/pm25"
    assert core.expand("location") == "https://uri.etsi.org/ngsi-ld/location"
    for name in ("pm25", "location", "observedAt", "name"):
        assert core.to_canonical(name) == name
        assert core.from_canonical(name) == name
    assert core.to_canonical("https://uri.etsi.org/ngsi-ld/default-context/pm25") == "pm25"


@pytest.mark.parametrize("version", jsonld.CORE_VERSIONS)
def test_shipped_core_contexts_load(version: str) -> None:
    document = jsonld.core_document(version)
    assert document["@vocab"] == jsonld.DEFAULT_VOCAB
    assert document["value"] == "ngsi-ld:hasValue"


def test_a_user_context_maps_names_both_ways() -> None:
    ctx = jsonld.build([USER, jsonld.DEFAULT_CORE_URL])
    assert ctx.to_canonical("pm25") == "https://smartdatamodels.org/pm25"
    assert ctx.to_canonical("Sensor") == "https://example.org/Sensor"
    assert ctx.to_canonical("other") == "other"  # default vocabulary
    assert ctx.to_canonical("location") == "location"  # core terms win
    assert ctx.from_canonical("https://smartdatamodels.org/pm25") == "pm25"
    # A client without the user context reads the full IRI.
    assert (
        jsonld.core().from_canonical("https://smartdatamodels.org/pm25")
        == "https://smartdatamodels.org/pm25"
    )
    assert ctx.body_context() == [USER, jsonld.DEFAULT_CORE_URL]


def test_compact_iris_and_user_vocab() -> None:
    ctx = jsonld.build({"@vocab": "https://example.org/v/", "ex": "https://example.org/"})
    assert ctx.to_canonical("speed") == "https://example.org/v/speed"
    assert ctx.to_canonical("ex:speed") == "https://example.org/speed"
    assert ctx.from_canonical("https://example.org/v/speed") == "speed"


def test_remote_contexts_go_through_the_resolver() -> None:
    asked: list[str] = []

    def resolve(url: str) -> Any:
        asked.append(url)
        return {"temp": "https://example.org/temperature"}

    ctx = jsonld.build("https://example.org/ctx.jsonld", resolve)
    assert ctx.to_canonical("temp") == "https://example.org/temperature"
    assert asked == ["https://example.org/ctx.jsonld"]
    # The core contexts are never resolved remotely.
    assert jsonld.build(jsonld.DEFAULT_CORE_URL, resolve).is_core
    assert asked == ["https://example.org/ctx.jsonld"]


@pytest.mark.parametrize("value", [42, [["nested"]], [1], {"t": 5}])
def test_bad_contexts_are_invalid(value: Any) -> None:
    with pytest.raises(Invalid):
        jsonld.build(value, lambda url: {})


def test_link_headers() -> None:
    header = jsonld.link_header("https://example.org/c.jsonld")
    assert jsonld.parse_link_header(header) == "https://example.org/c.jsonld"
    assert jsonld.parse_link_header('<https://x>; rel="alternate"') is None
    assert jsonld.parse_link_header(None) is None
    assert jsonld.parse_link_header("garbage") is None
