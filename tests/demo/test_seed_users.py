"""Demo accounts: one admin and analyst for the province, one agent per commune; idempotent."""

from __future__ import annotations

from hakama.core.access import Role, system_actor
from hakama.core.territory import Area
from hakama.demo.seed_users import DEMO_PASSWORD, seed, slug
from hakama.services import territory, users
from hakama.services.platform import Platform


def test_slugs_are_login_safe() -> None:
    assert slug("Aïn Erreggada") == "ain-erreggada"
    assert slug("Sidi Slimane Echcharaa") == "sidi-slimane-echcharaa"
    assert slug("L'Oriental") == "l-oriental"


def test_seed_creates_accounts_once(sqlite_platform: Platform, areas: list[Area]) -> None:
    territory.save_areas(sqlite_platform, areas, actor=system_actor("demo"))
    summary = seed(sqlite_platform, seed=2026, scale=0.01)
    assert summary.startswith("18 demo accounts added") and DEMO_PASSWORD in summary
    accounts = {u.username: u for u in users.list_users(sqlite_platform, actor=system_actor("t"))}
    assert len(accounts) == 18
    assert accounts["admin"].role == Role.ADMIN and accounts["admin"].area_code == "02.113"
    assert accounts["analyst"].role == Role.ANALYST
    berkane = accounts["agent-berkane"]
    assert (berkane.role, berkane.area_code) == (Role.AGENT, "02.113.01.09")
    actor = users.authenticate(sqlite_platform, username="agent-ain-erreggada",
                               password=DEMO_PASSWORD)
    assert actor.area_code == "02.113.01.05"
    again = seed(sqlite_platform, seed=2026, scale=0.01)
    assert again.startswith("0 demo accounts added")


def test_seed_without_a_territory_adds_nothing(sqlite_platform: Platform) -> None:
    assert seed(sqlite_platform, seed=1, scale=1.0).startswith("0 demo accounts added (0 in all")
