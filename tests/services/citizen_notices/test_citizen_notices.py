"""Notices to citizens, end to end through a real SMTP server (aiosmtpd) and a real HTTP SMS
gateway: what is told, to whom, in which language, with which links; retries; stopping;
following; and that nothing goes to anyone who gave no address."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa

from hakama.core.access import ANONYMOUS, Actor, Role
from hakama.core.clock import utcnow
from hakama.core.errors import Invalid, NotFound
from hakama.core.requests import Contact, RequestDraft, Status
from hakama.jobs import citizen_notices as job
from hakama.services import citizen_notices, request_filing
from hakama.services import service_requests as sr
from hakama.storage.schema_notices import notice_outbox, notice_recipients
from hakama.storage.schema_requests import request_contacts

from .conftest import World

BASE = "https://hakama.example.ma"


def _file(w: World, contact: Contact | None, language: str = "ar") -> request_filing.FiledRequest:
    lon, lat = w.point
    draft = RequestDraft(
        service_code="public_lighting",
        description="Lampadaire éteint",
        lat=lat,
        lon=lon,
        attributes={"problem": "off"},
        language=language,
    )
    return request_filing.file_request(w.platform, draft=draft, actor=ANONYMOUS, contact=contact)


def _agent(w: World) -> Actor:
    return Actor(kind="user", id="agent", role=Role.AGENT, area_code=w.commune)


def _deliver(w: World) -> list[str]:
    return asyncio.run(job.deliver_once(w.platform))


def _outbox(w: World) -> list[sa.Row[tuple[object, ...]]]:
    with w.platform.db.connect() as conn:
        return list(conn.execute(sa.select(notice_outbox).order_by(notice_outbox.c.id)).all())


def test_requester_is_told_of_each_public_change_in_their_language(world: World) -> None:
    w = world
    filed = _file(w, Contact(email="amina@example.ma", phone="06 00 11 22 33"))
    rid = filed.request.id
    with w.platform.db.connect() as conn:
        stored_phone = conn.execute(
            sa.select(request_contacts.c.phone).where(request_contacts.c.request_id == rid)
        ).scalar_one()
    assert stored_phone == "+212600112233"  # the national form, normalised to E.164

    assert sorted(_deliver(w)) == ["sent", "sent"]  # the receipt: one mail, one SMS
    ((rcpt, receipt),) = w.mailbox.messages
    assert rcpt == ["amina@example.ma"]
    assert receipt["Subject"] == f"الطلب {rid}: تم الاستلام"
    body = receipt.get_content()
    assert f"تم استلام طلبكم {rid}" in body
    assert f"{BASE}/track/{rid}?lang=ar" in body  # the page opens in the message's language
    assert receipt["Content-Language"] == "ar"
    assert f"{BASE}/notices/" in body and "/stop" in body
    assert receipt["List-Unsubscribe"].strip().startswith(f"<{BASE}/notices/")
    (sms,) = w.gateway.received
    assert sms["path"] == "/send" and sms["type"].startswith("application/json")
    assert sms["auth"] == "Bearer s3cret"
    assert sms["body"]["to"] == "+212600112233"
    assert f"{BASE}/track/{rid}" in sms["body"]["text"] and rid in sms["body"]["text"]

    agent = _agent(w)
    sr.assign(w.platform, rid, actor=agent, assignee="Karim")  # internal: nobody is told
    sr.comment(w.platform, rid, text="voir avec le service technique", actor=agent)  # internal
    sr.transition(w.platform, rid, status=Status.ACKNOWLEDGED, actor=agent)
    sr.transition(
        w.platform, rid, status=Status.RESOLVED, actor=agent, note="Lampe changée le 3 décembre"
    )
    assert _deliver(w) == ["sent"] * 4
    subjects = [m["Subject"] for _, m in w.mailbox.messages[1:]]
    assert subjects == [f"الطلب {rid}: أُخذ بعين الاعتبار", f"الطلب {rid}: تمت المعالجة"]
    resolved = w.mailbox.messages[-1][1].get_content()
    assert "ملاحظة الجماعة: Lampe changée le 3 décembre" in resolved
    assert "Karim" not in resolved and "service technique" not in resolved
    texts = [r["body"]["text"] for r in w.gateway.received[1:]]
    assert texts[0].startswith(f"أخذت الجماعة الطلب {rid}")
    assert "Lampe changée le 3 décembre" in texts[1]
    assert _outbox(w) == []  # sent rows leave the outbox


def test_nothing_is_sent_without_an_address(world: World) -> None:
    w = world
    rid = _file(w, None).request.id
    _file(w, Contact(first_name="Amina"))  # a name is no address
    sr.transition(w.platform, rid, status=Status.RESOLVED, actor=_agent(w))
    assert _outbox(w) == []
    assert _deliver(w) == []
    assert w.mailbox.messages == [] and w.gateway.received == []


def test_channels_that_are_off_get_no_recipient(world: World) -> None:
    w = world
    w.platform.settings.sms_gateway = None  # the operator turned SMS off
    rid = _file(w, Contact(email="a@example.ma", phone="0600112233")).request.id
    with w.platform.db.connect() as conn:
        channels = (
            conn.execute(
                sa.select(notice_recipients.c.channel).where(notice_recipients.c.request_id == rid)
            )
            .scalars()
            .all()
        )
    assert channels == ["email"]


def test_a_landline_gets_no_sms(world: World) -> None:
    w = world
    _file(w, Contact(phone="05 36 61 00 00"))
    assert _outbox(w) == []


def test_a_number_that_is_no_number_is_refused_before_anything_is_written(world: World) -> None:
    w = world
    with pytest.raises(Invalid, match="needs 9 digits"):
        _file(w, Contact(phone="06 12 34"))
    with w.platform.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(request_contacts)).scalar() == 0


def test_failed_sends_are_retried_and_refusals_given_up(world: World) -> None:
    w = world
    w.gateway.answers = [503]  # the gateway is down once
    w.mailbox.refuse = {"gone@example.ma"}
    _file(w, Contact(email="gone@example.ma", phone="+212 6 00 11 22 33"))
    assert sorted(_deliver(w)) == ["dead", "retry"]
    rows = {r.state: r for r in _outbox(w)}
    assert rows["dead"].last_error.startswith("SMTP refused")  # no retry changes a refusal
    retry = rows["pending"]
    assert retry.attempts == 1 and "503" in retry.last_error
    assert retry.due_at > utcnow() + timedelta(seconds=20)  # backed off, not hammered
    assert _deliver(w) == []  # not due yet
    with w.platform.db.begin() as conn:
        conn.execute(notice_outbox.update().values(due_at=utcnow()))
    assert _deliver(w) == ["sent"]
    assert len(w.gateway.received) == 2
    assert [r.state for r in _outbox(w)] == ["dead"]


def test_an_unreachable_smtp_server_is_retried(world: World) -> None:
    w = world
    w.platform.settings.smtp_port = 1  # nothing listens there
    w.platform.settings.sms_gateway = None
    _file(w, Contact(email="amina@example.ma"))
    assert _deliver(w) == ["retry"]
    assert _outbox(w)[0].last_error.startswith("ConnectionRefusedError")


def test_the_stop_link_stops_everything_for_that_address(world: World) -> None:
    w = world
    rid = _file(w, Contact(email="amina@example.ma", phone="0600112233")).request.id
    with w.platform.db.connect() as conn:
        token = conn.execute(
            sa.select(notice_recipients.c.token).where(notice_recipients.c.channel == "email")
        ).scalar_one()
    stopped = citizen_notices.stop(w.platform, token)
    assert (stopped.request_id, stopped.channel, stopped.shown_address) == (
        rid,
        "email",
        "a***@example.ma",
    )
    sr.transition(w.platform, rid, status=Status.IN_PROGRESS, actor=_agent(w))
    assert _deliver(w) == ["sent", "sent"]  # the receipt SMS and the in-progress SMS
    assert w.mailbox.messages == []
    assert len(w.gateway.received) == 2
    with pytest.raises(NotFound):
        citizen_notices.stop(w.platform, "not-a-token")


def test_the_requester_stops_their_notices_with_their_token(world: World) -> None:
    w = world
    filed = _file(w, Contact(email="amina@example.ma", phone="0600112233"))
    rid = filed.request.id
    assert [r.channel for r in citizen_notices.requester_channels(w.platform, rid)] == [
        "email",
        "sms",
    ]
    with pytest.raises(NotFound):
        citizen_notices.stop_requester(w.platform, rid, token="guess")
    assert citizen_notices.stop_requester(w.platform, rid, token=filed.token) == 2
    assert citizen_notices.requester_channels(w.platform, rid) == []
    assert _outbox(w) == []  # the receipt waiting to go was dropped too


def test_a_follower_confirms_then_is_told_in_their_language(world: World) -> None:
    w = world
    filed = _file(w, None, language="ar")
    rid = filed.request.id
    citizen_notices.follow(w.platform, rid, email="voisin@example.ma", language="fr")
    citizen_notices.follow(w.platform, rid, email="voisin@example.ma", language="fr")  # again
    sr.transition(w.platform, rid, status=Status.ACKNOWLEDGED, actor=_agent(w))
    assert _deliver(w) == ["sent"]  # only the confirmation: not yet confirmed
    ((rcpt, confirm),) = w.mailbox.messages
    assert rcpt == ["voisin@example.ma"]
    assert confirm["Subject"] == f"Demande {rid} : confirmez le suivi"
    link = next(
        line for line in confirm.get_content().split() if line.startswith(f"{BASE}/notices/")
    )
    token = link.removeprefix(f"{BASE}/notices/").removesuffix("/confirm")
    assert citizen_notices.confirm_follow(w.platform, token).state == "active"

    sr.transition(w.platform, rid, status=Status.RESOLVED, actor=_agent(w), note="Réparé")
    sr.confirm(w.platform, rid, actor=ANONYMOUS, token=filed.token)  # the requester closes it
    assert _deliver(w) == ["sent", "sent"]
    subjects = [m["Subject"] for _, m in w.mailbox.messages[1:]]
    assert subjects == [f"Demande {rid} : résolue", f"Demande {rid} : close"]
    resolved = w.mailbox.messages[1][1].get_content()
    # Written in French, with the catalogue's French name of the service.
    assert (
        "La demande" in resolved
        and "Éclairage" in resolved
        and "Note de la commune : Réparé" in resolved
    )


def test_follow_asks_for_an_address_and_mail(world: World) -> None:
    w = world
    rid = _file(w, None).request.id
    with pytest.raises(Invalid, match="not a valid address"):
        citizen_notices.follow(w.platform, rid, email="nope", language="fr")
    with pytest.raises(NotFound):
        citizen_notices.follow(w.platform, "ZZZZ-ZZZZ", email="a@example.ma", language="fr")
    w.platform.settings.smtp_host = None
    with pytest.raises(Invalid, match="following is not available"):
        citizen_notices.follow(w.platform, rid, email="a@example.ma", language="fr")


def test_a_merged_duplicate_tells_where_to_look_now(world: World) -> None:
    w = world
    w.platform.settings.sms_gateway = None
    primary = _file(w, None).request.id
    dupe = _file(w, Contact(email="amina@example.ma"), language="en").request.id
    sr.merge_duplicates(w.platform, primary_id=primary, duplicate_ids=[dupe], actor=_agent(w))
    assert _deliver(w) == ["sent", "sent"]
    merged = next(m for _, m in w.mailbox.messages if "received" not in m["Subject"])
    assert merged["Subject"] == f"Request {dupe}: joined to another"
    assert f"joined to request {primary}" in merged.get_content()


def test_twilio_adapter_speaks_the_messages_api(world: World) -> None:
    w = world
    w.platform.settings.smtp_host = None
    w.platform.settings.sms_gateway = "twilio"
    w.platform.settings.sms_url = w.platform.settings.sms_url.removesuffix("/send")  # type: ignore[union-attr]
    w.platform.settings.sms_username = "AC0123456789abcdef"
    w.platform.settings.sms_token = "authtoken"
    w.platform.settings.sms_from = "+15005550006"
    w.gateway.answers = [201]
    rid = _file(w, Contact(phone="+212 7 12 34 56 78"), language="fr").request.id
    assert _deliver(w) == ["sent"]
    (sent,) = w.gateway.received
    assert sent["path"] == "/2010-04-01/Accounts/AC0123456789abcdef/Messages.json"
    assert sent["basic"] == "AC0123456789abcdef:authtoken"
    assert sent["type"].startswith("application/x-www-form-urlencoded")
    assert sent["body"]["To"] == "+212712345678" and sent["body"]["From"] == "+15005550006"
    assert sent["body"]["Body"].startswith(f"Votre demande {rid}")


def test_a_retry_holds_back_the_later_notices_of_the_same_recipient(world: World) -> None:
    w = world
    w.platform.settings.smtp_host = None
    w.gateway.answers = [503]
    rid = _file(w, Contact(phone="0600112233"), language="fr").request.id
    sr.transition(w.platform, rid, status=Status.ACKNOWLEDGED, actor=_agent(w))
    assert _deliver(w) == ["retry"]  # the receipt failed; "acknowledged" was not sent before it
    assert len(w.gateway.received) == 1
    assert _deliver(w) == []
    with w.platform.db.begin() as conn:
        conn.execute(notice_outbox.update().values(due_at=utcnow()))
    assert _deliver(w) == ["sent", "sent"]
    texts = [r["body"]["text"] for r in w.gateway.received[1:]]
    assert texts[0].startswith("Votre demande") and "prise en compte" in texts[1]


def test_the_background_job_sends_soon_after_a_change(world: World) -> None:
    w = world
    w.platform.settings.sms_gateway = None
    assert job.enabled(w.platform)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(job.run(w.platform, stop))
        await asyncio.sleep(0.2)
        await asyncio.to_thread(_file, w, Contact(email="amina@example.ma"))
        for _ in range(100):  # well under the 5 s poll: the change woke the job
            if w.mailbox.messages:
                break
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    assert len(w.mailbox.messages) == 1
    w.platform.settings.smtp_host = None
    assert not job.enabled(w.platform)


def test_a_request_filed_in_tamazight_keeps_its_language_and_is_told_in_arabic(
    world: World,
) -> None:
    """Messages are not written in Tamazight yet: the stated fallback is Arabic."""
    w = world
    filed = _file(w, Contact(email="tifawin@example.ma"), language="zgh")
    rid = filed.request.id
    assert filed.request.language == "zgh"
    with w.platform.db.connect() as conn:
        stored = conn.execute(
            sa.text("SELECT language FROM service_requests WHERE id = :id"), {"id": rid}
        ).scalar_one()
        told_in = conn.execute(
            sa.select(notice_recipients.c.language).where(notice_recipients.c.request_id == rid)
        ).scalar_one()
    assert (stored, told_in) == ("zgh", "ar")
    assert _deliver(w) == ["sent"]
    ((_rcpt, receipt),) = w.mailbox.messages
    assert receipt["Subject"] == f"الطلب {rid}: تم الاستلام"
    assert f"تم استلام طلبكم {rid}" in receipt.get_content()
    # the link opens the tracking page in Tamazight, the language its pages were read in
    assert f"{BASE}/track/{rid}?lang=zgh" in receipt.get_content()
