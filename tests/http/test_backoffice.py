"""The back office through the real app: an agent works their commune's queue (filters, overdue,
status with public/internal notes, assign, merge, bulk), never another commune's; admins manage
the service catalogue; the requester's contact is shown only to the commune's agents."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from hakama.core.access import system_actor
from hakama.core.clock import utcnow
from hakama.core.request_types import service_from_dict
from hakama.core.requests import Contact, RequestDraft, Status
from hakama.core.territory import Area, Level
from hakama.http.app import create_app
from hakama.services import request_filing, request_types, service_requests, territory, users
from hakama.services.platform import Platform

OPERATOR = system_actor("test")
PASSWORD = "correct horse battery"


def square(x: float, y: float) -> dict[str, object]:
    return {
        "type": "Polygon",
        "coordinates": [[[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]],
    }


AREAS = [
    Area(code="P", level=Level.PROVINCE, names={"fr": "Province", "ar": "إقليم"}),
    Area(code="P.A", level=Level.COMMUNE, names={"fr": "Alpha"}, parent_code="P", geometry=square(0, 0)),
    Area(code="P.B", level=Level.COMMUNE, names={"fr": "Beta"}, parent_code="P", geometry=square(1, 0)),
]
SERVICES = [
    {"code": "lighting", "area_code": "P", "category": "public_lighting", "icon": "lighting",
     "names": {"ar": "الإنارة العمومية", "fr": "Éclairage public"}, "department": "Éclairage",
     "target_hours": 48},
    {"code": "waste", "area_code": "P", "category": "waste", "icon": "waste", "target_hours": 24,
     "names": {"ar": "جمع النفايات", "fr": "Collecte des déchets"}, "department": "Propreté"},
]
SECRET_PHONE = "+212600111222"  # as stored: E.164


@dataclass
class Office:
    app: object
    platform: Platform

    def client(self, username: str | None = None) -> TestClient:
        client = TestClient(self.app, follow_redirects=False)  # type: ignore[arg-type]
        if username:
            page = client.get("/login")
            done = client.post("/login", data={"username": username, "password": PASSWORD,
                                               "csrf_token": form_token(page.text), "next": "/office"})
            assert done.status_code == 303, done.text
        return client

    def file(self, *, at: tuple[float, float] = (0.5, 0.5), service: str = "lighting",
             description: str = "Lampe éteinte", days_ago: float = 0) -> str:
        filed = request_filing.file_request(
            self.platform,
            draft=RequestDraft(service_code=service, lat=at[1], lon=at[0], description=description),
            actor=OPERATOR,
            contact=Contact(first_name="Youssef", phone=SECRET_PHONE),
            now=utcnow() - timedelta(days=days_ago),
        )
        return filed.request.id


def _office(platform: Platform) -> Iterator[Office]:
    territory.save_areas(platform, AREAS, actor=OPERATOR)
    request_types.save_services(platform, [service_from_dict(s) for s in SERVICES],
                                  actor=OPERATOR)
    for name, role, area in (("agent-a", "agent", "P.A"), ("agent-b", "agent", "P.B"),
                             ("admin-p", "admin", "P"), ("admin-a", "admin", "P.A"),
                             ("citizen", "citizen", "P.A")):
        users.add_user(platform, username=name, password=PASSWORD, role=role,
                       area_code=area, actor=OPERATOR)
    app = create_app(platform.settings, platform=platform, background=False)
    with TestClient(app):
        yield Office(app, platform)


@pytest.fixture
def office(sqlite_platform: Platform) -> Iterator[Office]:
    yield from _office(sqlite_platform)


@pytest.fixture
def office_any_engine(platform: Platform) -> Iterator[Office]:
    """The back office over SQLite and PostgreSQL, for the tests about who sees what."""
    yield from _office(platform)


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def status_of(office: Office, request_id: str) -> Status:
    return service_requests.get_request(office.platform, request_id, actor=OPERATOR).status


def test_the_office_needs_a_working_account(office: Office) -> None:
    anonymous = office.client()
    response = anonymous.get("/office?status=all")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Foffice%3Fstatus%3Dall"
    citizen = office.client("citizen")
    refused = citizen.get("/office")
    assert refused.status_code == 403 and "<html" in refused.text
    assert citizen.get("/office/services").status_code == 403


def test_agent_sees_only_their_commune_with_overdue_highlighted(office: Office) -> None:
    late = office.file(days_ago=5, description="Poteau tombé")
    fresh = office.file(service="waste", description="Bac plein")
    elsewhere = office.file(at=(1.5, 0.5), description="Chez les voisins")
    agent = office.client("agent-a")
    page = agent.get("/office?lang=fr")
    assert page.status_code == 200
    assert late in page.text and fresh in page.text and elsewhere not in page.text
    assert re.search(rf'<tr class="overdue" data-id="{late}">', page.text)
    assert re.search(rf'<tr class="" data-id="{fresh}">', page.text)
    assert "1 en retard" in page.text
    overdue = agent.get("/office?overdue=1")
    assert late in overdue.text and fresh not in overdue.text
    by_service = agent.get("/office?service=waste")
    assert fresh in by_service.text and late not in by_service.text
    search = agent.get("/office?q=poteau")
    assert late in search.text and fresh not in search.text
    oldest = agent.get("/office?sort=requested_at").text
    assert oldest.index(late) < oldest.index(fresh)
    # the province admin works every commune, with a commune filter
    admin = office.client("admin-p").get("/office")
    assert all(i in admin.text for i in (late, fresh, elsewhere)) and 'name="area"' in admin.text


def test_agent_cannot_reach_another_communes_queue_or_requests(office_any_engine: Office) -> None:
    office = office_any_engine
    theirs = office.file(at=(1.5, 0.5))
    agent = office.client("agent-a")
    assert agent.get("/office?area=P.B").status_code == 403
    detail = agent.get(f"/office/requests/{theirs}")
    assert detail.status_code == 403 and SECRET_PHONE not in detail.text
    assert agent.get(f"/office/requests/{theirs}?contact=1").status_code == 403
    token = form_token(agent.get("/office").text)
    for action, data in (
        ("status", {"status": "resolved", "note": "fait"}),
        ("assign", {"assignee": "moi"}),
        ("comment", {"note": "interne"}),
        ("merge", {"duplicates": theirs}),
    ):
        response = agent.post(f"/office/requests/{theirs}/{action}", data={"csrf_token": token, **data})
        assert response.status_code == 403, (action, response.text)
    bulk = agent.post("/office/bulk", data={"csrf_token": token, "ids": [theirs], "action": "closed"})
    assert bulk.status_code == 303 and "failed=1" in bulk.headers["location"]
    assert status_of(office, theirs) is Status.OPEN
    # and agent B does see it
    assert office.client("agent-b").get(f"/office/requests/{theirs}").status_code == 200


def test_status_notes_public_and_internal(office: Office) -> None:
    request_id = office.file()
    agent = office.client("agent-a")
    page = agent.get(f"/office/requests/{request_id}?lang=fr")
    token = form_token(page.text)
    assert 'value="acknowledged"' in page.text
    done = agent.post(f"/office/requests/{request_id}/status",
                      data={"csrf_token": token, "status": "acknowledged", "note": "Équipe prévenue",
                            "public": "1"})
    assert done.status_code == 303 and done.headers["location"].endswith("?msg=saved")
    agent.post(f"/office/requests/{request_id}/comment",
               data={"csrf_token": token, "note": "Voir avec le fournisseur"})
    detail = agent.get(f"/office/requests/{request_id}?lang=fr").text
    assert "Enregistré." not in detail  # no msg param here
    assert "Équipe prévenue" in detail and "Voir avec le fournisseur" in detail
    public = office.client().get(f"/track/{request_id}?lang=fr").text
    assert "Équipe prévenue" in public and "Voir avec le fournisseur" not in public
    assert "Prise en compte" in public
    # a change the status machine refuses is explained, not a 500
    agent.post(f"/office/requests/{request_id}/status",
               data={"csrf_token": token, "status": "closed", "public": "1"})
    again = agent.post(f"/office/requests/{request_id}/status",
                       data={"csrf_token": token, "status": "in_progress"})
    assert again.status_code == 409 and "cannot become" in again.text
    assert agent.post(f"/office/requests/{request_id}/status",
                      data={"status": "closed"}).status_code == 403  # no CSRF token


def test_contact_only_on_demand_and_audited(office: Office) -> None:
    request_id = office.file()
    agent = office.client("agent-a")
    page = agent.get(f"/office/requests/{request_id}")
    assert SECRET_PHONE not in page.text and 'id="show-contact"' in page.text
    shown = agent.get(f"/office/requests/{request_id}?contact=1")
    assert SECRET_PHONE in shown.text and "Youssef" in shown.text
    from hakama.services import audit

    with office.platform.db.connect() as conn:
        actions = [e.action for e in audit.entries(conn)]
    assert "request.contact.read" in actions
    assert SECRET_PHONE not in office.client().get(f"/track/{request_id}").text


def test_assign_merge_and_reopen(office: Office) -> None:
    first = office.file()
    dupe = office.file(at=(0.51, 0.5))
    agent = office.client("agent-a")
    token = form_token(agent.get(f"/office/requests/{first}").text)
    agent.post(f"/office/requests/{first}/assign",
               data={"csrf_token": token, "assignee": "karim", "department": "Éclairage"})
    req = service_requests.get_request(office.platform, first, actor=OPERATOR)
    assert req.assignee == "karim" and req.department == "Éclairage"
    merged = agent.post(f"/office/requests/{first}/merge",
                        data={"csrf_token": token, "duplicates": dupe.lower()})
    assert merged.status_code == 303, merged.text
    gone = service_requests.get_request(office.platform, dupe, actor=OPERATOR)
    assert gone.status is Status.CLOSED and gone.merged_into == first
    assert first in office.client().get(f"/track/{dupe}").text
    bad = agent.post(f"/office/requests/{first}/merge", data={"csrf_token": token, "duplicates": ""})
    assert bad.status_code == 400
    agent.post(f"/office/requests/{first}/status", data={"csrf_token": token, "status": "resolved"})
    reopened = agent.post(f"/office/requests/{first}/reopen", data={"csrf_token": token, "note": ""})
    assert reopened.status_code == 303
    assert status_of(office, first) is Status.OPEN


def test_bulk_actions(office: Office) -> None:
    ids = [office.file(at=(0.2 + i / 10, 0.5)) for i in range(3)]
    agent = office.client("agent-a")
    token = form_token(agent.get("/office").text)
    done = agent.post("/office/bulk", data={"csrf_token": token, "ids": ids[:2],
                                            "action": "in_progress", "note": "Tournée lundi",
                                            "public": "1", "back": "/office?status=all"})
    assert done.status_code == 303
    assert done.headers["location"].startswith("/office?status=all&msg=bulk&done=2&failed=0")
    assert [status_of(office, i) for i in ids] == [Status.IN_PROGRESS, Status.IN_PROGRESS, Status.OPEN]
    message = agent.get(done.headers["location"] + "&lang=fr").text
    assert "2 demande(s) mise(s) à jour." in message
    agent.post("/office/bulk", data={"csrf_token": token, "ids": ids, "action": "assign", "note": "samir"})
    assert all(
        service_requests.get_request(office.platform, i, actor=OPERATOR).assignee == "samir" for i in ids
    )
    nothing = agent.post("/office/bulk", data={"csrf_token": token, "action": "closed"})
    assert nothing.status_code == 400
    evil = agent.post("/office/bulk", data={"csrf_token": token, "ids": ids, "action": "closed",
                                            "back": "https://evil.example/"})
    assert evil.headers["location"].startswith("/office?msg=bulk")


def test_admin_manages_the_catalogue(office: Office) -> None:
    admin = office.client("admin-p")
    listing = admin.get("/office/services?lang=fr")
    assert listing.status_code == 200 and "Éclairage public" in listing.text
    form = admin.get("/office/services/new?area=P")
    token = form_token(form.text)
    saved = admin.post("/office/services/save", data={
        "csrf_token": token, "area": "P", "code": "potholes", "name_ar": "الحفر", "name_fr": "Nids-de-poule",
        "name_en": "Potholes", "category": "roads", "department": "Voirie", "target_hours": "120",
        "icon": "road", "active": "1",
        "attr_code": ["size", ""], "attr_datatype": ["singlevaluelist", "string"],
        "attr_required": ["1", "0"], "attr_ar": ["الحجم", ""], "attr_fr": ["Taille", ""],
        "attr_en": ["Size", ""], "attr_values": ["small=Petit, big=Grand", ""],
    })
    assert saved.status_code == 303, saved.text
    service = request_types.get_service(office.platform, "potholes", area_code="P.A")
    assert service.names["ar"] == "الحفر" and service.target_hours == 120 and service.icon == "road"
    size = service.attribute("size")
    assert size is not None and size.required and size.value_keys() == ("small", "big")
    # the new service is offered on the portal at once
    assert "/report/potholes" in office.client().get("/report").text
    # a commune admin overrides an inherited service for their commune only
    commune_admin = office.client("admin-a")
    edit = commune_admin.get("/office/services/lighting?area=P.A")
    assert edit.status_code == 200 and 'value="Éclairage public"' in edit.text
    disabled = commune_admin.post("/office/services/lighting/disable",
                                  data={"csrf_token": form_token(edit.text), "area": "P.A"})
    assert disabled.status_code == 303
    assert "lighting" not in [s.code for s in request_types.list_services(office.platform, area_code="P.A")]
    assert "lighting" in [s.code for s in request_types.list_services(office.platform, area_code="P.B")]
    assert commune_admin.get("/office/services?area=P").status_code == 403
    # invalid input is shown back, not stored
    bad = admin.post("/office/services/save", data={"csrf_token": token, "area": "P", "code": "Bad Code",
                                                    "name_fr": "x", "category": "x", "target_hours": "1"})
    assert bad.status_code == 400 and 'id="errors"' in bad.text
    agent = office.client("agent-a")
    assert agent.get("/office/services").status_code == 403


def test_agents_add_and_see_photos_of_their_commune_only(office: Office) -> None:
    import io

    from PIL import Image

    request_id = office.file()
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 90, 0)).save(buffer, "PNG")
    agent = office.client("agent-a")
    token = form_token(agent.get(f"/office/requests/{request_id}").text)
    sent = agent.post(f"/office/requests/{request_id}/photo", data={"csrf_token": token},
                      files={"photo": ("after.png", buffer.getvalue(), "image/png")})
    assert sent.status_code == 303, sent.text
    page = agent.get(f"/office/requests/{request_id}").text
    found = re.search(rf'src="(/office/media/{request_id}/[0-9a-f]{{32}}\.png)"', page)
    assert found, page
    assert agent.get(found.group(1)).headers["content-type"] == "image/png"
    assert office.client("agent-b").get(found.group(1)).status_code == 404
    assert office.client().get(found.group(1)).status_code == 404
    empty = agent.post(f"/office/requests/{request_id}/photo", data={"csrf_token": token})
    assert empty.status_code == 400


def test_another_communes_request_says_whose_it_is_not_sign_in(office: Office) -> None:
    theirs = office.file(at=(1.5, 0.5))  # in Beta
    agent = office.client("agent-a")  # works Alpha
    page = agent.get(f"/office/requests/{theirs}?lang=fr")
    assert page.status_code == 403
    assert "Cette demande relève de la commune de Beta" in page.text
    assert 'href="/office"' in page.text
    assert "Connectez-vous" not in page.text and "Sign in with" not in page.text
    assert SECRET_PHONE not in page.text
    arabic = agent.get(f"/office/requests/{theirs}?lang=ar")
    assert "هذا الطلب تابع لجماعة" in arabic.text and "Beta" in arabic.text
    # Someone who is not signed in is still sent to sign in.
    anonymous = office.client().get(f"/office/requests/{theirs}")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
