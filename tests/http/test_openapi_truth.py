"""The OpenAPI document tells the truth: schemathesis over every operation, as the platform's
operator and as the public, finds no server error, no undocumented status code or content type,
no answer that violates its documented schema and no request the document calls valid that the
server refuses (except for a rule the document states in words, `UNSTATED_RULES`); a method a
path does not serve answers 405 with every method it does serve in `Allow`. Bounded: a few cases
per operation."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    CheckContext,
    content_type_conformance,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from hakama.core.access import ANONYMOUS, Actor, system_actor
from hakama.http.app import create_app
from hakama.http.deps import get_actor
from hakama.http.openapi import UNSTATED_RULES
from hakama.settings import Settings


@schemathesis.check
def valid_requests_accepted(ctx: CheckContext, response: Any, case: Any) -> bool | None:
    """schemathesis's positive_data_acceptance, but a refusal that quotes one of the
    operation's rules stated in words (which OpenAPI cannot express) is the server being right."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except Exception:
        rules = UNSTATED_RULES.get(case.operation.definition.raw.get("operationId", ""), ())
        if any(rule in response.text for rule in rules):
            return None
        raise


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    valid_requests_accepted,
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


def test_undeclared_methods_answer_405_with_every_served_method(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data", environment="test"), background=False)
    app.dependency_overrides[get_actor] = lambda: system_actor("fuzz")
    documented = app.openapi()["paths"]
    checked = 0
    with TestClient(app) as client:
        for path, item in documented.items():
            methods = {m.upper() for m in item if m in {"get", "post", "put", "patch", "delete"}}
            concrete = path.replace("{fmt}", "json").replace("{ext}", "ttl")
            for name in ("{entity_id}", "{sub_id}", "{context_id}", "{instance_id}"):
                concrete = concrete.replace(name, "urn:ngsi-ld:T:1")
            while "{" in concrete:
                start, end = concrete.index("{"), concrete.index("}")
                concrete = concrete[:start] + "x1" + concrete[end + 1 :]
            answer = client.request("OPTIONS", concrete)
            if answer.status_code != 405:  # a static mount or a page that serves OPTIONS itself
                continue
            allowed = {m.strip() for m in answer.headers["allow"].split(",")}
            assert methods <= allowed, (path, allowed, methods)  # more when ids hold slashes
            checked += 1
    assert checked >= 60, checked


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
        response = case.call()
        try:
            case.validate_response(response, checks=CHECKS)
        except BaseException as exc:  # a FailureGroup of the checks that failed
            said = f"{response.status_code} {response.text[:160]}"
            for failure in getattr(exc, "exceptions", [exc]):
                title = getattr(failure, "title", type(failure).__name__)
                found.append(f"{operation.method.upper()} {operation.path}: {title}: {said}")

    run()
    return found


pytestmark = pytest.mark.slow
