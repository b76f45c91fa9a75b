"""Exchange of records between administrations: a small, honest version of what X-Road does.

An agent of one commune asks for a record another commune holds (e.g. a civil-status extract
for a citizen who moved), naming it by its type's key fields, saying why (`purpose`) and how the
citizen consented (a signed form, in person, online, or the law that allows it without consent,
with a reference). The holder's agents see the request in their queue and send the record or
refuse with a reason. Every step is an entry of the hash-chained audit log; the answer's entry
carries the SHA-256 of exactly what was sent. `proof` gathers the steps and re-checks them: the
chain is intact, and what the requester holds is what the holder sent — who asked, why, with
what consent, who answered, when.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from hakama.core.access import Action, Actor, allowed
from hakama.core.clock import utcnow
from hakama.core.errors import Conflict, Forbidden, Invalid, NotFound
from hakama.ingest.record_validation import KEY_SEPARATOR
from hakama.services import audit, record_store, records, territory
from hakama.services.platform import Platform
from hakama.storage import schema
from hakama.storage.schema_records import admin_records, record_exchanges

CONSENT_METHODS = ("signed_form", "in_person", "online", "legal_basis")
MIN_PURPOSE = 10


@dataclass
class Exchange:
    id: str
    record_type: str
    key: dict[str, str]
    requester: str
    requester_area: str
    holder_area: str
    purpose: str
    consent: dict[str, Any]
    state: str
    answered_by: str | None
    answer_reason: str | None
    record: dict[str, Any] | None
    record_sha256: str | None
    created_at: datetime
    answered_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for k in ("created_at", "answered_at"):
            out[k] = out[k].isoformat() if out[k] else None
        return out


@dataclass
class Proof:
    exchange: Exchange
    steps: list[dict[str, Any]] = field(default_factory=list)
    chain_ok: bool = False
    record_matches: bool | None = None  # None: nothing was sent

    @property
    def ok(self) -> bool:
        return self.chain_ok and self.record_matches is not False


def _row(r: Any) -> Exchange:
    return Exchange(
        id=r.id, record_type=r.record_type, key=dict(r.key), requester=r.requester,
        requester_area=r.requester_area, holder_area=r.holder_area, purpose=r.purpose,
        consent=dict(r.consent), state=r.state, answered_by=r.answered_by,
        answer_reason=r.answer_reason, record=r.record, record_sha256=r.record_sha256,
        created_at=r.created_at, answered_at=r.answered_at,
    )  # fmt: skip


def canonical(record: Mapping[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _staff(platform: Platform, actor: Actor, area_code: str) -> bool:
    return allowed(actor, Action.READ_PERSONAL, territory.area_chain(platform, area_code))


def request(
    platform: Platform,
    *,
    actor: Actor,
    record_type: str,
    holder_area: str,
    key: Mapping[str, str],
    purpose: str,
    consent_method: str,
    consent_reference: str,
) -> Exchange:
    """An agent asks another commune for one record."""
    if actor.area_code is None or actor.kind != "user":
        raise Forbidden("a request for another commune's record is made by an agent of a commune")
    if not _staff(platform, actor, actor.area_code):
        raise Forbidden(f"{actor.label} may not handle personal records")
    territory.get_area(platform, holder_area)
    if holder_area == actor.area_code:
        raise Invalid("the record is held by your own commune: look it up directly")
    rt = records.record_type(platform, record_type)
    clean_key = {k: str(key.get(k, "")).strip() for k in rt.key}
    missing = [k for k, v in clean_key.items() if not v]
    if missing:
        raise Invalid(f"name the record by {', '.join(rt.key)} (missing: {', '.join(missing)})")
    extra = set(key) - set(rt.key)
    if extra:
        raise Invalid(f"{', '.join(sorted(extra))} do not identify a {rt.id} record")
    purpose = purpose.strip()
    if len(purpose) < MIN_PURPOSE:
        raise Invalid(f"say why the record is needed (at least {MIN_PURPOSE} characters)")
    if consent_method not in CONSENT_METHODS:
        raise Invalid(f"consent is one of {', '.join(CONSENT_METHODS)}")
    if not consent_reference.strip():
        raise Invalid("give the consent's reference (form number, or the law for legal_basis)")
    now = utcnow()
    exchange_id = uuid.uuid4().hex
    consent = {
        "method": consent_method,
        "reference": consent_reference.strip()[:300],
        "recorded_at": now.isoformat(),
    }
    with platform.db.begin() as conn:
        conn.execute(
            record_exchanges.insert().values(
                id=exchange_id,
                record_type=rt.id,
                key=clean_key,
                requester=actor.label,
                requester_area=actor.area_code,
                holder_area=holder_area,
                purpose=purpose[:2000],
                consent=consent,
                state="requested",
                created_at=now,
            )
        )
        audit.record(
            conn, actor=actor, action="records.exchange.request",
            resource=f"record_exchange:{exchange_id}", area_code=holder_area,
            after={"type": rt.id, "from": actor.area_code, "to": holder_area,
                   "key_sha256": hashlib.sha256(canonical(clean_key)).hexdigest(),
                   "purpose": purpose[:2000], "consent": consent},
        )  # fmt: skip
    return get(platform, actor=actor, exchange_id=exchange_id)


def get(platform: Platform, *, actor: Actor, exchange_id: str) -> Exchange:
    """An exchange, for the staff of the asking or the holding commune (or the operator)."""
    with platform.db.connect() as conn:
        r = conn.execute(
            sa.select(record_exchanges).where(record_exchanges.c.id == exchange_id)
        ).first()
    if r is None or not (
        _staff(platform, actor, r.requester_area) or _staff(platform, actor, r.holder_area)
    ):
        raise NotFound(f"no exchange {exchange_id!r}")
    return _row(r)


def answer(
    platform: Platform, *, actor: Actor, exchange_id: str, send: bool, reason: str = ""
) -> Exchange:
    """The holder's agent sends the record, or refuses with a reason."""
    current = get(platform, actor=actor, exchange_id=exchange_id)
    if not _staff(platform, actor, current.holder_area):
        raise Forbidden("only the holding commune's agents answer")
    if not send and len(reason.strip()) < 3:
        raise Invalid("say why the request is refused")
    rt = records.record_type(platform, current.record_type)
    now = utcnow()
    with platform.db.begin() as conn:
        locked = conn.execute(
            sa.select(record_exchanges.c.state)
            .where(record_exchanges.c.id == exchange_id)
            .with_for_update()
        ).scalar_one()
        if locked != "requested":
            raise Conflict(f"the exchange is already {locked}")
        snapshot: dict[str, Any] | None = None
        digest: str | None = None
        if send:
            key = KEY_SEPARATOR.join(current.key[k] for k in rt.key)
            found = conn.execute(
                sa.select(admin_records).where(
                    admin_records.c.record_type == rt.id,
                    admin_records.c.area_code == current.holder_area,
                    admin_records.c.key_hash
                    == record_store.key_hash(rt.id, current.holder_area, key),
                )
            ).first()
            if found is None:
                raise NotFound(
                    "no record of this commune matches the request: refuse it, saying so"
                )
            snapshot = {
                "record_id": found.record_id,
                "type": rt.id,
                "area_code": found.area_code,
                "requested_at": found.requested_at.isoformat(),
                "channel": found.channel,
                "status": found.status,
                "delivered_at": found.delivered_at.isoformat() if found.delivered_at else None,
                **dict(found.data),
                **dict(found.personal or {}),
            }
            digest = hashlib.sha256(canonical(snapshot)).hexdigest()
        conn.execute(
            record_exchanges.update()
            .where(record_exchanges.c.id == exchange_id)
            .values(
                state="answered" if send else "refused",
                answered_by=actor.label,
                answer_reason=reason.strip()[:2000] or None,
                record=snapshot,
                record_sha256=digest,
                answered_at=now,
            )
        )
        audit.record(
            conn, actor=actor, action="records.exchange." + ("answer" if send else "refuse"),
            resource=f"record_exchange:{exchange_id}", area_code=current.requester_area,
            after={"state": "answered" if send else "refused", "record_sha256": digest,
                   "reason": reason.strip()[:2000] or None},
        )  # fmt: skip
    return get(platform, actor=actor, exchange_id=exchange_id)


