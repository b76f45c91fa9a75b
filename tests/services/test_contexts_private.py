"""A client's @context URL must not make a production hakama call internal hosts."""

from __future__ import annotations

import pytest

from hakama.services.contexts import ContextUnavailable, _fetch
from hakama.settings import Settings


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/c.jsonld", "http://10.0.0.1/c.jsonld", "http://[::1]:9/c"])
def test_private_addresses_are_refused_before_any_connection(url: str) -> None:
    with pytest.raises(ContextUnavailable, match="not a public address"):
        _fetch(url, allow_private=False)


def test_only_production_refuses_by_default() -> None:
    assert Settings(environment="production", secret_key="x" * 40).may_fetch_private is False
    assert Settings(environment="development").may_fetch_private is True
    assert Settings(environment="production", secret_key="x" * 40, context_fetch_private=True).may_fetch_private
