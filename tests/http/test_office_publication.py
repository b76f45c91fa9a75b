"""Moderation in the back office: an agent of the request's commune approves the public text
open data may carry (checked by the privacy gate, CSRF-protected, audited); no one else can."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hakama.services import request_publication
from hakama.services.platform import Platform
from hakama.storage.schema import audit_log
from tests.http.test_backoffice import Office, _office, form_token


@pytest.fixture
def office(sqlite_platform: Platform) -> Iterator[Office]:
    yield from _office(sqlite_platform)


def test_an_agent_approves_a_public_text_and_withdraws_it(office: Office) -> None:
    rid = office.file(description="Lampe éteinte, appelez-moi au 0612345678")
    agent = office.client("agent-a")
    page = agent.get(f"/office/requests/{rid}")
    assert f'action="/office/requests/{rid}/publish"' in page.text
    token = form_token(page.text)
    leaky = agent.post(f"/office/requests/{rid}/publish", data={"note": "Rappeler le 0612345678", "csrf_token": token})
    assert leaky.status_code == 400 and "phone" in leaky.text
    assert request_publication.get(office.platform, rid) is None
    done = agent.post(f"/office/requests/{rid}/publish", data={"note": "Lampe remplacée.", "csrf_token": token})
    assert done.status_code == 303
    published = request_publication.get(office.platform, rid)
    assert published is not None and published.public_text == "Lampe remplacée."
    assert "Lampe remplacée." in agent.get(f"/office/requests/{rid}").text
    with office.platform.db.connect() as conn:
        rows = conn.execute(audit_log.select().where(audit_log.c.resource == f"request:{rid}")).all()
    assert "request.publish_text" in [r.action for r in rows]
    gone = agent.post(f"/office/requests/{rid}/publish", data={"withdraw": "1", "csrf_token": token})
    assert gone.status_code == 303 and request_publication.get(office.platform, rid) is None


def test_no_one_else_can_publish(office: Office) -> None:
    rid = office.file()
    other = office.client("agent-b")
    token = form_token(other.get("/office").text)
    refused = other.post(f"/office/requests/{rid}/publish", data={"note": "Réparé.", "csrf_token": token})
    assert refused.status_code in (403, 404)
    agent = office.client("agent-a")
    no_token = agent.post(f"/office/requests/{rid}/publish", data={"note": "Réparé."})
    assert no_token.status_code == 403
    assert request_publication.get(office.platform, rid) is None
