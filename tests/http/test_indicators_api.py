"""`/api/indicators`: the catalogue, series as JSON and CSV, public vs internal, bad input."""

from __future__ import annotations

import csv
import io
from datetime import date
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hakama.core.access import system_actor
from hakama.services import indicators, keys
from hakama.services.platform import Platform

PROVINCE = "02.113"
BERKANE = "02.113.01.09"
AHFIR = "02.113.01.01"
# Ibis 12 still calls DuckDB's deprecated `fetch_arrow_table` (the lead's engines use Ibis as is).
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ibis")


def _token(platform: Platform, role: str, area: str) -> dict[str, str]:
    made = keys.create_key(platform, name=f"{role}-{area}", role=role, area_code=area, scopes=None,
                           actor=system_actor("test"))
    return {"Authorization": f"Bearer {made.token}"}


@pytest.fixture(scope="module")
def analyst(indicators_platform: Platform) -> dict[str, str]:
    return _token(indicators_platform, "analyst", PROVINCE)


@pytest.fixture(scope="module")
def agent_ahfir(indicators_platform: Platform) -> dict[str, str]:
    return _token(indicators_platform, "agent", AHFIR)


def test_catalogue_hides_internal_indicators_from_the_public(indicators_client: TestClient, analyst: dict[str, str]) -> None:
    public = indicators_client.get("/api/indicators").json()
    ids = {i["id"] for i in public["indicators"]}
    assert "requests_per_10k" in ids and "open_backlog" not in ids and "water_night_flow_ratio" not in ids
    assert len(ids) >= 15
    one = next(i for i in public["indicators"] if i["id"] == "requests_per_10k")
    assert set(one["names"]) == {"ar", "fr", "en"} and one["unit"] and one["grain"] == "month"
    assert one["public"] is True and one["method"]["fr"] and one["links"]["csv"].endswith("format=csv")
    assert one["latest_period"] is not None
    staff = indicators_client.get("/api/indicators", headers=analyst).json()
    assert {"open_backlog", "water_night_flow_ratio"} <= {i["id"] for i in staff["indicators"]}


def test_one_language_and_one_definition(indicators_client: TestClient) -> None:
    body = indicators_client.get("/api/indicators/resolution_time_median", params={"lang": "ar"}).json()
    assert list(body["names"]) == ["ar"] and list(body["method"]) == ["ar"]
    assert body["direction"] == "lower_is_better" and body["measure"] == "duration"
    themes = indicators_client.get("/api/indicators", params={"theme": "administration", "lang": "fr"}).json()
    assert themes["languages"] == ["fr"]
    assert {i["theme"] for i in themes["indicators"]} == {"administration"}


def test_internal_indicator_is_not_found_for_the_public(indicators_client: TestClient, analyst: dict[str, str]) -> None:
    for path in ("/api/indicators/open_backlog", "/api/indicators/open_backlog/series"):
        hidden = indicators_client.get(path)
        assert hidden.status_code == 404, path
        assert hidden.headers["content-type"] == "application/problem+json"
        assert "open_backlog" in hidden.json()["detail"]
    shown = indicators_client.get("/api/indicators/open_backlog/series", headers=analyst).json()
    assert shown["values"] and {v["area_code"] for v in shown["values"]} > {PROVINCE}


def test_agent_sees_internal_values_of_their_commune_only(indicators_client: TestClient, agent_ahfir: dict[str, str]) -> None:
    own = indicators_client.get("/api/indicators/open_backlog/series", headers=agent_ahfir).json()
    assert {v["area_code"] for v in own["values"]} == {AHFIR}
    other = indicators_client.get("/api/indicators/open_backlog/series", params={"area": BERKANE}, headers=agent_ahfir)
    assert other.status_code == 403 and other.json()["title"] == "Forbidden"


def test_series_json_for_one_area_and_dates(indicators_client: TestClient, indicators_platform: Platform) -> None:
    body = indicators_client.get(
        "/api/indicators/resolution_time_median/series",
        params={"area": PROVINCE, "from": "2026-01-01", "to": "2026-06-30"},
    ).json()
    assert body["indicator"] == "resolution_time_median" and body["unit"] == "hours"
    starts = [v["period_start"] for v in body["values"]]
    assert starts == [f"2026-{m:02d}-01" for m in range(1, 7)]
    assert {v["area_code"] for v in body["values"]} == {PROVINCE}
    first = body["values"][0]
    assert first["period_end"] == "2026-02-01" and first["quality"] in {"complete", "too_few_observations"}
    assert isinstance(first["sample"], int)
    stored = indicators.series(
        indicators_platform, "resolution_time_median", actor=system_actor("t"), area=PROVINCE,
        date_from=date(2026, 1, 1), date_to=date(2026, 1, 31),
    )
    assert first["value"] == pytest.approx(stored[0].value) and first["sample"] == stored[0].sample


