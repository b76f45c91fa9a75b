"""Schemathesis over the temporal and subscription operations of our own OpenAPI: whatever a
client sends, the answer is never a 500."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hakama.core.access import system_actor
from hakama.http.app import create_app
from hakama.http.deps import get_actor
from hakama.settings import Settings


def operations(tmp: Path) -> list[Any]:
    app = create_app(Settings(data_dir=tmp / "data", environment="test"), background=False)
    app.dependency_overrides[get_actor] = lambda: system_actor("fuzz")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    found = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.startswith(("/ngsi-ld/v1/temporal", "/ngsi-ld/v1/subscriptions")):
            found.append(operation)
    return found


def test_never_a_server_error(tmp_path: Path) -> None:
    ops = operations(tmp_path)
    assert len(ops) == 14  # 9 temporal, 5 subscription operations
    for operation in ops:
        fuzz(operation)


def fuzz(operation: Any) -> None:
    """Draw cases of one operation and call the app with each."""

    @given(data=st.data())
    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
    def run(data: st.DataObject) -> None:
        case = data.draw(operation.as_strategy())
        response = case.call()
        assert response.status_code < 500, (case.method, case.path, response.text[:300])

    run()


pytestmark = pytest.mark.slow
