"""The notice pages through the real app: the receipt's private link (copy button, QR code),
following a request by e-mail and confirming from the mail, stopping from a message's link or
from the requester's tracking page."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient

from hakama.http.app import create_app
from hakama.jobs import citizen_notices as job

from .conftest import World


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    app = create_app(world.platform.settings, platform=world.platform, background=False)
    with TestClient(app, follow_redirects=False) as c:
        yield c


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def _report(client: TestClient, world: World, **contact: str) -> str:
    page = client.get("/report/public_lighting?lang=fr")
    lon, lat = world.point
    response = client.post(
        "/report/public_lighting",
        data={
            "csrf_token": _token(page.text),
            "lat": str(lat),
            "long": str(lon),
            "attribute[problem]": "off",
            "language": "fr",
            **contact,
        },
    )
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def test_receipt_shows_private_link_copy_button_and_qr(client: TestClient, world: World) -> None:
    location = _report(client, world, email="amina@example.ma", phone="06 12 34 56 78")
    page = client.get(location)
    html = page.text
    link = re.search(r'<a href="([^"]+)" id="private-link"', html)
    assert link and "?key=" in link.group(1)
    # The copy button waits for JavaScript (`hidden` until a script can copy).
    assert re.search(
        r'<button type="button" class="secondary copy" data-copy="private-link"[^>]* hidden>', html
    )
    qr = re.search(
        r'<figure class="qr" id="private-qr"><svg role="img"[^>]*>(.*?)</svg>', html, re.S
    )
    assert qr and "<title>Code QR du lien privé</title>" in qr.group(1) and "<path" in qr.group(1)
    assert "style=" not in qr.group(0) and "<script" not in qr.group(0)  # strict-CSP safe
    # The requester sees where messages go, masked, and can stop them.
    assert "a***@example.ma" in html and "+2126****5678" in html
    rid = location.split("/")[2].split("?")[0]
    stop = client.post(f"/track/{rid}/notices/stop", data={"csrf_token": _token(html)})
    assert stop.status_code == 200
    assert "Vous ne recevrez plus de messages sur cette demande." in stop.text
    assert "a***@example.ma" not in stop.text


def test_a_neighbour_follows_confirms_from_the_mail_and_stops(
    client: TestClient, world: World
) -> None:
    rid = _report(client, world).split("/")[2].split("?")[0]
    neighbour = TestClient(client.app, follow_redirects=False)
    page = neighbour.get(f"/track/{rid}?lang=ar")
    assert 'action="/track/' + rid + '/follow"' in page.text
    bad = neighbour.post(
        f"/track/{rid}/follow", data={"csrf_token": _token(page.text), "email": "pas-une-adresse"}
    )
    assert bad.status_code == 400
    assert 'aria-invalid="true" aria-describedby="follow-email-error"' in bad.text
    assert re.search(r'<p class="field-error" id="follow-email-error">[^<]+</p>', bad.text)
    assert 'value="pas-une-adresse"' in bad.text  # what was typed is kept
    done = neighbour.post(
        f"/track/{rid}/follow", data={"csrf_token": _token(page.text), "email": "voisin@example.ma"}
    )
    assert done.status_code == 200 and "أرسلنا رسالة إلى هذا العنوان" in done.text
    assert asyncio.run(job.deliver_once(world.platform)) == ["sent"]
    ((_, mail),) = world.mailbox.messages
    assert mail["Subject"] == f"الطلب {rid}: أكّدوا المتابعة"
    confirm_url = re.search(r"https://hakama.example.ma(/notices/\S+/confirm)", mail.get_content())
    assert confirm_url
    confirmed = neighbour.get(confirm_url.group(1) + "?lang=ar")
    assert confirmed.status_code == 200 and "تم التأكيد" in confirmed.text
    stop_path = confirm_url.group(1).replace("/confirm", "/stop")
    ask = neighbour.get(stop_path + "?lang=fr")
    assert "v***@example.ma" in ask.text and f'action="{stop_path}"' in ask.text
    stopped = neighbour.post(stop_path, data={"csrf_token": _token(ask.text)})
    assert "Plus aucun message sur cette demande ne sera envoyé à v***@example.ma" in stopped.text
    assert neighbour.get("/notices/nope/stop").status_code == 404


def test_a_bad_phone_number_is_said_on_the_form(client: TestClient, world: World) -> None:
    page = client.get("/report/public_lighting?lang=fr")
    lon, lat = world.point
    response = client.post(
        "/report/public_lighting",
        data={
            "csrf_token": _token(page.text),
            "lat": str(lat),
            "long": str(lon),
            "attribute[problem]": "off",
            "phone": "06 12 34",
        },
    )
    assert response.status_code == 400
    assert "Le numéro de téléphone n'est pas valide : écrivez-le comme 06 12 34 56 78." in unescape(
        response.text
    )