def test_series_csv_has_a_header_and_the_same_rows(indicators_client: TestClient) -> None:
    params = {"area": BERKANE}
    as_json = indicators_client.get("/api/indicators/requests_per_10k/series", params=params).json()
    response = indicators_client.get("/api/indicators/requests_per_10k/series", params={**params, "format": "csv"})
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="requests_per_10k.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == ["indicator_id", "area_code", "grain", "period_start", "period_end", "value",
                             "sample", "quality"]
    assert len(rows) == len(as_json["values"]) > 6
    for row, value in zip(rows, as_json["values"], strict=True):
        assert row["period_start"] == value["period_start"] and int(row["sample"]) == value["sample"]
        assert (row["value"] == "") == (value["value"] is None)
        if value["value"] is not None:
            assert float(row["value"]) == pytest.approx(value["value"], rel=1e-12)


def test_small_public_counts_are_suppressed_for_the_public_only(indicators_client: TestClient, analyst: dict[str, str]) -> None:
    public = indicators_client.get("/api/indicators/requests_per_10k/series").json()["values"]
    suppressed = [v for v in public if v["quality"] == "suppressed"]
    assert suppressed and all(v["value"] is None for v in suppressed)
    staff = indicators_client.get("/api/indicators/requests_per_10k/series", headers=analyst).json()["values"]
    keyed = {(v["area_code"], v["period_start"]): v for v in staff}
    for v in suppressed:
        assert keyed[(v["area_code"], v["period_start"])]["value"] is not None


def test_bad_input_is_problem_json(indicators_client: TestClient) -> None:
    unknown = indicators_client.get("/api/indicators/no_such_thing/series")
    assert unknown.status_code == 404 and unknown.json()["status"] == 404
    area = indicators_client.get("/api/indicators/requests_per_10k/series", params={"area": "99.999"})
    assert area.status_code == 404 and "99.999" in area.json()["detail"]
    bad_date = indicators_client.get("/api/indicators/requests_per_10k/series", params={"from": "2026-13-01"})
    assert bad_date.status_code == 422 and bad_date.headers["content-type"] == "application/problem+json"
    reversed_ = indicators_client.get("/api/indicators/requests_per_10k/series", params={"from": "2026-05-01", "to": "2026-01-01"})
    assert reversed_.status_code == 422 and "after" in reversed_.json()["detail"]
    assert indicators_client.get("/api/indicators/requests_per_10k/series", params={"format": "xml"}).status_code == 422
    assert indicators_client.get("/api/indicators", params={"lang": "de"}).status_code == 422


def test_alerts_need_a_signed_in_caller(indicators_client: TestClient, analyst: dict[str, str]) -> None:
    anonymous = indicators_client.get("/api/alerts")
    assert anonymous.status_code == 401 and anonymous.json()["title"] == "Unauthorized"
    assert indicators_client.get("/api/alerts", params={"state": "maybe"}, headers=analyst).status_code == 422
    assert indicators_client.get("/api/alerts", params={"area": "99.999"}, headers=analyst).status_code == 404


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    indicator=st.text(min_size=1, max_size=30).filter(lambda s: s not in {".", ".."}),
    area=st.text(max_size=20),
    date_from=st.text(max_size=12),
)
def test_arbitrary_input_never_breaks_the_api(indicators_client: TestClient, indicator: str, area: str, date_from: str) -> None:
    response = indicators_client.get(f"/api/indicators/{quote(indicator, safe='')}/series", params={"area": area, "from": date_from})
    assert response.status_code in {200, 404, 422}
    assert response.headers["content-type"] in {"application/problem+json", "application/json"}


def test_disparities_rank_the_communes(indicators_client: TestClient) -> None:
    body = indicators_client.get("/api/indicators/requests_per_10k/disparities", params={"period": "2026-03-01"}).json()
    assert body["indicator_id"] == "requests_per_10k" and body["period_start"] == "2026-03-01"
    assert body["province_code"] == PROVINCE
    ranks = [c["rank"] for c in body["communes"]]
    assert ranks == sorted(ranks) and ranks[0] == 1
    assert {"cv", "gini"} <= set(body["dispersion"]) or body["dispersion"]
    hidden = indicators_client.get("/api/indicators/open_backlog/disparities")
    assert hidden.status_code == 404
    assert indicators_client.get("/api/indicators/requests_per_10k/disparities", params={"period": "soon"}).status_code == 422


def test_composite_lists_every_commune_with_its_inputs(indicators_client: TestClient) -> None:
    body = indicators_client.get("/api/disparities/composite").json()
    assert body["method"]["ar"] and body["inputs"]
    assert len(body["communes"]) == 16
    flagged = [c for c in body["communes"] if c["flagged"]]
    assert flagged and all(c["score"] is not None for c in flagged)


def test_alerts_for_staff(indicators_client: TestClient, analyst: dict[str, str], indicators_platform: Platform) -> None:
    from hakama.services import alerts

    alerts.evaluate(indicators_platform)
    body = indicators_client.get("/api/alerts", params={"state": "all"}, headers=analyst).json()
    assert body["state"] == "all" and isinstance(body["alerts"], list)
    for alert in body["alerts"]:
        assert {"id", "kind", "message", "opened_at"} <= set(alert)
