"""The office's records pages as an agent uses them: upload, preview, commit, error report, and
an exchange between two communes, through the real app with sessions and CSRF."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hakama.http.app import create_app
from hakama.services import record_rows, records, users
from hakama.services.platform import Platform
from tests.services.records.conftest import EAST, OPERATOR, WEST

PASSWORD = "correct horse battery"
GOOD = (
    "N° dossier;date_demande;canal;statut;nom_demandeur\n"
    "P-1;2025-06-01 09:00;guichet;delivered;Ali\nP-2;2025-06-02 09:00;online;pending;Sara\n"
)
MAPPING = "columns: {file_number: N° dossier}\nvalues: {channel: {guichet: counter}}\n"


@pytest.fixture
def app(sqlite_territory: Platform) -> Iterator[object]:
    users.add_user(
        sqlite_territory,
        username="amina",
        password=PASSWORD,
        role="agent",
        area_code=EAST,
        actor=OPERATOR,
    )
    users.add_user(
        sqlite_territory,
        username="karim",
        password=PASSWORD,
        role="agent",
        area_code=WEST,
        actor=OPERATOR,
    )
    yield create_app(sqlite_territory.settings, platform=sqlite_territory, background=False)


def token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def signed_in(app: object, username: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)  # type: ignore[arg-type]
    page = client.get("/login")
    done = client.post("/login", data={"username": username, "password": PASSWORD,
                                       "csrf_token": token(page.text), "next": "/office"})  # fmt: skip
    assert done.status_code == 303, done.text
    return client


def upload(client: TestClient, content: bytes, *, name: str = "permis.csv", mapping: str = MAPPING,
           partial: bool = False, csrf: str | None = None) -> object:  # fmt: skip
    page = client.get("/office/records")
    data = {
        "csrf_token": csrf or token(page.text),
        "area": EAST,
        "type": "building_permit",
        "mapping": mapping,
    }
    if partial:
        data["partial"] = "1"
    return client.post(
        "/office/records/preview", data=data, files={"file": (name, content, "text/csv")}
    )


def test_upload_preview_then_commit(app: object, sqlite_territory: Platform) -> None:
    amina = signed_in(app, "amina")
    done = upload(amina, GOOD.encode())
    assert done.status_code == 303  # type: ignore[attr-defined]
    where = done.headers["location"]  # type: ignore[attr-defined]
    page = amina.get(where)
    assert page.status_code == 200
    assert "P-1" in page.text and "counter" in page.text and 'id="commit"' in page.text
    assert "Ali" not in page.text  # the applicant's name is not kept, not even in the preview
    assert records.count_records(sqlite_territory) == 0
    stored = amina.post(where + "/commit", data={"csrf_token": token(page.text)})
    assert stored.status_code == 303 and stored.headers["location"].endswith("msg=committed")
    assert records.count_records(sqlite_territory, area_code=EAST) == 2
    listing = amina.get("/office/records")
    assert "permis.csv" in listing.text and "user:amina" in listing.text
    forged = amina.post(where + "/commit", data={"csrf_token": "forged"})
    assert forged.status_code == 403


def test_rejected_rows_block_the_commit_and_the_error_csv_downloads(
    app: object, sqlite_territory: Platform
) -> None:
    amina = signed_in(app, "amina")
    bad = GOOD + "P-3;2099-01-01;fax;pending;\n"
    where = upload(amina, bad.encode("cp1256")).headers["location"]  # type: ignore[attr-defined]
    page = amina.get(where)
    assert 'id="blocked"' in page.text and 'id="commit"' not in page.text
    assert "dans le futur" in page.text and "code inconnu" in page.text  # the default language
    english = amina.get(where + "?lang=en").text
    assert "in the future" in english and "unknown code" in english
    csv_text = amina.get(where + "/errors.csv?lang=en").text
    assert csv_text.splitlines()[0] == '"line","column","value","code","reason"'
    assert '4,"canal","fax","unknown_code","unknown code (allowed: ' in csv_text
    arabic = amina.get(where + "?lang=ar").text  # the reasons in the page's language
    assert "في المستقبل" in arabic and "رمز غير معروف (المسموح: counter, online)" in arabic
    assert "in the future" not in arabic and "<code>future</code>" in arabic
    french = amina.get(where + "/errors.csv?lang=fr").text
    assert french.splitlines()[0] == '"line","column","value","code","reason"'
    assert '"future","dans le futur"' in french and "in the future" not in french
    assert '4,"canal","fax","unknown_code","code inconnu (autorisés : counter, online)"' in french
    karim = signed_in(app, "karim")  # another commune's agent does not see it
    assert karim.get(where).status_code == 404
    assert karim.get(where + "/errors.csv").status_code == 404
    refused = upload(amina, b"\x89PNG\r\n\x1a\n\x00\x00", name="photo.csv")
    assert refused.status_code == 400  # type: ignore[attr-defined]
    assert "binary file, not a CSV or XLSX" in refused.text  # type: ignore[attr-defined]
    assert records.count_records(sqlite_territory) == 0


def test_an_exchange_through_the_pages(
    app: object, sqlite_territory: Platform, tmp_path: object
) -> None:
    record_rows.ingest_rows(sqlite_territory, actor=OPERATOR, area_code=WEST, type_id="civil_status_certificate",
                        channel="push", rows=[{"register_number": "7", "register_year": "2001", "act_kind": "birth",
                                               "requested_at": "2025-01-02T10:00:00Z", "channel": "counter",
                                               "status": "pending", "holder_name": "سلمى"}])  # fmt: skip
    amina = signed_in(app, "amina")
    page = amina.get("/office/records/exchanges")
    asked = amina.post("/office/records/exchanges", data={
        "csrf_token": token(page.text), "holder": WEST, "type": "civil_status_certificate",
        "key": "7 / 2001 / birth", "purpose": "Dossier de mariage déposé à Est",
        "consent": "signed_form", "reference": "F-2025-9"})  # fmt: skip
    assert asked.status_code == 303, asked.text
    where = asked.headers["location"].split("?")[0]
    karim = signed_in(app, "karim")
    queue = karim.get("/office/records/exchanges")
    assert "Dossier de mariage" in queue.text
    detail = karim.get(where)
    assert 'id="answer"' in detail.text
    sent = karim.post(
        where + "/answer", data={"csrf_token": token(detail.text), "decision": "send"}
    )
    assert sent.status_code == 303
    mine = amina.get(where)
    assert "سلمى" in mine.text and 'id="answer"' not in mine.text
    assert "records.exchange.request" in mine.text and "records.exchange.answer" in mine.text
    assert 'id="proof" class="rq-notice ok"' in mine.text
