"""The decision docs/security.md records: sensor history through NGSI-LD is public, like the
current state (anyone could record it by polling); the device registry is staff only."""

from __future__ import annotations

from pathlib import Path

from tests.http.ngsi_ld.conftest import Api
from tests.http.ngsi_ld.test_entities_api import sensor

BASE = "/ngsi-ld/v1"
SECURITY = Path(__file__).parents[3] / "docs" / "security.md"


def test_history_is_public_and_the_docs_say_so(sqlite_api: Api) -> None:
    c = sqlite_api.client
    assert c.post(f"{BASE}/entities", json=sensor(1), headers=sqlite_api.province).status_code == 201
    entity_id = sensor(1)["id"]
    history = c.get(f"{BASE}/temporal/entities/{entity_id}")  # anonymous
    assert history.status_code == 200, history.text
    assert history.json()["pm25"][0]["value"] == 10.0
    assert c.get("/api/devices").status_code == 401  # the registry is not public
    text = SECURITY.read_text()
    assert "`/ngsi-ld/v1/temporal/entities`) are public" in text
    assert "raw history" not in text  # no longer listed as staff-only
