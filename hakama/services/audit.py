"""Appending to and verifying the audit log. Every write by a person or a system calls `record`."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa

from hakama.core.access import Actor
from hakama.core.audit import GENESIS, AuditEntry, ChainReport, entry_hash, verify_chain
from hakama.core.clock import utcnow
from hakama.services.platform import Platform
from hakama.storage import db, schema


def record(
    conn: sa.Connection,
    *,
    actor: Actor,
    action: str,
    resource: str,
    area_code: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one event in the caller's transaction, so it commits (or not) with the change.

    Appends are serialised: PostgreSQL takes a transaction-level advisory lock; SQLite already
    allows one writer at a time. A concurrent append that still races fails on the primary key
    of `seq` and rolls back the whole change, never leaving a fork in the chain.
    """
    db.serialise(conn, "audit_log")
    last = conn.execute(
        sa.select(schema.audit_log.c.seq, schema.audit_log.c.hash)
        .order_by(schema.audit_log.c.seq.desc())
        .limit(1)
    ).first()
    seq = (last.seq + 1) if last else 1
    prev_hash = last.hash if last else GENESIS
    at = utcnow()
    before_json = _jsonable(before)
    after_json = _jsonable(after)
    digest = entry_hash(
        seq=seq,
        at=at,
        actor=actor.label,
        action=action,
        resource=resource,
        area_code=area_code,
        before=before_json,
        after=after_json,
        prev_hash=prev_hash,
    )
    conn.execute(
        schema.audit_log.insert().values(
            seq=seq,
            at=at,
            actor=actor.label,
            action=action,
            resource=resource,
            area_code=area_code,
            before=before_json,
            after=after_json,
            prev_hash=prev_hash,
            hash=digest,
        )
    )
    return AuditEntry(
        seq,
        at,
        actor.label,
        action,
        resource,
        area_code,
        before_json,
        after_json,
        prev_hash,
        digest,
    )


def _jsonable(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A plain JSON copy, so what is hashed is exactly what the database gives back."""
    if value is None:
        return None
    loaded: dict[str, Any] = json.loads(json.dumps(dict(value), default=str, ensure_ascii=False))
    return loaded


def entries(
    conn: sa.Connection, *, after_seq: int = 0, limit: int | None = None
) -> Iterator[AuditEntry]:
    query = (
        sa.select(schema.audit_log)
        .where(schema.audit_log.c.seq > after_seq)
        .order_by(schema.audit_log.c.seq)
    )
    if limit is not None:
        query = query.limit(limit)
    for row in conn.execute(query):
        yield AuditEntry(
            seq=row.seq,
            at=row.at,
            actor=row.actor,
            action=row.action,
            resource=row.resource,
            area_code=row.area_code,
            before=row.before,
            after=row.after,
            prev_hash=row.prev_hash,
            hash=row.hash,
        )


def verify(conn: sa.Connection) -> ChainReport:
    """Walk the whole log and report the first entry that was edited, deleted or reordered."""
    return verify_chain(entries(conn))


def last_entries(platform: Platform, n: int) -> list[AuditEntry]:
    """The last `n` entries of the log, oldest first (`hakama audit tail`)."""
    with platform.db.connect() as conn:
        top = conn.execute(sa.select(sa.func.max(schema.audit_log.c.seq))).scalar() or 0
        return list(entries(conn, after_seq=max(0, top - n)))
