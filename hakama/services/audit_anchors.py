"""Anchors for the audit log: a (count, head hash) pair kept outside the database.

The hash chain alone shows an edited, reordered or deleted entry *inside* the log, but not the
loss of its last entries: a shorter chain is still a valid chain. An anchor, written somewhere
the database's users cannot change (another machine, a printed report, a signed e-mail), closes
that gap: later, the entry at `count` must still exist and still have hash `head`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from hakama.core.audit import GENESIS, AuditEntry, verify_chain
from hakama.core.clock import utcnow
from hakama.core.errors import Conflict, Invalid
from hakama.services import audit
from hakama.services.platform import Platform


@dataclass(frozen=True)
class Anchor:
    """The log's length and last hash at one moment."""

    count: int
    head: str
    at: datetime | None = None

    def to_json(self) -> str:
        at = self.at.isoformat() if self.at else None
        return json.dumps({"count": self.count, "head": self.head, "at": at}, indent=2) + "\n"

    @classmethod
    def read(cls, path: Path) -> Anchor:
        """An anchor from a file written by `hakama audit anchor`; Invalid if unreadable."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            count = int(data["count"])
            head = str(data["head"])
            at = datetime.fromisoformat(data["at"]) if data.get("at") else None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise Invalid(f"cannot read anchor file {path}: {exc}") from None
        if count < 0 or len(head) != 64:
            raise Invalid(f"anchor file {path} holds no valid count and head hash")
        return cls(count=count, head=head, at=at)


@dataclass(frozen=True)
class VerifyReport:
    """What a verification found: entries checked, the head, and the first problem if any."""

    count: int
    head: str
    ok: bool
    broken_seq: int | None = None
    reason: str = ""


def verify(
    platform: Platform, *, anchor: Anchor | None = None, expect_head: str | None = None
) -> VerifyReport:
    """Check the chain, then that the anchor's entry (or the expected head) is still in it.

    `anchor`: entry number `count` must still carry hash `head` (entries may have been added
    since). `expect_head`: some entry must carry this hash.
    """
    seen: dict[int, str] = {}
    wanted = {anchor.count} if anchor else set()
    last: list[AuditEntry] = []
    found_head = expect_head is None

    def walk(items: Iterator[AuditEntry]) -> Iterator[AuditEntry]:
        nonlocal found_head
        for entry in items:
            if entry.seq in wanted:
                seen[entry.seq] = entry.hash
            if expect_head is not None and entry.hash == expect_head:
                found_head = True
            last[:] = [entry]
            yield entry

    with platform.db.connect() as conn:
        chain = verify_chain(walk(audit.entries(conn)))
    head = last[0].hash if last else GENESIS
    if not chain.ok:
        return VerifyReport(chain.checked, head, False, chain.broken_seq, chain.reason)
    if anchor is not None and anchor.count > 0:
        if anchor.count > chain.checked:
            return VerifyReport(
                chain.checked,
                head,
                False,
                chain.checked + 1,
                f"the anchor counts {anchor.count} entries but only {chain.checked} remain: "
                "the last entries were deleted",
            )
        if seen.get(anchor.count) != anchor.head:
            return VerifyReport(
                chain.checked,
                head,
                False,
                anchor.count,
                "entry does not match the anchor: the log was rewritten from here or before",
            )
    if not found_head:
        return VerifyReport(
            chain.checked,
            head,
            False,
            chain.checked + 1,
            "the expected head hash is not in the log: entries were deleted or rewritten",
        )
    return VerifyReport(chain.checked, head, True)


def make_anchor(platform: Platform) -> Anchor:
    """The anchor of the log as it is now; refused if the chain is already broken."""
    report = verify(platform)
    if not report.ok:
        raise Conflict(
            f"the audit log is broken at entry {report.broken_seq} ({report.reason}); "
            "not anchoring it"
        )
    return Anchor(count=report.count, head=report.head, at=utcnow())
