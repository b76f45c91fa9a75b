"""Commune profiles, the composite's breakdown, and the council report (PDF, XLSX) from the web
and the CLI, on the small demo: same figures as the pages, Arabic text in logical order, bad
input refused, a period without data said so per section."""

from __future__ import annotations

import io
from dataclasses import replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader

from hakama.analytics.engines import open_engine
from hakama.cli.main import main
from hakama.core.access import ANONYMOUS, Actor, Role, system_actor
from hakama.core.errors import Forbidden, Invalid
from hakama.core.indicators import Grain
from hakama.core.periods import parse_period
from hakama.jobs import report_delivery
from hakama.reports import council, labels, pdf, xlsx
from hakama.services import (
    comparisons,
    disparities,
    indicators,
    keys,
    profiles,
    report_subscriptions,
)
from hakama.services.platform import Platform

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ibis")
HTML = {"accept": "text/html"}
PROVINCE = "02.113"
RISLANE = "02.113.05.13"
SYSTEM = system_actor("test")


def _staff(
    platform: Platform, name: str, role: str = "analyst", area: str = PROVINCE
) -> dict[str, str]:
    made = keys.create_key(
        platform, name=name, role=role, area_code=area, scopes=None, actor=SYSTEM
    )
    return {**HTML, "Authorization": f"Bearer {made.token}"}


def test_a_quarter_added_up_from_months_equals_the_quarter_computed_from_the_lake(
    indicators_platform: Platform,
) -> None:
    q3 = parse_period("2026-Q3")
    for ident in ("requests_per_10k", "admin_online_share"):
        d = indicators.definition(indicators_platform, ident)
        rolled = comparisons.values_for(indicators_platform, d, [q3], actor=SYSTEM)
        with open_engine("duckdb", indicators_platform.lake) as engine:
            direct = indicators.compute_periods(
                indicators_platform, engine, replace(d, grain=Grain.QUARTER), [q3.start]
            )
        assert direct and len(rolled) == len(direct)
        for v in direct:
            got = rolled[(v.area_code, q3.start)]
            assert got.sample == v.sample and got.value == pytest.approx(v.value), (
                ident,
                v.area_code,
            )


def test_composite_contributions_add_up_to_the_score(indicators_platform: Platform) -> None:
    result = disparities.composite(indicators_platform, actor=SYSTEM)
    scored = [c for c in result.communes if c.score is not None]
    assert len(scored) == 16
    for c in scored:
        assert sum(i["contribution"] for i in c.inputs.values()) == pytest.approx(c.score)
    assert result.province["illiteracy_rate_10_plus"] == 27.2  # HCP RGPH 2024, the province row


def test_profile_public_and_staff(
    indicators_client: TestClient, indicators_platform: Platform
) -> None:
    page = indicators_client.get(f"/communes/{RISLANE}", params={"lang": "fr"}, headers=HTML)
    assert page.status_code == 200
    html = page.text
    assert "<h1>Rislane</h1>" in html
    # RGPH 2014 and 2024 population of Rislane (HCP) and the change between them.
    assert "4 265" in html.replace("\u202f", " ") and "3 783" in html.replace("\u202f", " ")
    assert "-11,3 %" in html.replace("\u202f", " ").replace("\xa0", " ")
    assert "sensors-table" not in html and "Alertes ouvertes" not in html
    berkane = indicators_client.get(
        "/communes/02.113.01.09", params={"lang": "fr", "period": "2026-09"}, headers=HTML
    ).text
    assert 'data-indicator="requests_per_10k"' in berkane
    assert 'data-indicator="open_backlog"' not in berkane  # internal indicator
    staff = indicators_client.get(
        "/communes/02.113.01.09",
        params={"lang": "ar", "period": "2026-09"},
        headers=_staff(indicators_platform, "prof"),
    )
    assert staff.status_code == 200 and 'dir="rtl"' in staff.text and "شتنبر 2026" in staff.text
    assert 'data-indicator="open_backlog"' in staff.text and "أجهزة الاستشعار" in staff.text
    assert "<h1>بركان</h1>" in staff.text
    assert indicators_client.get("/communes/99.999", headers=HTML).status_code == 404
    assert (
        indicators_client.get(
            f"/communes/{RISLANE}", params={"period": "2026-Q9"}, headers=HTML
        ).status_code
        == 400
    )


