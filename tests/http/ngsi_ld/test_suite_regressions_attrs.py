"""What the ETSI suite caught on `/entities/{id}/attrs…` paths (EntityAttributes folder), one
test per fix; see test_suite_regressions.py for the others."""

from __future__ import annotations

from tests.http.ngsi_ld.conftest import Api
from tests.http.ngsi_ld.test_suite_regressions import BASE, create, problem

CAR = "urn:ngsi-ld:Vehicle:attrs-1"


def test_attrs_collection_with_a_trailing_slash_and_no_id(sqlite_api: Api) -> None:
    """AppendEntityAttributes 010_02: `POST /entities//attrs/` (no id) is 400, not 405; the
    trailing-slash form appends as the plain one does."""
    c = sqlite_api.client
    assert create(sqlite_api, {"id": CAR, "type": "Vehicle"}).status_code == 201
    fragment = {"speed": {"type": "Property", "value": 80}}
    admin = sqlite_api.province
    problem(c.post(f"{BASE}/entities//attrs/", json=fragment, headers=admin), "BadRequestData", 400)
    assert c.post(f"{BASE}/entities/{CAR}/attrs/", json=fragment, headers=admin).status_code == 204
    assert c.get(f"{BASE}/entities/{CAR}").json()["speed"]["value"] == 80


def test_other_methods_on_the_attrs_collection_are_405(sqlite_api: Api) -> None:
    """DeleteEntityAttribute 013_02_03: `DELETE /entities/{id}/attrs/` (no attribute) is 405."""
    c = sqlite_api.client
    assert create(sqlite_api, {"id": CAR, "type": "Vehicle"}).status_code == 201
    response = c.delete(
        f"{BASE}/entities/{CAR}/attrs/", params={"deleteAll": "false"}, headers=sqlite_api.province
    )
    problem(response, "OperationNotSupported", 405)
    assert c.get(f"{BASE}/entities/{CAR}").status_code == 200  # the entity is still there


def test_an_attribute_name_in_a_path_must_be_a_name(sqlite_api: Api) -> None:
    """ReplaceEntityAttribute 055_03_03: `PUT …/attrs/@invalid` is 400 BadRequestData (a JSON-LD
    keyword form names no attribute), not 404."""
    c = sqlite_api.client
    assert create(sqlite_api, {"id": CAR, "type": "Vehicle"}).status_code == 201
    attribute = {"type": "Property", "value": True}
    response = c.put(
        f"{BASE}/entities/{CAR}/attrs/@invalid", json=attribute, headers=sqlite_api.province
    )
    problem(response, "BadRequestData", 400)
    problem(create(sqlite_api, {"id": CAR + "b", "type": "@Vehicle"}), "BadRequestData", 400)
