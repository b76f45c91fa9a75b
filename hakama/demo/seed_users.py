"""Demo accounts: a province admin, a province analyst and one agent per commune.

Every demo account's password is `hakama-demo-2026` (documented, printed in the summary):
the demo runs on the operator's own machine and is meant to be explored. Never seed a public
instance with them.
"""

from __future__ import annotations

from hakama.core.access import Role, system_actor
from hakama.core.territory import Level, slug
from hakama.services import users
from hakama.services.platform import Platform
from hakama.services.territory import list_areas

DEMO_PASSWORD = "hakama-demo-2026"


def demo_accounts(platform: Platform) -> list[tuple[str, Role, str, str]]:
    """(username, role, area code, display name) for every demo account."""
    provinces = list_areas(platform, level=Level.PROVINCE)
    if not provinces:
        return []
    province = provinces[0]
    accounts = [
        ("admin", Role.ADMIN, province.code, f"Admin · {province.name('fr')}"),
        ("analyst", Role.ANALYST, province.code, f"Analyst · {province.name('fr')}"),
    ]
    for commune in list_areas(platform, level=Level.COMMUNE, parent=province.code):
        name = commune.name("fr")
        accounts.append((f"agent-{slug(name)}"[:64], Role.AGENT, commune.code, f"Agent · {name}"))
    return accounts


def seed(platform: Platform, *, seed: int, scale: float) -> str:
    """Create the demo accounts that do not exist yet; a one-line summary.

    `seed` and `scale` are accepted for the demo builder's uniform interface; accounts do not
    depend on them.
    """
    actor = system_actor("demo")
    existing = {u.username for u in users.list_users(platform, actor=actor)}
    added = 0
    for username, role, area, display in demo_accounts(platform):
        if username in existing:
            continue
        users.add_user(
            platform,
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            area_code=area,
            display_name=display,
            actor=actor,
        )
        existing.add(username)
        added += 1
    total = len(demo_accounts(platform))
    return (
        f"{added} demo accounts added ({total} in all: admin, analyst, agent-<commune>), "
        f"password {DEMO_PASSWORD!r} for each"
    )