def test_profiles_are_linked_and_searchable(indicators_client: TestClient) -> None:
    found = indicators_client.get(
        "/communes", params={"q": "ركان", "lang": "fr"}, headers=HTML
    ).text
    assert 'href="/communes/02.113.01.09"' in found and 'href="/communes/02.113.05.13"' not in found
    assert (
        'href="/communes/02.113.01.05"'
        in indicators_client.get("/communes", params={"q": "ain erreg"}, headers=HTML).text
    )
    composite = indicators_client.get(
        "/dashboards/composite", params={"lang": "fr"}, headers=HTML
    ).text
    assert f'href="/communes/{RISLANE}"' in composite
    ranking = indicators_client.get(
        "/dashboards/requests_per_10k", params={"lang": "fr"}, headers=HTML
    ).text
    assert 'href="/communes/' in ranking
    assert (
        'href="/communes/' in indicators_client.get("/", params={"lang": "fr"}, headers=HTML).text
    )


def test_profile_download_reopens_with_names_and_numbers(indicators_client: TestClient) -> None:
    answer = indicators_client.get(
        f"/communes/{RISLANE}/download",
        params={"format": "xlsx", "lang": "fr", "period": "2026-09"},
    )
    assert answer.status_code == 200 and "spreadsheetml" in answer.headers["content-type"]
    book = load_workbook(io.BytesIO(answer.content))
    census = book.worksheets[0]
    rows = list(census.iter_rows(values_only=True))
    population = next(r for r in rows if r[1] == "Population")
    assert population[0] == "Rislane" and population[3] == 4265 and population[4] == 3783
    csv_answer = indicators_client.get(
        f"/communes/{RISLANE}/download", params={"format": "csv", "lang": "ar"}
    )
    assert csv_answer.status_code == 200 and "رسلان" in csv_answer.content.decode("utf-8-sig")
    bad = indicators_client.get(f"/communes/{RISLANE}/download", params={"format": "ods"})
    assert bad.status_code == 400 and bad.headers["content-type"].startswith(
        "application/problem+json"
    )


def test_pdf_report_arabic_in_logical_order_on_a4(indicators_platform: Platform) -> None:
    report = council.build(
        indicators_platform, area_code=PROVINCE, period=parse_period("2026-Q3"), actor=SYSTEM
    )
    reader = PdfReader(io.BytesIO(pdf.pdf(report, "ar")))
    assert len(reader.pages) >= 3
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    text = "\n".join(page.extract_text() for page in reader.pages)
    for name in ("بركان", "رسلان", "عين الركادة", "سيدي بوهرية"):
        assert name in text
    assert "إقليم بركان" in reader.pages[-1].extract_text()  # the province's name on every page
    assert "المنهجية والمصادر" in text and "الجماعات المتأخرة ولماذا" in text
    flagged = [c for c in report.composite.communes if c.flagged] if report.composite else []
    assert flagged and all(c.names["ar"] in text for c in flagged)


def test_xlsx_report_same_figures_as_the_pages(
    indicators_client: TestClient, indicators_platform: Platform
) -> None:
    report = council.build(
        indicators_platform, area_code=PROVINCE, period=parse_period("2026-09"), actor=SYSTEM
    )
    book = load_workbook(io.BytesIO(xlsx.workbook(report, "ar")))
    assert book.sheetnames[0] == "الأرقام الرئيسية" and book.sheetnames[-1] == "المصادر"
    for sheet in book.worksheets:
        assert sheet.sheet_view.rightToLeft and sheet.freeze_panes in ("A2", "B2")
    key = book["الأرقام الرئيسية"]
    rows = {r[0]: r for r in key.iter_rows(min_row=2, values_only=True)}
    name = indicators.definition(indicators_platform, "requests_per_10k").name("ar")
    api = indicators_client.get(
        "/api/indicators/requests_per_10k/series",
        params={"area": PROVINCE, "from": "2026-09-01", "to": "2026-09-01"},
    ).json()
    values = api["values"] if isinstance(api, dict) else api
    assert rows[name][2] == pytest.approx(round(values[0]["value"]), abs=0.51)
    assert isinstance(rows[name][2], float | int)
    # The composite sheet: names, not codes; the same scores as the composite page.
    composite = book.worksheets[1]
    names = [r[1] for r in composite.iter_rows(min_row=2, values_only=True)]
    assert "رسلان" in names and not any(str(n).startswith("02.") for n in names)
    # Service levels: the commune report's totals are the profile page's.
    commune = council.build(
        indicators_platform, area_code=RISLANE, period=parse_period("2026-09"), actor=SYSTEM
    )
    page = profiles.profile(
        indicators_platform, RISLANE, actor=ANONYMOUS, period=parse_period("2026-09")
    )
    assert commune.service_levels.total == page.requests.total


