"""The access rule as a table (role × action × own/other area) and as properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hakama.core.access import (
    ANONYMOUS,
    OWN_AREA_ACTIONS,
    PUBLIC_ACTIONS,
    Action,
    Actor,
    Role,
    allowed,
    system_actor,
)

PROVINCE = "P"
COMMUNE_A = "P.A"
COMMUNE_B = "P.B"
CHAIN_A = (COMMUNE_A, PROVINCE, "R")
CHAIN_B = (COMMUNE_B, PROVINCE, "R")
CHAIN_PROVINCE = (PROVINCE, "R")
OTHER_PROVINCE = ("Q.C", "Q", "R")

A, B = Action, Role
Y, N = True, False

# What each role may do in its own area, written out by hand (not derived from the code):
# columns are the actions in the order below.
ORDER = (
    A.READ_PUBLIC, A.SUBMIT_REQUEST, A.READ_INTERNAL, A.READ_PERSONAL, A.WORK_REQUESTS,
    A.WRITE_DATA, A.RUN_ANALYTICS, A.MANAGE_CATALOG, A.MANAGE_USERS, A.READ_AUDIT,
)
OWN = {
    B.CITIZEN: (Y, Y, N, N, N, N, N, N, N, N),
    B.AGENT: (Y, Y, Y, Y, Y, Y, N, N, N, N),
    B.ANALYST: (Y, Y, Y, N, N, N, Y, N, N, N),
    B.ADMIN: (Y, Y, Y, Y, Y, Y, Y, Y, Y, Y),
}
# Outside their area, every role is the public.
OTHER = (Y, Y, N, N, N, N, N, N, N, N)

TABLE = [
    (role, action, where, expected)
    for role in Role
    for i, action in enumerate(ORDER)
    for where, expected in (("own", OWN[role][i]), ("other", OTHER[i]))
]


def test_table_covers_every_role_and_action() -> None:
    assert set(ORDER) == set(Action)
    assert len(TABLE) == len(Role) * len(Action) * 2


@pytest.mark.parametrize(("role", "action", "where", "expected"), TABLE)
def test_commune_actor(role: Role, action: Action, where: str, expected: bool) -> None:
    actor = Actor(kind="user", id="x", role=role, area_code=COMMUNE_A)
    chain = CHAIN_A if where == "own" else CHAIN_B
    assert allowed(actor, action, chain) is expected


@pytest.mark.parametrize(("role", "action", "where", "expected"), TABLE)
def test_province_actor(role: Role, action: Action, where: str, expected: bool) -> None:
    # A province's actor owns every commune of the province, and nothing of another province.
    actor = Actor(kind="user", id="x", role=role, area_code=PROVINCE)
    chains = (CHAIN_A, CHAIN_B, CHAIN_PROVINCE) if where == "own" else (OTHER_PROVINCE,)
    for chain in chains:
        assert allowed(actor, action, chain) is expected


def test_commune_actor_does_not_own_its_province() -> None:
    agent = Actor(kind="user", id="x", role=Role.ADMIN, area_code=COMMUNE_A)
    assert not allowed(agent, Action.MANAGE_USERS, CHAIN_PROVINCE)
    assert not allowed(agent, Action.MANAGE_USERS, ())


def test_operator_owns_everything_and_the_whole_territory() -> None:
    operator = system_actor("cli")
    for chain in (CHAIN_A, OTHER_PROVINCE, ()):
        assert all(allowed(operator, action, chain) for action in Action)


def test_anonymous_is_the_public() -> None:
    for action in Action:
        assert allowed(ANONYMOUS, action, CHAIN_A) is (action in PUBLIC_ACTIONS)


def test_key_scopes_narrow() -> None:
    key = Actor(kind="key", id="k", role=Role.AGENT, area_code=COMMUNE_A,
                scopes=frozenset({Action.WRITE_DATA}))
    assert allowed(key, Action.WRITE_DATA, CHAIN_A)
    assert not allowed(key, Action.WORK_REQUESTS, CHAIN_A)
    assert not allowed(key, Action.WRITE_DATA, CHAIN_B)
    assert not allowed(key, Action.READ_PUBLIC, CHAIN_A)  # scopes narrow even public actions


# Properties ------------------------------------------------------------------------------------

areas = st.sampled_from(["R", "P", "Q", "P.A", "P.B", "Q.C"])
chains = st.sampled_from([CHAIN_A, CHAIN_B, CHAIN_PROVINCE, OTHER_PROVINCE, ("R",), ()])
actors = st.builds(
    Actor,
    kind=st.sampled_from(["user", "key"]),
    id=st.text(min_size=1, max_size=5),
    role=st.sampled_from(list(Role)),
    area_code=st.one_of(st.none(), areas),
    scopes=st.one_of(st.none(), st.frozensets(st.sampled_from(list(Action)))),
)


@given(actors, st.frozensets(st.sampled_from(list(Action))), st.sampled_from(list(Action)), chains)
def test_scopes_only_ever_narrow(actor: Actor, scopes: frozenset[Action], action: Action,
                                 chain: tuple[str, ...]) -> None:
    unscoped = Actor(actor.kind, actor.id, actor.role, actor.area_code, None)
    narrowed = Actor(actor.kind, actor.id, actor.role, actor.area_code, scopes)
    if allowed(narrowed, action, chain):
        assert allowed(unscoped, action, chain)
        assert action in scopes
    # Narrowing an already scoped actor further never adds anything either.
    if actor.scopes is not None:
        both = Actor(actor.kind, actor.id, actor.role, actor.area_code, actor.scopes & scopes)
        if allowed(both, action, chain):
            assert allowed(actor, action, chain)


@given(actors, st.sampled_from(sorted(PUBLIC_ACTIONS)), chains)
def test_public_actions_always_allowed_when_not_scoped_away(
    actor: Actor, action: Action, chain: tuple[str, ...]
) -> None:
    expected = actor.scopes is None or action in actor.scopes
    assert allowed(actor, action, chain) is expected


@given(actors, st.sampled_from(sorted(set(Action) - PUBLIC_ACTIONS)), chains)
def test_nobody_outside_their_area_gets_a_non_public_action(
    actor: Actor, action: Action, chain: tuple[str, ...]
) -> None:
    if actor.area_code is not None and actor.area_code not in chain:
        assert not allowed(actor, action, chain)


@given(actors, st.sampled_from(list(Action)), chains)
def test_allowed_never_exceeds_the_role(actor: Actor, action: Action, chain: tuple[str, ...]) -> None:
    if allowed(actor, action, chain):
        assert action in OWN_AREA_ACTIONS[actor.role]
