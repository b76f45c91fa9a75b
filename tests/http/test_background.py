"""The serving process's life (`http.background.lifespan`): what it does once at startup."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

STARTS_TWICE = """
import gc, sys
from pathlib import Path
from fastapi.testclient import TestClient
from hakama.http.app import create_app
from hakama.settings import Settings

def in_sight(thing):  # the collector walks it (gc.get_objects leaves frozen objects out)
    return any(o is thing for o in gc.get_objects())

before = gc.get_freeze_count()
settings = Settings(data_dir=Path(sys.argv[1]), environment="test")
first = create_app(settings, background=False)
with TestClient(first) as client:
    frozen = gc.get_freeze_count()
    health = client.get("/health").status_code
second = create_app(settings, background=False)
with TestClient(second) as client:
    pass
print(before, frozen, health, int(in_sight(first)), int(in_sight(second)))
"""


def test_startup_objects_are_frozen_once_per_process(tmp_path: Path) -> None:
    """What a process loaded before serving is out of the collector's sight (a full collection
    walked ~235,000 objects, ~95 ms), and only once: a second app in the same process (tests,
    a reload) adds nothing."""
    done = subprocess.run(
        [sys.executable, "-c", STARTS_TWICE, str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    before, frozen, health, first_in_sight, second_in_sight = map(int, done.stdout.split())
    assert before == 0
    assert frozen > 50_000  # the imports, the app and the platform
    assert health in (200, 503)  # the app serves after the freeze
    assert not first_in_sight
    assert second_in_sight  # frozen once per process: the second app stays collectable