def test_a_period_without_data_says_so_per_section(indicators_platform: Platform) -> None:
    report = council.build(
        indicators_platform, area_code=PROVINCE, period=parse_period("2020-Q1"), actor=SYSTEM
    )
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.pdf(report, "fr"))).pages)
    assert "Aucune valeur d'indicateur pour cette période" in text
    assert "Aucune demande déposée ni traitée" in text
    assert "Aucune alerte pendant cette période" in text
    book = load_workbook(io.BytesIO(xlsx.workbook(report, "fr")))
    assert book["Chiffres clés"]["A2"].value == "Aucune valeur d'indicateur pour cette période."


def test_report_from_the_web_is_for_staff_and_refuses_bad_input(
    indicators_client: TestClient, indicators_platform: Platform
) -> None:
    params = {"area": PROVINCE, "period": "2026-Q3", "lang": "fr", "format": "xlsx"}
    assert indicators_client.get("/reports/council", params=params).status_code == 401
    agent = _staff(indicators_platform, "rep-agent", role="agent", area="02.113.01.01")
    assert (
        indicators_client.get("/reports/council", params=params, headers=agent).status_code == 403
    )
    staff = _staff(indicators_platform, "rep-analyst")
    made = indicators_client.get("/reports/council", params=params, headers=staff)
    assert made.status_code == 200 and made.content[:2] == b"PK"
    assert 'filename="hakama-report-02.113-2026-Q3-fr.xlsx"' in made.headers["content-disposition"]
    for bad, status in (
        (("period", "2026-Q7"), 400),
        (("lang", "de"), 400),
        (("format", "doc"), 400),
        (("area", "99.9"), 404),
    ):
        machine = {"Authorization": staff["Authorization"]}
        answer = indicators_client.get(
            "/reports/council", params={**params, bad[0]: bad[1]}, headers=machine
        )
        assert answer.status_code == status, bad
        assert answer.headers["content-type"].startswith("application/problem+json")
    form = indicators_client.get("/reports", params={"lang": "fr"}, headers=staff)
    assert form.status_code == 200 and "Établir le rapport au conseil" in form.text


def test_cli_report_and_its_errors(
    indicators_platform: Platform,
    tmp_path: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = str(indicators_platform.settings.data_dir)
    out = tmp_path / "r.xlsx"  # type: ignore[operator]
    main(
        [
            "--data-dir",
            data,
            "report",
            "--area",
            RISLANE,
            "--period",
            "2026-Q3",
            "--lang",
            "en",
            "--format",
            "xlsx",
            "-o",
            str(out),
        ]
    )
    book = load_workbook(out)
    assert "Census 2014 and 2024" in book.sheetnames
    for args, message in (
        (["--area", "99", "--period", "2026-Q3"], "no area '99'"),
        (["--area", PROVINCE, "--period", "Q3"], "is not a month"),
        (["--area", PROVINCE, "--period", "2026-Q3", "--lang", "de"], "choose ar, fr or en"),
        (["--area", PROVINCE, "--period", "2026-Q3", "--format", "docx"], "choose pdf or xlsx"),
    ):
        with pytest.raises(SystemExit) as stopped:
            main(["--data-dir", data, "report", *args])
        assert stopped.value.code == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err


# Scheduled delivery --------------------------------------------------------------------------


class Mailbox:
    """What a real SMTP server (aiosmtpd, in a thread) received; refuses some addresses."""

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.refuse = refuse

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def _with_mail(platform: Platform, port: int) -> Platform:
    settings = platform.settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_from": "council@hakama.test"}
    )
    return Platform(settings=settings, db=platform.db, lake=platform.lake, derived=platform.derived)


def test_subscriptions_refuse_bad_input_and_non_admins(indicators_platform: Platform) -> None:
    admin = system_actor("test", area_code=PROVINCE)
    for field, value, message in (
        ("recipients", "not-an-address", "not an e-mail address"),
        ("recipients", "", "at least one"),
        ("frequency", "weekly", "monthly or quarterly"),
        ("language", "de", "ar, fr or en"),
        ("format", "odt", "pdf or xlsx"),
    ):
        args: dict[str, Any] = {
            "area_code": PROVINCE,
            "frequency": "monthly",
            "language": "fr",
            "format": "pdf",
            "recipients": "a@b.ma",
        }
        args[field] = value
        with pytest.raises(Invalid, match=message):
            report_subscriptions.subscribe(indicators_platform, actor=admin, **args)
    analyst = Actor(kind="user", id="ana", role=Role.ANALYST, area_code=PROVINCE)
    with pytest.raises(Forbidden):
        report_subscriptions.subscribe(
            indicators_platform,
            area_code=PROVINCE,
            frequency="monthly",
            language="fr",
            format="pdf",
            recipients="a@b.ma",
            actor=analyst,
        )
    other = system_actor("test", area_code="02.113.01.01")  # an admin of another commune
    with pytest.raises(Forbidden):
        report_subscriptions.subscribe(
            indicators_platform,
            area_code=RISLANE,
            frequency="monthly",
            language="fr",
            format="pdf",
            recipients="a@b.ma",
            actor=other,
        )


