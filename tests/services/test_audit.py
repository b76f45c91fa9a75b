"""The audit log on real SQLite and PostgreSQL: tamper with rows by SQL, verify finds it."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from hakama.core.access import system_actor
from hakama.core.audit import GENESIS
from hakama.core.errors import Conflict, Invalid
from hakama.services import audit, audit_anchors
from hakama.services.audit_anchors import Anchor
from hakama.services.platform import Platform
from hakama.storage import schema

ACTOR = system_actor("test")


def write_entries(platform: Platform, n: int) -> None:
    for i in range(n):
        with platform.db.begin() as conn:
            audit.record(conn, actor=ACTOR, action="thing.update", resource=f"thing:{i}",
                         area_code="P.A" if i % 2 else None,
                         before={"n": i, "name": "قديم"}, after={"n": i + 1, "nested": {"x": [1, 2]}})


def test_intact_log_verifies_with_its_head(platform: Platform) -> None:
    empty = audit_anchors.verify(platform)
    assert (empty.ok, empty.count, empty.head) == (True, 0, GENESIS)
    write_entries(platform, 5)
    report = audit_anchors.verify(platform)
    with platform.db.connect() as conn:
        last = conn.execute(sa.select(schema.audit_log.c.hash).where(schema.audit_log.c.seq == 5)).scalar_one()
        assert audit.verify(conn).ok
    assert (report.ok, report.count, report.head) == (True, 5, last)


@pytest.mark.parametrize(
    ("column", "value"),
    [("actor", "user:mallory"), ("action", "thing.delete"), ("resource", "thing:99"),
     ("area_code", "P.B"), ("after", {"n": 1000}), ("before", None)],
)
def test_an_edited_row_is_found_at_its_seq(platform: Platform, column: str, value: object) -> None:
    write_entries(platform, 5)
    with platform.db.begin() as conn:
        conn.execute(schema.audit_log.update().where(schema.audit_log.c.seq == 3).values({column: value}))
    report = audit_anchors.verify(platform)
    assert not report.ok
    assert report.broken_seq == 3
    assert "altered" in report.reason


def test_an_edited_timestamp_is_found(platform: Platform) -> None:
    write_entries(platform, 3)
    with platform.db.connect() as conn:
        at = conn.execute(sa.select(schema.audit_log.c.at).where(schema.audit_log.c.seq == 2)).scalar_one()
    with platform.db.begin() as conn:
        conn.execute(schema.audit_log.update().where(schema.audit_log.c.seq == 2).values(at=at.replace(year=2020)))
    assert audit_anchors.verify(platform).broken_seq == 2


def test_a_deleted_row_is_found(platform: Platform) -> None:
    write_entries(platform, 5)
    with platform.db.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq = 2"))
    report = audit_anchors.verify(platform)
    assert (report.ok, report.broken_seq) == (False, 2)
    assert "missing" in report.reason


def test_a_rewritten_tail_with_renumbering_breaks_the_link(platform: Platform) -> None:
    write_entries(platform, 4)
    with platform.db.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq = 2"))
        conn.execute(sa.text("UPDATE audit_log SET seq = seq - 1 WHERE seq > 2"))
    report = audit_anchors.verify(platform)
    assert (report.ok, report.broken_seq) == (False, 2)
    assert "link" in report.reason


def test_a_deleted_last_entry_needs_the_anchor(platform: Platform, tmp_path: Path) -> None:
    write_entries(platform, 4)
    anchor = audit_anchors.make_anchor(platform)
    path = tmp_path / "anchor.json"
    path.write_text(anchor.to_json())
    write_entries(platform, 1)  # appending after the anchor is fine
    assert audit_anchors.verify(platform, anchor=Anchor.read(path)).ok
    assert audit_anchors.verify(platform, expect_head=anchor.head).ok
    with platform.db.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq >= 4"))
    assert audit_anchors.verify(platform).ok  # the chain alone cannot tell
    cut = audit_anchors.verify(platform, anchor=Anchor.read(path))
    assert (cut.ok, cut.broken_seq) == (False, 4)
    assert "deleted" in cut.reason
    by_head = audit_anchors.verify(platform, expect_head=anchor.head)
    assert not by_head.ok and "expected head" in by_head.reason


def test_a_rebuilt_log_does_not_match_its_anchor(platform: Platform) -> None:
    write_entries(platform, 3)
    anchor = audit_anchors.make_anchor(platform)
    with platform.db.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log"))
    write_entries(platform, 3)  # a forger re-records a plausible history: new times, new hashes
    report = audit_anchors.verify(platform, anchor=anchor)
    assert (report.ok, report.broken_seq) == (False, 3)


def test_broken_logs_are_not_anchored_and_bad_anchor_files_refused(
    platform: Platform, tmp_path: Path
) -> None:
    write_entries(platform, 2)
    with platform.db.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET actor = 'x' WHERE seq = 1"))
    with pytest.raises(Conflict, match="entry 1"):
        audit_anchors.make_anchor(platform)
    bad = tmp_path / "bad.json"
    for text in ("not json", '{"count": 1}', '{"count": -1, "head": "' + "a" * 64 + '"}'):
        bad.write_text(text)
        with pytest.raises(Invalid):
            Anchor.read(bad)
    with pytest.raises(Invalid):
        Anchor.read(tmp_path / "missing.json")
