"""The audit log's hash chain, pure: how an entry's hash is made and how a chain is checked."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    resource: str
    area_code: str | None
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    prev_hash: str
    hash: str


def entry_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    resource: str,
    area_code: str | None,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    prev_hash: str,
) -> str:
    """SHA-256 over a canonical JSON of every field and the previous entry's hash."""
    body = json.dumps(
        {
            "seq": seq,
            "at": at.isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "resource": resource,
            "area": area_code,
            "before": before,
            "after": after,
            "prev": prev_hash,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    """What `verify_chain` found: how many entries were checked and the first broken one."""

    checked: int
    ok: bool
    broken_seq: int | None = None
    reason: str = ""


def verify_chain(entries: Iterable[AuditEntry]) -> ChainReport:
    """Check that sequence numbers follow each other and every hash matches its entry."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    for entry in entries:
        count += 1
        if entry.seq != expected_seq:
            return ChainReport(count, False, expected_seq, f"entry {expected_seq} is missing")
        if entry.prev_hash != prev:
            return ChainReport(count, False, entry.seq, "link to the previous entry is broken")
        recomputed = entry_hash(
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            resource=entry.resource,
            area_code=entry.area_code,
            before=entry.before,
            after=entry.after,
            prev_hash=entry.prev_hash,
        )
        if recomputed != entry.hash:
            return ChainReport(count, False, entry.seq, "entry was altered after it was written")
        prev = entry.hash
        expected_seq += 1
    return ChainReport(count, True)