def test_quarterly_report_is_mailed_once_with_a_record(indicators_platform: Platform) -> None:
    mailbox = Mailbox(refuse=frozenset({"gone@commune.ma"}))
    controller = Controller(mailbox, hostname="127.0.0.1", port=8161)
    controller.start()
    try:
        platform = _with_mail(indicators_platform, 8161)
        admin = system_actor("test", area_code=PROVINCE)
        made = report_subscriptions.subscribe(
            platform,
            area_code=PROVINCE,
            frequency="quarterly",
            language="ar",
            format="pdf",
            recipients="Gouverneur@Province.ma; conseil@province.ma",
            actor=admin,
        )
        broken = report_subscriptions.subscribe(
            platform,
            area_code=RISLANE,
            frequency="monthly",
            language="fr",
            format="xlsx",
            recipients=["gone@commune.ma"],
            actor=admin,
        )
        ready = report_subscriptions.ready_period(platform, "quarterly")
        latest = profiles.latest_complete_month(platform)
        assert (
            ready is not None and latest is not None and ready.end <= Grain.MONTH.next_start(latest)
        )
        assert report_delivery.run_round(platform) == 1
        assert len(mailbox.messages) == 1
        to, message = mailbox.messages[0]
        assert sorted(to) == ["conseil@province.ma", "gouverneur@province.ma"]
        assert "تقرير المجلس" in str(message["Subject"]) and ready.label("ar") in str(
            message["Subject"]
        )
        attachment = next(message.iter_attachments())
        assert attachment.get_content_type() == "application/pdf"
        text = "\n".join(
            p.extract_text() for p in PdfReader(io.BytesIO(attachment.get_content())).pages
        )
        assert "رسلان" in text
        sent = {
            d.subscription_id: d for d in report_subscriptions.deliveries(platform, actor=admin)
        }
        assert (
            sent[made.id].status == "sent"
            and sent[made.id].period == ready.code
            and sent[made.id].size > 10_000
        )
        assert sent[broken.id].status == "failed" and "gone@commune.ma" in sent[broken.id].error
        # The next round sends nothing new; the failed one is tried again and counted.
        assert report_delivery.run_round(platform) == 0
        assert len(mailbox.messages) == 1
        again = {
            d.subscription_id: d for d in report_subscriptions.deliveries(platform, actor=admin)
        }
        assert again[broken.id].attempts == 2 and again[made.id].attempts == 1
        report_subscriptions.unsubscribe(platform, broken.id, actor=admin)
        assert all(d.subscription.id != broken.id for d in report_subscriptions.due(platform))
    finally:
        controller.stop()


def test_subscriptions_page_for_admins(
    indicators_client: TestClient, indicators_platform: Platform
) -> None:
    admin = _staff(indicators_platform, "subs-admin", role="admin")
    machine = {"Authorization": admin["Authorization"]}
    form = {
        "area": RISLANE,
        "frequency": "monthly",
        "lang": "fr",
        "format": "xlsx",
        "recipients": "maire@rislane.ma",
    }
    made = indicators_client.post(
        "/reports/subscriptions", data=form, headers=machine, follow_redirects=False
    )
    assert made.status_code == 303
    page = indicators_client.get(
        "/reports/subscriptions", params={"lang": "fr"}, headers=admin
    ).text
    assert "maire@rislane.ma" in page and "Rislane" in page and "mensuel" in page
    bad = indicators_client.post(
        "/reports/subscriptions", data={**form, "recipients": "x@"}, headers=admin
    )
    assert bad.status_code == 400 and "not an e-mail address" in bad.text
    analyst = _staff(indicators_platform, "subs-analyst")
    refused = indicators_client.post(
        "/reports/subscriptions", data=form, headers={"Authorization": analyst["Authorization"]}
    )
    assert refused.status_code == 403
    assert indicators_client.post("/reports/subscriptions", data=form).status_code in (
        401,
        403,
    )  # anonymous
    assert (
        "maire@rislane.ma"
        not in indicators_client.get("/reports/subscriptions", headers=analyst).text
    )


