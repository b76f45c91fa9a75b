"""`/dashboards`: the public indicators by theme, one indicator's page, the composite ranking."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from hakama.core.access import system_actor
from hakama.services import indicators, keys
from hakama.services.platform import Platform

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ibis")
HTML = {"accept": "text/html"}


def _embedded(html: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="indicator-data">(.*?)</script>', html, re.S)
    assert found, "the page embeds its data"
    data: dict[str, object] = json.loads(found.group(1))
    return data


def test_overview_lists_public_indicators_by_theme(indicators_client: TestClient) -> None:
    page = indicators_client.get("/dashboards", params={"lang": "fr"}, headers=HTML)
    assert page.status_code == 200
    html = page.text
    assert "Tableaux de bord" in html and "Demandes des citoyens" in html and "Services administratifs" in html
    assert 'href="/dashboards/requests_per_10k"' in html
    assert "open_backlog" not in html  # internal: not for the public
    assert "Province de Berkane" in html and "n = " in html
    assert "Aucune valeur calculée" in html  # indicators not computed in this test say so
    assert 'href="/dashboards/composite"' in html


def test_uncertain_values_look_uncertain(indicators_client: TestClient) -> None:
    html = indicators_client.get("/dashboards/resolution_time_median", params={"lang": "en"}, headers=HTML).text
    rows = re.findall(r'<tr class="(uncertain)?" data-code="([\d.]+)">', html)
    assert rows, "a ranking table"
    uncertain_rows = [code for cls, code in rows if cls]
    assert uncertain_rows and "too few observations" in html
    assert "≈ " in html  # uncertain figures carry the ≈ mark
    # Confident rows come first; an uncertain one never heads the ranking.
    flags = [bool(cls) for cls, _ in rows]
    assert flags == sorted(flags)


def test_indicator_page_has_chart_map_method_and_csv(indicators_client: TestClient, indicators_platform: Platform) -> None:
    page = indicators_client.get("/dashboards/requests_per_10k", params={"lang": "ar"}, headers=HTML)
    assert page.status_code == 200
    html = page.text
    assert 'dir="rtl"' in html and "الطلبات لكل 10.000 نسمة" in html
    assert "/dashboards/requests_per_10k/download?table=series&format=csv" in html
    definition = indicators.definition(indicators_platform, "requests_per_10k")
    assert definition.method["ar"] in html
    data = _embedded(html)
    chart = data["chart"]
    assert isinstance(chart, dict) and len(chart["x"]) >= 12 and chart["province"] == "02.113"
    assert "02.113" in chart["areas"] and len(chart["areas"]) >= 15  # communes without any request have no row
    mapped = data["map"]
    assert isinstance(mapped, dict) and len(mapped["outlines"]["features"]) == 16
    assert mapped["communes"] and all(c["fill"] is None or c["fill"].startswith("#") for c in mapped["communes"].values())
    assert "/static/vendor/uplot/uPlot.iife.min.js" in html


def test_internal_indicator_page_is_for_staff(indicators_client: TestClient, indicators_platform: Platform) -> None:
    assert indicators_client.get("/dashboards/open_backlog", headers=HTML).status_code == 404
    made = keys.create_key(indicators_platform, name="dash-analyst", role="analyst", area_code="02.113", scopes=None,
                           actor=system_actor("test"))
    staff = indicators_client.get("/dashboards/open_backlog", headers={**HTML, "Authorization": f"Bearer {made.token}"})
    assert staff.status_code == 200 and "open_backlog" in staff.text
    agent = keys.create_key(indicators_platform, name="dash-agent", role="agent", area_code="02.113.01.01", scopes=None,
                            actor=system_actor("test"))
    own = indicators_client.get("/dashboards/open_backlog", headers={**HTML, "Authorization": f"Bearer {agent.token}"})
    assert own.status_code == 200  # a commune's agent: their commune's values, no province-wide spread


def test_composite_page(indicators_client: TestClient) -> None:
    html = indicators_client.get("/dashboards/composite", params={"lang": "fr"}, headers=HTML).text
    assert "Communes en retard" in html and "Mode de calcul" in html
    assert len(re.findall(r'<tr class="(?:flagged)?" data-code=', html)) == 16
    assert "prioritaire" in html


def test_unknown_indicator_is_a_404_page(indicators_client: TestClient) -> None:
    page = indicators_client.get("/dashboards/no_such_indicator", params={"lang": "fr"}, headers=HTML)
    assert page.status_code == 404 and "<html" in page.text
