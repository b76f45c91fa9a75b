"""Exchange of records between communes: request with purpose and consent, answer or refusal by
the holder, every step in the audit chain, and a proof that fails when anything is altered."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from hakama.core.access import Actor, Role
from hakama.core.errors import Conflict, Forbidden, Invalid, NotFound
from hakama.services import record_exchange, record_file_imports
from hakama.services.platform import Platform
from hakama.storage import schema
from hakama.storage.schema_records import record_exchanges
from tests.services.records.conftest import EAST, WEST, agent

KEY = {"register_number": "101", "register_year": "1990", "act_kind": "birth"}


def held_by_west(platform: Platform, tmp_path: Path) -> None:
    path = tmp_path / "west.csv"
    path.write_text(
        "register_number,register_year,act_kind,requested_at,channel,status,holder_name,requester_name\n"
        "101,1990,birth,2025-02-01 10:00,counter,pending,Youssef Amrani,Hind\n",
        encoding="utf-8",
    )
    record_file_imports.import_file(platform, actor=agent(WEST, "karim"), area_code=WEST,
                        type_id="civil_status_certificate", path=path, recompute=False)  # fmt: skip


def ask(platform: Platform, **changes: object) -> record_exchange.Exchange:
    args: dict[str, object] = {
        "actor": agent(EAST), "record_type": "civil_status_certificate", "holder_area": WEST,
        "key": KEY, "purpose": "Dossier de mariage du citoyen installé à Est",
        "consent_method": "signed_form", "consent_reference": "formulaire n° 2025-114",
    }  # fmt: skip
    args.update(changes)
    return record_exchange.request(platform, **args)  # type: ignore[arg-type]


def test_request_answer_and_proof(territory_platform: Platform, tmp_path: Path) -> None:
    p = territory_platform
    held_by_west(p, tmp_path)
    asked = ask(p)
    assert (asked.state, asked.requester, asked.requester_area, asked.holder_area) == (
        "requested", "user:amina", EAST, WEST)  # fmt: skip
    assert asked.consent["method"] == "signed_form"
    queue = record_exchange.list_for(p, actor=agent(WEST, "karim"))
    assert [e.id for e in queue["incoming"]] == [asked.id] and queue["outgoing"] == []
    with pytest.raises(Forbidden):  # the asking commune cannot answer its own request
        record_exchange.answer(p, actor=agent(EAST), exchange_id=asked.id, send=True)
    with pytest.raises(NotFound):  # a third party does not even see it
        record_exchange.get(
            p, actor=Actor("user", "x", Role.AGENT, "99.1.03"), exchange_id=asked.id
        )
    sent = record_exchange.answer(p, actor=agent(WEST, "karim"), exchange_id=asked.id, send=True)
    assert sent.state == "answered" and sent.answered_by == "user:karim"
    assert sent.record is not None
    assert sent.record["holder_name"] == "Youssef Amrani" and "requester_name" not in sent.record
    with pytest.raises(Conflict):
        record_exchange.answer(
            p, actor=agent(WEST, "karim"), exchange_id=asked.id, send=False, reason="non"
        )
    proof = record_exchange.proof(p, actor=agent(EAST), exchange_id=asked.id)
    assert proof.ok and proof.chain_ok and proof.record_matches
    assert [(s["action"], s["actor"]) for s in proof.steps] == [
        ("records.exchange.request", "user:amina"),
        ("records.exchange.answer", "user:karim"),
    ]
    assert proof.steps[0]["details"]["purpose"].startswith("Dossier de mariage")
    assert proof.steps[0]["details"]["consent"]["reference"] == "formulaire n° 2025-114"
    # Someone edits what the requester received: the proof says so.
    with p.db.begin() as conn:
        tampered = {**sent.record, "holder_name": "Quelqu'un d'autre"}
        conn.execute(
            record_exchanges.update()
            .where(record_exchanges.c.id == asked.id)
            .values(record=tampered)
        )
    assert not record_exchange.proof(p, actor=agent(EAST), exchange_id=asked.id).ok
    # Someone edits the audit trail itself: the chain breaks.
    with p.db.begin() as conn:
        conn.execute(
            schema.audit_log.update()
            .where(schema.audit_log.c.seq == proof.steps[0]["seq"])
            .values(actor="user:mallory")
        )
    assert not record_exchange.proof(p, actor=agent(EAST), exchange_id=asked.id).chain_ok


def test_refusal_and_unknown_records(territory_platform: Platform, tmp_path: Path) -> None:
    p = territory_platform
    held_by_west(p, tmp_path)
    missing = ask(p, key={**KEY, "register_number": "999"})
    with pytest.raises(NotFound, match="no record of this commune matches"):
        record_exchange.answer(p, actor=agent(WEST, "karim"), exchange_id=missing.id, send=True)
    with pytest.raises(Invalid, match="say why"):
        record_exchange.answer(p, actor=agent(WEST, "karim"), exchange_id=missing.id, send=False)
    refused = record_exchange.answer(p, actor=agent(WEST, "karim"), exchange_id=missing.id,
                                     send=False, reason="Aucun acte 999/1990 dans nos registres")  # fmt: skip
    assert (refused.state, refused.record) == ("refused", None)
    proof = record_exchange.proof(p, actor=agent(WEST, "karim"), exchange_id=missing.id)
    assert proof.ok and proof.record_matches is None
    assert proof.steps[-1]["details"]["reason"].startswith("Aucun acte")


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"purpose": "besoin"}, Invalid, "say why the record is needed"),
        ({"consent_method": "implied"}, Invalid, "consent is one of"),
        ({"consent_reference": " "}, Invalid, "consent's reference"),
        ({"key": {"register_number": "101"}}, Invalid, "missing: register_year, act_kind"),
        ({"key": {**KEY, "holder_name": "x"}}, Invalid, "do not identify"),
        ({"holder_area": EAST}, Invalid, "your own commune"),
        ({"holder_area": "00.000"}, NotFound, "no area"),
        ({"actor": Actor("user", "c", Role.CITIZEN, EAST)}, Forbidden, "may not handle personal"),
        ({"actor": Actor("key", "k", Role.AGENT, EAST)}, Forbidden, "made by an agent"),
    ],
)
def test_bad_requests_store_nothing(
    territory_platform: Platform, changes: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        ask(territory_platform, **changes)
    with territory_platform.db.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(record_exchanges)).scalar_one() == 0
        )
