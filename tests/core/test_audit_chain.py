"""The audit hash chain, pure: any single edit, deletion inside the chain, or swap is detected."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hakama.core.audit import GENESIS, AuditEntry, entry_hash, verify_chain

T0 = datetime(2026, 1, 1, tzinfo=UTC)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
payloads = st.one_of(st.none(), st.dictionaries(st.text(max_size=6), json_values, max_size=3))
events = st.fixed_dictionaries(
    {
        "actor": st.text(min_size=1, max_size=12),
        "action": st.sampled_from(["user.add", "key.create", "request.create", "entity.update"]),
        "resource": st.text(min_size=1, max_size=12),
        "area_code": st.one_of(st.none(), st.sampled_from(["P", "P.A", "P.B"])),
        "before": payloads,
        "after": payloads,
    }
)


def build_chain(items: list[dict[str, Any]]) -> list[AuditEntry]:
    chain: list[AuditEntry] = []
    prev = GENESIS
    for i, item in enumerate(items, start=1):
        at = T0 + timedelta(seconds=i, microseconds=i)
        digest = entry_hash(seq=i, at=at, prev_hash=prev, **item)
        chain.append(AuditEntry(seq=i, at=at, prev_hash=prev, hash=digest, **item))
        prev = digest
    return chain


def test_empty_and_simple_chains_verify() -> None:
    assert verify_chain([]).ok
    chain = build_chain([{"actor": "user:a", "action": "x", "resource": "r", "area_code": None,
                          "before": None, "after": {"k": 1}}])
    report = verify_chain(chain)
    assert report.ok and report.checked == 1


@given(st.lists(events, min_size=1, max_size=8))
def test_untouched_chain_verifies(items: list[dict[str, Any]]) -> None:
    report = verify_chain(build_chain(items))
    assert report.ok
    assert report.checked == len(items)


EDITS = {
    "actor": lambda e: e.actor + "x",
    "action": lambda e: e.action + ".x",
    "resource": lambda e: e.resource + "x",
    "area_code": lambda e: "Z" if e.area_code != "Z" else None,
    "before": lambda e: {"tampered": True} if e.before != {"tampered": True} else None,
    "after": lambda e: {"tampered": True} if e.after != {"tampered": True} else None,
    "at": lambda e: e.at + timedelta(microseconds=1),
}


@given(st.lists(events, min_size=1, max_size=8), st.data())
def test_any_single_edit_is_detected_at_its_entry(items: list[dict[str, Any]], data: st.DataObject) -> None:
    chain = build_chain(items)
    index = data.draw(st.integers(0, len(chain) - 1))
    field = data.draw(st.sampled_from(sorted(EDITS)))
    victim = chain[index]
    chain[index] = dataclasses.replace(victim, **{field: EDITS[field](victim)})
    report = verify_chain(chain)
    assert not report.ok
    assert report.broken_seq == victim.seq
    assert "altered" in report.reason


@given(st.lists(events, min_size=2, max_size=8), st.data())
def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(
    items: list[dict[str, Any]], data: st.DataObject
) -> None:
    # A forger who rewrites one entry *and* its hash is caught by the next entry's link.
    chain = build_chain(items)
    index = data.draw(st.integers(0, len(chain) - 2))
    victim = chain[index]
    forged = dataclasses.replace(victim, actor=victim.actor + "x")
    fields = {f.name: getattr(forged, f.name) for f in dataclasses.fields(forged)}
    fields.pop("hash")
    chain[index] = dataclasses.replace(forged, hash=entry_hash(**fields))
    report = verify_chain(chain)
    assert not report.ok
    assert report.broken_seq == victim.seq + 1
    assert "link" in report.reason


@given(st.lists(events, min_size=2, max_size=8), st.data())
def test_any_deletion_inside_the_chain_is_detected(items: list[dict[str, Any]], data: st.DataObject) -> None:
    chain = build_chain(items)
    index = data.draw(st.integers(0, len(chain) - 2))  # not the last: that needs an anchor
    del chain[index]
    report = verify_chain(chain)
    assert not report.ok
    assert report.broken_seq == index + 1
    assert "missing" in report.reason


@given(st.lists(events, min_size=2, max_size=8), st.data())
def test_any_swap_is_detected(items: list[dict[str, Any]], data: st.DataObject) -> None:
    chain = build_chain(items)
    i = data.draw(st.integers(0, len(chain) - 2))
    j = data.draw(st.integers(i + 1, len(chain) - 1))
    chain[i], chain[j] = chain[j], chain[i]
    report = verify_chain(chain)
    assert not report.ok
    assert report.broken_seq == i + 1


@given(st.lists(events, min_size=1, max_size=8))
def test_deleting_the_last_entry_leaves_a_valid_shorter_chain(items: list[dict[str, Any]]) -> None:
    # Why anchors exist: the chain alone cannot tell that its end was cut off.
    chain = build_chain(items)[:-1]
    assert verify_chain(chain).ok