def list_for(platform: Platform, *, actor: Actor, limit: int = 100) -> dict[str, list[Exchange]]:
    """The actor's commune's requests: `incoming` (it holds the record) and `outgoing`."""
    with platform.db.connect() as conn:
        rows = conn.execute(
            sa.select(record_exchanges)
            .order_by(record_exchanges.c.created_at.desc())
            .limit(limit * 4)
        ).all()
    incoming = [_row(r) for r in rows if _staff(platform, actor, r.holder_area)][:limit]
    outgoing = [_row(r) for r in rows if _staff(platform, actor, r.requester_area)][:limit]
    return {"incoming": incoming, "outgoing": outgoing}


def proof(platform: Platform, *, actor: Actor, exchange_id: str) -> Proof:
    """The exchange's steps from the audit log, the chain checked, the sent record re-hashed."""
    exchange = get(platform, actor=actor, exchange_id=exchange_id)
    with platform.db.connect() as conn:
        report = audit.verify(conn)
        rows = conn.execute(
            sa.select(schema.audit_log)
            .where(schema.audit_log.c.resource == f"record_exchange:{exchange_id}")
            .order_by(schema.audit_log.c.seq)
        ).all()
    steps = [
        {
            "seq": r.seq,
            "at": r.at.isoformat(),
            "actor": r.actor,
            "action": r.action,
            "details": r.after,
            "hash": r.hash,
            "prev_hash": r.prev_hash,
        }
        for r in rows
    ]
    matches: bool | None = None
    if exchange.record is not None:
        sent = next((s for s in steps if s["action"] == "records.exchange.answer"), None)
        digest = hashlib.sha256(canonical(exchange.record)).hexdigest()
        matches = sent is not None and (sent["details"] or {}).get("record_sha256") == digest
    return Proof(exchange=exchange, steps=steps, chain_ok=report.ok, record_matches=matches)
