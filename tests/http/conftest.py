"""Fixtures shared by the indicator modules of the HTTP tests (API and dashboards): one small
demo with its indicators computed, and a client of the app serving it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hakama.demo.build import build_demo
from hakama.http.app import create_app
from hakama.services import indicators
from hakama.services.platform import Platform
from hakama.settings import Settings

COMPUTED = ["requests_per_10k", "open_backlog", "resolution_time_median", "admin_online_share"]


def demo_platform(base: Path) -> Platform:
    """A small demo (shared by the indicator test modules: the lake is built once per session)."""
    p = Platform.open(Settings(data_dir=base / "indicators-demo", environment="test"))
    build_demo(p, scale=0.01, run_seeds=False)
    indicators.compute(p, only=COMPUTED)
    return p


@pytest.fixture(scope="module")
def indicators_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The small demo with its indicators computed, for one test module."""
    p = demo_platform(tmp_path_factory.getbasetemp())
    yield p
    p.close()


@pytest.fixture(scope="module")
def indicators_client(indicators_platform: Platform) -> Iterator[TestClient]:
    """A client of the app serving `indicators_platform`."""
    app = create_app(indicators_platform.settings, platform=indicators_platform, background=False)
    with TestClient(app) as c:
        yield c
