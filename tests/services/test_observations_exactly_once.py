"""Whatever mix of staging, retries, crashes, flushes and compactions happens, the reader sees
every staged observation exactly once (hypothesis state machine, SQLite). A retry after the
dedupe retention has passed counts again, by design: the model says so."""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from hakama.core.observations import Observation
from hakama.services import observations
from hakama.services.platform import Platform
from hakama.settings import Settings

T0 = datetime(2026, 3, 1, 22, tzinfo=UTC)


def reading(i: int) -> Observation:
    # two hours apart at most 48 readings: they fall on several days
    return Observation(T0 + timedelta(minutes=37 * i), f"urn:x:{i % 3}", "T", "a", float(i), None,
                       None, None, "http")


class Lake(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp())
        self.platform = Platform.open(Settings(data_dir=self.folder / "data", environment="test"))
        self.expected: Counter[float] = Counter()
        self.known: set[int] = set()  # keys staging still remembers

    def teardown(self) -> None:
        self.platform.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    @rule(ids=st.lists(st.integers(0, 47), min_size=1, max_size=6))
    def stage(self, ids: list[int]) -> None:
        with self.platform.db.begin() as conn:
            observations.stage(conn, [reading(i) for i in ids])
        for i in set(ids) - self.known:
            self.expected[float(i)] += 1
        self.known |= set(ids)

    @rule(max_rows=st.integers(1, 5))
    def flush(self, max_rows: int) -> None:
        observations.flush(self.platform, max_rows=max_rows, stale=timedelta(0),
                           retention=timedelta(hours=1))

    @rule()
    def crash_after_claim(self) -> None:
        observations._claim(self.platform, 3)

    @rule()
    def crash_after_write(self) -> None:
        batch = observations._claim(self.platform, 3)
        if batch is not None:
            observations._write_batch(self.platform, batch)

    @rule()
    def compact(self) -> None:
        assert observations.compact(self.platform, wait=1).skipped is None

    @rule()
    def purge_everything_flushed(self) -> None:
        observations.flush(self.platform, retention=timedelta(0), stale=timedelta(0))
        self.known.clear()

    @invariant()
    def every_observation_once(self) -> None:
        with observations.recent_and_lake(self.platform) as db:
            rows = [r[0] for r in db.execute(f"SELECT value FROM {observations.VIEW}").fetchall()]
        assert Counter(rows) == self.expected


Lake.TestCase.settings = settings(max_examples=12, stateful_step_count=8, deadline=None)
TestLake = Lake.TestCase