def test_compare_page_table_charts_and_downloads(
    indicators_client: TestClient, indicators_platform: Platform
) -> None:
    page = indicators_client.get(
        "/dashboards/requests_per_10k/compare",
        params={"lang": "ar", "period": "2026-09", "area": [PROVINCE, "02.113.01.09", RISLANE]},
        headers=HTML,
    )
    assert page.status_code == 200
    html = page.text
    assert "شتنبر 2026" in html and "غشت 2026" in html  # Moroccan Arabic month names
    assert html.count("<svg") >= 3 and "polyline" in html  # bars, lines, small multiples
    assert 'id="compare-table"' in html and "رسلان" in html
    c = comparisons.compare(
        indicators_platform, "requests_per_10k", parse_period("2026-09"), actor=ANONYMOUS
    )
    answer = indicators_client.get(
        "/dashboards/requests_per_10k/download",
        params={"lang": "fr", "period": "2026-09", "format": "xlsx"},
    )
    book = load_workbook(io.BytesIO(answer.content))
    rows = {r[0]: r for r in book.worksheets[0].iter_rows(min_row=2, values_only=True)}
    shown = c.rows[PROVINCE].current
    assert shown is not None and shown.value is not None
    assert rows["Province de Berkane"][1] == pytest.approx(
        round(shown.value, 1 if shown.value >= 10 else 2), abs=0.5
    )
    header = [cell.value for cell in book.worksheets[0][1]]
    assert header[1] == "septembre 2026 (pour 10 000 habitants)"
    csv_text = indicators_client.get(
        "/dashboards/requests_per_10k/download",
        params={"lang": "fr", "period": "2026-09", "format": "csv"},
    ).content.decode("utf-8-sig")
    assert "Province de Berkane" in csv_text and "02.113" not in csv_text
    composite = indicators_client.get(
        "/dashboards/composite/download", params={"lang": "fr", "format": "xlsx"}
    )
    sheets = load_workbook(io.BytesIO(composite.content)).sheetnames
    assert sheets[0] == "Score composite" and len(sheets) == 3
    too_many = [PROVINCE, *[f"02.113.0{i}" for i in range(7)]]
    assert (
        indicators_client.get(
            "/dashboards/requests_per_10k/compare", params={"area": too_many}
        ).status_code
        == 400
    )
    assert (
        indicators_client.get(
            "/dashboards/requests_per_10k/download", params={"format": "pdf"}
        ).status_code
        == 400
    )
    assert (
        indicators_client.get("/dashboards/open_backlog/compare").status_code == 404
    )  # internal: not public


def test_indicator_over_time_downloads_with_names_units_and_rounding(
    indicators_client: TestClient, indicators_platform: Platform
) -> None:
    page = indicators_client.get(
        "/dashboards/requests_per_10k", params={"lang": "fr"}, headers=HTML
    ).text
    assert "/dashboards/requests_per_10k/download?table=series&format=xlsx" in page
    stored = indicators.series(indicators_platform, "requests_per_10k", actor=ANONYMOUS)
    answer = indicators_client.get(
        "/dashboards/requests_per_10k/download",
        params={"lang": "ar", "table": "series", "format": "xlsx"},
    )
    assert answer.status_code == 200
    assert "series-ar.xlsx" in answer.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(answer.content)).worksheets[0]
    assert sheet.sheet_view.rightToLeft  # Arabic runs right to left
    header = [cell.value for cell in sheet[1]]
    assert header[0] == "الفترة" and header[2] == "المجال الترابي"
    assert header[4].startswith("القيمة (")  # the unit in the header
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(stored) > 0
    assert rows[0][2] == "إقليم بركان"  # the province first, by name not code
    first = min(stored, key=lambda v: (v.period_start, v.area_code != PROVINCE))
    assert rows[0][3] == first.area_code == PROVINCE
    assert rows[0][4] == labels.rounded(first.value)
    assert all(r[6] in {"كاملة", "فترة غير مكتملة", "ملاحظات قليلة", "مخفية: عدد قليل"} for r in rows)
    csv_text = indicators_client.get(
        "/dashboards/requests_per_10k/download",
        params={"lang": "fr", "table": "series", "format": "csv"},
    ).content.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("Période,Début de la période,Territoire,Code,Valeur (")
    assert "Rislane" in csv_text and "septembre 2026" in csv_text
    bad = indicators_client.get(
        "/dashboards/requests_per_10k/download", params={"table": "everything"}
    )
    assert bad.status_code == 400 and "choose period or series" in bad.json()["detail"]
