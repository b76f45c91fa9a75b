"""An agent imports the commune's records in a real browser, in Arabic: a Windows-1256 file with
Arabic columns, the preview and its errors, then the commit; then another commune's request.

Screenshots go to `$HAKAMA_SCREENSHOTS/records-*.png` (default: the temp folder)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hakama.core.access import system_actor
from hakama.demo.territory import demo_areas
from hakama.services import record_exchange, records, users
from hakama.services.platform import Platform
from hakama.services.territory import save_areas
from hakama.settings import Settings
from tests.browser.conftest import serve

SHOTS = Path(os.environ.get("HAKAMA_SCREENSHOTS", tempfile.gettempdir() + "/hakama-screenshots"))
PASSWORD = "correct horse battery"
MAPPING = (
    "columns: {register_number: رقم العقد, register_year: سنة العقد, act_kind: نوع العقد,"
    " requested_at: تاريخ الطلب, channel: القناة, status: الحالة, holder_name: اسم صاحب العقد}\n"
    "values: {act_kind: {ولادة: birth, زواج: marriage}, channel: {شباك: counter, الإنترنت: online},"
    " status: {سلمت: delivered, قيد المعالجة: pending}}\n"
    "dates: {requested_at: '%d/%m/%Y %H:%M'}\n"
)
ROWS = (
    "رقم العقد;سنة العقد;نوع العقد;تاريخ الطلب;القناة;الحالة;اسم صاحب العقد\n"
    "101;1990;ولادة;03/02/2025 09:30;شباك;سلمت;محمد العلوي\n"
    "102;1991;زواج;05/02/2025 11:00;الإنترنت;قيد المعالجة;سعاد\n"
)


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Platform, list[str]]]:
    folder = tmp_path_factory.mktemp("records-browser")
    platform = Platform.open(Settings(data_dir=folder / "data", environment="test"))
    areas = demo_areas()
    save_areas(platform, areas, actor=system_actor("test"))
    communes = sorted(a.code for a in areas if a.level.value == "commune")[:2]
    for name, code in zip(("amina", "karim"), communes, strict=True):
        users.add_user(platform, username=name, password=PASSWORD, role="agent", area_code=code,
                       actor=system_actor("test"), language="ar")  # fmt: skip
    with serve(platform) as url:
        yield url, platform, communes
    platform.close()


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login?lang=ar")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state()


def test_import_in_arabic_then_answer_an_exchange(
    browser: Any, office: tuple[str, Platform, list[str]], tmp_path: Path
) -> None:
    base, platform, (east, _west) = office
    SHOTS.mkdir(parents=True, exist_ok=True)
    upload = tmp_path / "سجل.csv"
    upload.write_bytes((ROWS + "103;1985;طلاق;10/03/2099 10:00;شباك;سلمت;أحمد\n").encode("cp1256"))
    context = browser.new_context(viewport={"width": 412, "height": 915}, locale="ar")
    page = context.new_page()
    sign_in(page, base, "amina")
    page.goto(f"{base}/office/records?lang=ar")
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.select_option("select[name=type]", "civil_status_certificate")
    page.set_input_files("input[name=file]", str(upload))
    page.fill("textarea[name=mapping]", MAPPING)
    page.click("#upload button[type=submit]")
    page.wait_for_selector("#errors")
    errors = page.locator("#errors tbody tr")
    assert errors.count() == 2  # an unknown act kind and a date in the future, both on line 4
    assert "طلاق" in page.locator("#errors").inner_text()
    assert page.locator("#blocked").is_visible() and page.locator("#commit").count() == 0
    page.screenshot(path=str(SHOTS / "records-preview-errors-ar.png"), full_page=True)
    # The corrected file: preview, then store.
    upload.write_bytes(ROWS.encode("cp1256"))
    page.goto(f"{base}/office/records?lang=ar")
    page.select_option("select[name=type]", "civil_status_certificate")
    page.set_input_files("input[name=file]", str(upload))
    page.fill("textarea[name=mapping]", MAPPING)
    page.click("#upload button[type=submit]")
    page.wait_for_selector("#preview")
    assert "محمد العلوي" in page.locator("#preview").inner_text()
    page.screenshot(path=str(SHOTS / "records-preview-ar.png"), full_page=True)
    page.click("#commit button")
    page.wait_for_selector("#message")
    assert records.count_records(platform, area_code=east) == 2
    page.goto(f"{base}/office/records?lang=ar")
    page.screenshot(path=str(SHOTS / "records-office-ar.png"), full_page=True)
    context.close()
    # Another commune asks for record 101; amina answers in her browser.
    asked = record_exchange.request(
        platform, actor=users.actor_for_user(users.get_user(platform, "karim")),
        record_type="civil_status_certificate", holder_area=east,
        key={"register_number": "101", "register_year": "1990", "act_kind": "birth"},
        purpose="ملف زواج مودع لدى جماعتنا", consent_method="signed_form", consent_reference="F-114",
    )  # fmt: skip
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ar")
    page = context.new_page()
    sign_in(page, base, "amina")
    page.goto(f"{base}/office/records/exchanges?lang=ar")
    page.click(f"a[href='/office/records/exchanges/{asked.id}']")
    page.wait_for_selector("#answer")
    page.click("#answer button[value=send]")
    page.wait_for_selector("#message")
    assert "محمد العلوي" in page.locator("#record").inner_text()
    assert page.locator("#steps li").count() == 2
    assert "rq-notice ok" in (page.locator("#proof").get_attribute("class") or "")
    page.screenshot(path=str(SHOTS / "records-exchange-ar.png"), full_page=True)
    context.close()
