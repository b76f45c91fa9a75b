"""The OpenAPI document tells the truth: schemathesis over every operation, as the platform's
operator and as the public, finds no server error, no undocumented status code or content type
and no answer that violates its documented schema. Bounded: a few cases per operation."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from hakama.core.access import ANONYMOUS, Actor, system_actor
from hakama.http.app import create_app
from hakama.http.deps import get_actor
from hakama.settings import Settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 4  # per operation and actor: ~76 operations, about a minute in all


def operations(tmp: Path, actor: Actor) -> list[Any]:
    app = create_app(Settings(data_dir=tmp / "data", environment="test"), background=False)
    app.dependency_overrides[get_actor] = lambda: actor
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("actor", [system_actor("fuzz"), ANONYMOUS], ids=["operator", "public"])
def test_every_operation_answers_as_documented(tmp_path: Path, actor: Actor) -> None:
    ops = operations(tmp_path, actor)
    assert len(ops) >= 70, len(ops)
    failures: Counter[str] = Counter()
    for operation in ops:
        failures.update(fuzz(operation))
    assert not failures, "\n".join(f"{n}× {what}" for what, n in failures.most_common())


def fuzz(operation: Any) -> list[str]:
    """Draw cases of one operation, call the app with each, collect what fails."""
    found: list[str] = []

    @given(data=st.data())
    @settings(
        max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,  # the same cases every run: CI is not a lottery
    )
    def run(data: st.DataObject) -> None:
        case = data.draw(operation.as_strategy())
        try:
            case.call_and_validate(checks=CHECKS)
        except BaseException as exc:  # a FailureGroup of the checks that failed
            for failure in getattr(exc, "exceptions", [exc]):
                title = getattr(failure, "title", type(failure).__name__)
                message = str(failure).replace("\n", " ")[:200]
                found.append(f"{operation.method.upper()} {operation.path}: {title}: {message}")

    run()
    return found


pytestmark = pytest.mark.slow
