"""Open data end to end, over a real uvicorn: the CKAN action API through the real `ckanapi`
client, DCAT-AP 3 validated by pyshacl against the official shapes, the pages, and the privacy
gate as a wall (every byte of every distribution and answer grepped for seeded markers)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import ckanapi
import h3
import httpx
import pyarrow.parquet as pq
import pyshacl
import pytest
import rdflib
from hypothesis import given, settings
from hypothesis import strategies as st

from hakama.core.access import system_actor
from hakama.core.errors import Forbidden, Invalid
from hakama.core.requests import MAX_NOTE
from hakama.demo.seed_services import catalogue_for
from hakama.demo.territory import demo_areas
from hakama.services import (
    audit,
    dataset_builds,
    datasets,
    request_publication,
    request_types,
    territory,
)
from hakama.services.platform import Platform
from hakama.settings import Settings
from hakama.storage.schema import audit_log
from tests.browser.conftest import serve
from tests.http.open_data_world import APPROVED_TEXT, MARKERS, World, build_world

# rdflib's JSON-LD parser still builds a ConjunctiveGraph internally (deprecated in rdflib 7).
pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")

SHAPES = Path(__file__).resolve().parents[1] / "data" / "dcat-ap-3.0.1" / "dcat-ap-SHACL.ttl"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = build_world(tmp_path_factory.mktemp("open-data") / "data")
    yield w
    w.platform.close()


@pytest.fixture(scope="module")
def url(world: World) -> Iterator[str]:
    with serve(world.platform) as base:
        yield base


@pytest.fixture(scope="module")
def ckan(url: str) -> ckanapi.RemoteCKAN:
    return ckanapi.RemoteCKAN(url, user_agent="hakama-tests/1.0")


# The CKAN API, through ckanapi ------------------------------------------------------------------


def test_ckanapi_lists_and_shows_the_published_datasets(ckan: ckanapi.RemoteCKAN, url: str) -> None:
    status = ckan.action.status_show()
    assert status["ckan_version"].startswith("2.")
    names = ckan.action.package_list()
    assert {"service-requests", "service-level", "territory", "indicator-requests-per-10k"} <= set(
        names
    )
    # Nothing in the lake yet for sensors or records: not published rather than empty.
    assert "sensor-hourly" not in names
    pkg = ckan.action.package_show(id="service-requests")
    assert pkg["name"] == "service-requests"
    assert set(pkg["title_translated"]) == {"ar", "fr", "en"}
    assert pkg["title"] == pkg["title_translated"]["fr"]  # the default language
    assert pkg["license_id"] == "odc-odbl" and pkg["license_url"].startswith(
        "https://opendatacommons.org"
    )
    assert pkg["organization"]["name"] == "02.113"
    assert [r["format"] for r in pkg["resources"]] == ["CSV", "JSON", "Parquet", "GeoJSON"]
    extras = {e["key"]: e["value"] for e in pkg["extras"]}
    assert extras["frequency"].endswith("/DAILY") and extras["build_status"] == "ok"
    assert extras["temporal_start"] <= extras["temporal_end"]
    # the same dataset by its UUID, as CKAN allows
    assert ckan.action.package_show(id=pkg["id"])["name"] == "service-requests"
    # a resource's URL downloads the file it describes
    csv = pkg["resources"][0]
    assert ckan.action.resource_show(id=csv["id"])["url"] == csv["url"]
    body = httpx.get(csv["url"]).content.decode("utf-8")
    header = body.splitlines()[0].split(",")
    assert "commune_name_ar" in header and "service_name_fr" in header and "lat" in header
    assert len(body.splitlines()) == 13  # header + 12 requests


def slice_of(dataset_id: str, commune: str) -> str:
    return f"{dataset_id}-{commune.replace('.', '-').lower()}"


def test_a_commune_publishes_its_own_rows(ckan: ckanapi.RemoteCKAN, world: World) -> None:
    names = set(ckan.action.package_list())
    mine = slice_of("service-requests", world.commune)
    # every request was filed in one commune: only that commune has slices to publish
    assert {mine, slice_of("service-level", world.commune)} <= names
    assert not any(n.startswith("service-requests-") and n != mine for n in names)
    pkg = ckan.action.package_show(id=mine)
    commune = territory.get_area(world.platform, world.commune)
    assert pkg["organization"]["name"] == pkg["owner_org"] == world.commune
    assert pkg["organization"]["title"] == commune.names["fr"]
    assert pkg["title_translated"]["ar"].endswith(commune.names["ar"])
    assert json.loads(next(e["value"] for e in pkg["extras"] if e["key"] == "spatial")) == (
        commune.geometry
    )
    assert [r["format"] for r in pkg["resources"]] == ["CSV", "JSON", "Parquet", "GeoJSON"]
    rows = httpx.get(pkg["resources"][0]["url"]).text.splitlines()
    province_rows = httpx.get(
        ckan.action.package_show(id="service-requests")["resources"][0]["url"]
    ).text.splitlines()
    assert rows == province_rows  # the same gated rows, cut from the province's file
    page = ckan.action.datastore_search(resource_id=pkg["resources"][0]["id"], limit=0)
    assert page["total"] == 12


def test_package_search_q_fq_sort_paging_and_facets(
    ckan: ckanapi.RemoteCKAN, world: World
) -> None:
    everything = ckan.action.package_search(rows=1000)
    assert everything["count"] == len(ckan.action.package_list())
    found = ckan.action.package_search(
        q="demandes",
        fq="res_format:GeoJSON groups:government",
        **{"facet.field": ["res_format", "groups", "license_id"]},
    )
    requests = ["service-requests", slice_of("service-requests", world.commune)]
    assert sorted(p["name"] for p in found["results"]) == requests
    assert found["facets"]["res_format"]["GeoJSON"] == 2
    assert found["search_facets"]["groups"]["items"][0]["name"] == "government"
    by_name = ckan.action.package_search(sort="name asc", rows=3)
    assert [p["name"] for p in by_name["results"]] == sorted(
        p["name"] for p in everything["results"]
    )[:3]
    page2 = ckan.action.package_search(sort="name asc", rows=3, start=3)
    assert page2["results"][0]["name"] == sorted(p["name"] for p in everything["results"])[3]
    assert ckan.action.package_search(fq='tags:"Open311"')["count"] == 2
    province_only = ckan.action.package_search(fq='tags:"Open311" organization:02.113')
    assert [p["name"] for p in province_only["results"]] == ["service-requests"]
    assert ckan.action.package_search(fq="license_id:cc-zero")["count"] == 0


def test_organizations_groups_tags_licences(ckan: ckanapi.RemoteCKAN, world: World) -> None:
    orgs = ckan.action.organization_list()
    assert "02.113" in orgs and world.commune in orgs
    names = set(ckan.action.package_list())
    communes = {
        slice_of("service-requests", world.commune),
        slice_of("service-level", world.commune),
    }
    province = ckan.action.organization_show(id="02.113", include_datasets=True)
    assert {p["name"] for p in province["packages"]} == names - communes
    assert province["package_count"] == len(names - communes)
    commune = ckan.action.organization_show(id=world.commune, include_datasets=True)
    assert commune["package_count"] == 2
    assert {p["name"] for p in commune["packages"]} == communes
    assert {p["organization"]["name"] for p in commune["packages"]} == {world.commune}
    found = ckan.action.package_search(fq=f"organization:{world.commune}", rows=100)
    assert {p["name"] for p in found["results"]} == communes
    counted = {o["name"]: o["package_count"] for o in ckan.action.organization_list(all_fields=True)}
    assert counted[world.commune] == 2 and counted["02.113"] == len(names - communes)
    other = next(o for o in orgs if o not in ("02.113", world.commune))
    assert ckan.action.organization_show(id=other)["package_count"] == 0
    groups = ckan.action.group_list(all_fields=True)
    env = next(g for g in groups if g["name"] == "government")
    assert env["package_count"] >= 3 and env["title_translated"]["ar"]
    assert ckan.action.group_show(id="regions")["package_count"] == 1  # the territory
    assert "Open311" in ckan.action.tag_list()
    assert {"odc-odbl", "cc-by-4.0"} <= {lic["id"] for lic in ckan.action.license_list()}


def test_datastore_search_filters_q_sort_fields_and_paging(
    ckan: ckanapi.RemoteCKAN, world: World
) -> None:
    pkg = ckan.action.package_show(id="service-requests")
    rid = pkg["resources"][0]["id"]
    page = ckan.action.datastore_search(resource_id=rid, limit=5)
    assert page["total"] == 12 and len(page["records"]) == 5
    assert {"id": "lat", "type": "float"} in page["fields"]
    resolved = ckan.action.datastore_search(
        resource_id=rid,
        filters={"status": "resolved"},
        fields=["request_id", "status"],
        sort="request_id desc",
    )
    assert resolved["total"] == 6
    assert [r["status"] for r in resolved["records"]] == ["resolved"] * 6
    assert [r["request_id"] for r in resolved["records"]] == sorted(
        (r["request_id"] for r in resolved["records"]), reverse=True
    )
    assert set(resolved["records"][0]) == {"request_id", "status"}
    both = ckan.action.datastore_search(
        resource_id=rid, filters={"status": ["resolved", "open"]}, limit=0
    )
    assert both["total"] == 12 and both["records"] == []
    text = ckan.action.datastore_search(resource_id=rid, q="réparé")
    assert [r["request_id"] for r in text["records"]] == [world.request_ids[0]]
    paged = ckan.action.datastore_search(resource_id=rid, sort="request_id asc", limit=4, offset=8)
    assert [r["request_id"] for r in paged["records"]] == sorted(world.request_ids)[8:12]


def test_bad_input_gets_ckan_error_envelopes(ckan: ckanapi.RemoteCKAN, url: str) -> None:
    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id="no-such-dataset")
    with pytest.raises(ckanapi.NotFound):
        ckan.action.resource_show(id="00000000-0000-0000-0000-000000000000")
    with pytest.raises(ckanapi.NotFound):
        ckan.action.datastore_search(resource_id="nope")
    for params, field in (
        ({"rows": 1001}, "rows"),
        ({"rows": "many"}, "rows"),
        ({"fq": "owner:me"}, "fq"),
        ({"sort": "size desc"}, "sort"),
        ({"facet.field": '["colour"]'}, "facet.field"),
        ({"start": -1}, "start"),
    ):
        with pytest.raises(ckanapi.ValidationError) as caught:
            ckan.action.package_search(**params)
        assert field in caught.value.error_dict, (params, caught.value.error_dict)
    rid = ckan.action.package_show(id="service-requests")["resources"][0]["id"]
    for params, field in (
        ({"filters": {"no_column": 1}}, "filters"),
        ({"sort": "lat; DROP TABLE x"}, "sort"),
        ({"fields": ["description"]}, "fields"),
        ({"limit": 40000}, "limit"),
    ):
        with pytest.raises(ckanapi.ValidationError) as caught:
            ckan.action.datastore_search(resource_id=rid, **params)
        assert field in caught.value.error_dict
    # the raw envelopes, on both paths
    r = httpx.get(f"{url}/api/3/action/package_show", params={"id": "nope"})
    assert r.status_code == 404
    assert r.json()["success"] is False and r.json()["error"]["__type"] == "Not Found Error"
    r = httpx.get(f"{url}/api/action/package_search", params={"rows": "2000"})
    assert r.status_code == 409 and r.json()["error"]["__type"] == "Validation Error"
    assert r.json()["error"]["rows"]
    r = httpx.post(
        f"{url}/api/3/action/package_search",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 409 and r.json()["success"] is False
    r = httpx.get(f"{url}/api/3/action/no_such_action")
    assert r.status_code == 400 and "Action name not known" in r.json()["error"]["message"]


# DCAT-AP 3 -----------------------------------------------------------------------------------------


def test_dcat_catalogue_has_no_shacl_violation_in_any_serialisation(
    url: str, world: World
) -> None:
    shapes = rdflib.Graph().parse(SHAPES, format="turtle")
    sizes = set()
    for path, fmt in (
        ("/catalog.ttl", "turtle"),
        ("/catalog.jsonld", "json-ld"),
        ("/catalog.rdf", "xml"),
        ("/data/service-requests.ttl", "turtle"),
        (f"/data/{slice_of('service-level', world.commune)}.rdf", "xml"),
    ):
        r = httpx.get(url + path)
        assert r.status_code == 200
        data = rdflib.Graph().parse(data=r.text, format=fmt)
        conforms, _report, text = pyshacl.validate(data, shacl_graph=shapes)
        assert conforms, text[:3000]
        if path.startswith("/catalog"):
            sizes.add(len(data))
    assert len(sizes) == 1  # three serialisations of one graph


def test_dcat_says_what_package_show_says(url: str, ckan: ckanapi.RemoteCKAN) -> None:
    g = rdflib.Graph().parse(data=httpx.get(url + "/catalog.ttl").text, format="turtle")
    dct = rdflib.Namespace("http://purl.org/dc/terms/")
    dcat = rdflib.Namespace("http://www.w3.org/ns/dcat#")
    foaf = rdflib.Namespace("http://xmlns.com/foaf/0.1/")
    publishers = set()
    for name in ckan.action.package_list():
        pkg = ckan.action.package_show(id=name)
        node = rdflib.URIRef(f"{url}/data/{name}")
        titles = {lit.language: str(lit) for lit in g.objects(node, dct.title)}
        assert titles == pkg["title_translated"]
        assert str(g.value(node, dct.identifier)) == pkg["id"]
        downloads = {str(g.value(d, dcat.downloadURL)) for d in g.objects(node, dcat.distribution)}
        assert downloads == {r["url"] for r in pkg["resources"]}
        licences = {str(g.value(d, dct.license)) for d in g.objects(node, dcat.distribution)}
        assert licences == {pkg["license_url"]}
        publisher = g.value(node, dct.publisher)
        assert str(publisher) == f"{url}/organization/{pkg['owner_org']}"
        names = {lit.language: str(lit) for lit in g.objects(publisher, foaf.name)}
        assert names["fr"] == pkg["organization"]["title"]
        publishers.add(pkg["owner_org"])
    assert len(publishers) == 2  # the province and the one commune with requests


def test_dcat_content_negotiation_and_hydra_paging(url: str) -> None:
    assert httpx.get(url + "/catalog").headers["content-type"].startswith("text/turtle")
    r = httpx.get(url + "/catalog", headers={"Accept": "application/ld+json"})
    assert r.headers["content-type"].startswith("application/ld+json")
    json.loads(r.text)
    r = httpx.get(url + "/catalog", headers={"Accept": "text/html;q=0.9, application/rdf+xml"})
    assert r.text.startswith("<?xml")
    paged = rdflib.Graph().parse(data=httpx.get(url + "/catalog?page=1").text, format="turtle")
    hydra = rdflib.Namespace("http://www.w3.org/ns/hydra/core#")
    view = rdflib.URIRef(f"{url}/catalog?page=1")
    assert int(paged.value(view, hydra.totalItems)) == len(
        httpx.get(url + "/api/3/action/package_list").json()["result"]
    )
    assert str(paged.value(view, hydra.lastPage)).endswith("page=1")
    assert httpx.get(url + "/catalog?page=9").status_code == 404
    assert httpx.get(url + "/catalog.exe").status_code == 404


# The privacy gate, as a wall -----------------------------------------------------------------------


def _everything_published(url: str, ckan: ckanapi.RemoteCKAN) -> list[tuple[str, bytes]]:
    """Every byte the open data serves: files, API answers (ckanapi and raw), DCAT, pages."""
    out: list[tuple[str, bytes]] = []

    def get(path: str, **kw: object) -> None:
        r = httpx.get(url + path, **kw)  # type: ignore[arg-type]
        assert r.status_code == 200, path
        out.append((path, r.content))

    names = ckan.action.package_list()
    for action in (
        "package_list",
        "organization_list",
        "group_list",
        "tag_list",
        "license_list",
        "status_show",
    ):
        get(f"/api/3/action/{action}")
    get(
        "/api/3/action/package_search",
        params={"rows": 1000, "facet.field": '["tags","organization"]'},
    )
    get("/api/3/action/organization_show", params={"id": "02.113", "include_datasets": "true"})
    for org in httpx.get(url + "/api/3/action/organization_list").json()["result"]:
        get("/api/3/action/organization_show", params={"id": org, "include_datasets": "true"})
    for path in (
        "/catalog.ttl",
        "/catalog.jsonld",
        "/catalog.rdf",
        "/catalog?page=1",
        "/api/open-data/datasets",
    ):
        get(path)
    for lang in ("ar", "fr", "en"):
        get("/data", params={"lang": lang})
    for name in names:
        get("/api/3/action/package_show", params={"id": name})
        for lang in ("ar", "fr"):
            get(f"/data/{name}", params={"lang": lang})
        for ext in ("ttl", "jsonld", "rdf"):
            get(f"/data/{name}.{ext}")
        for res in ckan.action.package_show(id=name)["resources"]:
            get("/api/3/action/resource_show", params={"id": res["id"]})
            r = httpx.get(res["url"])
            assert r.status_code == 200
            out.append((res["url"], r.content))
            if res["format"] == "Parquet":  # compressed: read every value back as text too
                table = pq.read_table(io.BytesIO(r.content))
                out.append(
                    (
                        res["url"] + "#values",
                        json.dumps(table.to_pylist(), default=str, ensure_ascii=False).encode(),
                    )
                )
            if res["datastore_active"]:
                get(
                    "/api/3/action/datastore_search",
                    params={"resource_id": res["id"], "limit": 32000},
                )
    return out


def test_no_personal_byte_leaves_in_any_distribution_or_answer(
    url: str, ckan: ckanapi.RemoteCKAN, world: World
) -> None:
    published = _everything_published(url, ckan)
    assert len(published) > 60
    hits = [
        (where, marker)
        for where, body in published
        for marker in MARKERS
        if marker.encode() in body or marker.encode("utf-8").lower() in body.lower()
    ]
    assert hits == []
    # …while what an agent approved is published, and the requests are there
    csv = next(body for where, body in published if where.endswith("service-requests.csv")).decode()
    assert APPROVED_TEXT in csv
    assert all(rid in csv for rid in world.request_ids)


def test_positions_are_the_centres_of_their_h3_cells(
    ckan: ckanapi.RemoteCKAN, world: World
) -> None:
    rid = ckan.action.package_show(id="service-requests")["resources"][0]["id"]
    records = ckan.action.datastore_search(resource_id=rid, limit=100)["records"]
    resolution = world.platform.settings.open_data_h3_resolution
    by_id = {r["request_id"]: r for r in records}
    for request_id, (lat, lon) in zip(world.request_ids, world.exact, strict=True):
        row = by_id[request_id]
        cell = h3.latlng_to_cell(lat, lon, resolution)
        c_lat, c_lon = h3.cell_to_latlng(cell)
        assert row["h3_cell"] == cell
        assert (row["lat"], row["lon"]) == (round(c_lat, 6), round(c_lon, 6))
        assert (row["lat"], row["lon"]) != (lat, lon)


def test_small_counts_are_suppressed_the_same_in_files_api_and_pages(
    ckan: ckanapi.RemoteCKAN, url: str
) -> None:
    pkg = ckan.action.package_show(id="service-level")
    rid = pkg["resources"][0]["id"]
    rows = ckan.action.datastore_search(resource_id=rid, limit=1000)["records"]
    assert rows, "one commune, one service, 12 requests over two months"
    measures = ("requests", "resolved", "resolved_within_target_pct", "resolution_hours_median")
    for row in rows:  # a cell is empty only when suppressed, and a suppressed row has an empty cell
        assert row["suppressed"] == any(row[m] is None for m in measures), row
    assert any(r["requests"] is None for r in rows)  # months of fewer than 5 requests
    csv = httpx.get(pkg["resources"][0]["url"]).text.splitlines()
    header = csv[0].split(",")
    for line in csv[1:]:
        cells = dict(zip(header, line.split(","), strict=False))
        assert (cells["suppressed"] == "true") == any(cells[m] == "" for m in measures)
    page = httpx.get(f"{url}/data/service-level", params={"lang": "fr"}).text
    assert "<td>true</td>" in page  # the flag shown beside the empty cell


def test_a_build_that_fails_keeps_the_last_good_version(
    world: World, ckan: ckanapi.RemoteCKAN, url: str
) -> None:
    p = world.platform
    before = ckan.action.package_show(id="service-requests")
    # A service name carrying a phone number would be published with every request: refused.
    services = catalogue_for(demo_areas())
    leaky = next(s for s in services if s.code == "public_lighting")
    from dataclasses import replace

    request_types.save_services(
        p,
        [replace(leaky, names={**leaky.names, "fr": "Éclairage — urgences 0661234567"})],
        actor=system_actor("test"),
    )
    try:
        result = dataset_builds.build(p, "service-requests", actor=system_actor("test"))[0]
        assert not result.ok and "phone" in (result.error or "")
        after = ckan.action.package_show(id="service-requests")
        extras = {e["key"]: e["value"] for e in after["extras"]}
        assert extras["build_status"] == "stale" and "phone" in extras["build_error"]
        assert [r["url"] for r in after["resources"]] == [r["url"] for r in before["resources"]]
        assert after["metadata_modified"] == before["metadata_modified"]
        assert "0661234567" not in httpx.get(after["resources"][0]["url"]).text
        page = httpx.get(f"{url}/data/service-requests", params={"lang": "fr"}).text
        assert "a échoué" in page
    finally:
        request_types.save_services(p, [leaky], actor=system_actor("test"))
        assert dataset_builds.build(p, "service-requests", actor=system_actor("test"))[0].ok
    extras = {
        e["key"]: e["value"] for e in ckan.action.package_show(id="service-requests")["extras"]
    }
    assert extras["build_status"] == "ok"


# Administration and moderation ---------------------------------------------------------------------


def test_licence_is_set_per_dataset_by_an_admin_and_audited(
    world: World, ckan: ckanapi.RemoteCKAN
) -> None:
    p = world.platform
    with pytest.raises(Forbidden):
        dataset_builds.set_licence(p, "territory", "cc-by-4.0", actor=world.agent)
    with pytest.raises(Invalid):
        dataset_builds.set_licence(p, "territory", "all-rights-reserved", actor=world.admin)
    dataset_builds.set_licence(p, "territory", "cc-by-4.0", actor=world.admin)
    assert ckan.action.package_show(id="territory")["license_id"] == "cc-by-4.0"
    assert ckan.action.package_show(id="service-level")["license_id"] == "odc-odbl"  # the default
    assert ckan.action.package_search(fq="license_id:cc-by-4.0")["count"] == 1
    with p.db.connect() as conn:
        entries = [e for e in audit.entries(conn) if e.action == "dataset.licence"]
    assert entries[-1].after == {"licence": "cc-by-4.0"} and entries[-1].actor == "user:boss"


def test_rebuild_on_demand_needs_an_admin(world: World, url: str) -> None:
    r = httpx.post(f"{url}/api/open-data/datasets/territory/build")
    assert r.status_code == 401
    with pytest.raises(Forbidden):
        dataset_builds.build(world.platform, "territory", actor=world.agent)
    assert dataset_builds.build(world.platform, "territory", actor=world.admin)[0].ok
    status = {d["id"]: d for d in httpx.get(f"{url}/api/open-data/datasets").json()}
    assert status["territory"]["rows"] == len(demo_areas()) and status["territory"]["error"] is None


def test_public_text_moderation(world: World) -> None:
    p = world.platform
    rid = world.request_ids[1]
    for text in ("Appelez le 0661234567", "écrire à x.y@example.ma", "CIN AB123456"):
        with pytest.raises(Invalid):
            request_publication.approve(p, rid, text=text, actor=world.agent)
    with pytest.raises(Invalid):
        request_publication.approve(p, rid, text="x" * (MAX_NOTE + 1), actor=world.agent)
    with pytest.raises(Invalid):
        request_publication.approve(
            p, rid, text="ok", photos=["not-a-photo.jpg"], actor=world.agent
        )
    other = world.admin.__class__(
        kind="user", id="agent-elsewhere", role=world.agent.role, area_code="02.113.05.03"
    )
    with pytest.raises(Forbidden):
        request_publication.approve(p, rid, text="Réparé.", actor=other)
    request_publication.approve(p, rid, text="Réparé.", actor=world.agent)
    assert request_publication.get(p, rid) is not None
    with p.db.connect() as conn:
        actions = [
            r.action
            for r in conn.execute(
                audit_log.select().where(audit_log.c.resource == f"request:{rid}")
            )
        ]
    assert "request.publish_text" in actions
    request_publication.withdraw(p, rid, actor=world.agent)
    assert request_publication.get(p, rid) is None


# Harvesting another CKAN ---------------------------------------------------------------------------


def _hakama(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hakama.cli.main", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200", "PYTHONWARNINGS": "ignore"},
    )


def test_import_ckan_lists_another_portals_datasets(url: str, tmp_path: Path) -> None:
    other = tmp_path / "other"
    platform = Platform.open(Settings(data_dir=other, environment="test"))
    territory.save_areas(platform, demo_areas(), actor=system_actor("test"))
    done = _hakama(other, "catalog", "import-ckan", url, "--q", "demandes")
    assert done.returncode == 0, done.stderr
    assert "added" in done.stdout
    listed = datasets.harvested(platform)
    assert "service-requests" in {d.id for d in listed}
    found = datasets.search(platform, q="demandes")
    d = next(x for x in found.results if x.id == "service-requests")
    assert d.external_url == f"{url}/dataset/service-requests" and d.distributions == []
    again = _hakama(other, "catalog", "import-ckan", url, "--q", "demandes")
    assert " 0 added" in again.stdout and len(datasets.harvested(platform)) == len(listed)
    shown = _hakama(other, "catalog", "list")
    assert "service-requests" in shown.stdout and url in shown.stdout
    bad = _hakama(other, "catalog", "import-ckan", "http://127.0.0.1:9/")
    assert bad.returncode != 0 and "cannot reach" in bad.stderr and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    platform.close()


# Attacker input ------------------------------------------------------------------------------------

_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
_VALUE = st.one_of(_TEXT, st.integers(-(10**12), 10**12), st.sampled_from(["-1", "1e9", "[", "{}", '{"a":', "null"]))


@settings(max_examples=80, deadline=None)
@given(
    action=st.sampled_from(["package_search", "package_show", "datastore_search", "resource_show",
                            "organization_show", "group_show", "tag_list", "package_list"]),
    params=st.dictionaries(st.sampled_from(["q", "fq", "rows", "start", "sort", "facet.field", "id",
                                            "resource_id", "filters", "limit", "offset", "fields"]),
                           _VALUE, max_size=5),
    as_json=st.booleans(),
)
def test_any_parameters_get_an_envelope_never_a_500(url: str, action: str, params: dict[str, object],
                                                    as_json: bool) -> None:
    if as_json:
        r = httpx.post(f"{url}/api/3/action/{action}", json=params)
    else:
        r = httpx.get(f"{url}/api/action/{action}", params={k: str(v) for k, v in params.items()})
    assert r.status_code in (200, 400, 403, 404, 409), (r.status_code, r.text[:300])
    body = r.json()
    assert body["success"] is (r.status_code == 200)
    if not body["success"]:
        assert body["error"]["__type"] and body["error"]["message"]
