from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hakama.core.disparities import (
    dispersion,
    normalise_worst_is_one,
    rank,
    shortfall,
    weighted_score,
)
from hakama.core.indicators import Direction

positive = st.lists(st.floats(0.01, 1e6, allow_nan=False), min_size=1, max_size=30)


def test_known_dispersion() -> None:
    d = dispersion([1.0, 1.0, 1.0, 5.0])
    assert d.mean == 2.0
    assert d.cv == pytest.approx(math.sqrt(3) / 2)
    assert d.gini == pytest.approx(0.375)  # Σ|xi−xj| = 24, / (2·16·2)
    assert d.max_min_ratio == 5.0
    assert dispersion([]).n == 0 and dispersion([0.0, 2.0]).max_min_ratio is None


@given(positive)
def test_gini_bounds_and_equality(values: list[float]) -> None:
    g = dispersion(values).gini
    assert g is not None and -1e-12 <= g <= 1 - 1 / len(values) + 1e-9
    assert dispersion([values[0]] * len(values)).gini == pytest.approx(0.0, abs=1e-12)


@given(positive, st.floats(0.1, 100))
def test_dispersion_is_scale_free(values: list[float], k: float) -> None:
    a, b = dispersion(values), dispersion([v * k for v in values])
    assert a.cv == pytest.approx(b.cv, rel=1e-6, abs=1e-9)
    assert a.gini == pytest.approx(b.gini, rel=1e-6, abs=1e-9)


def test_rank_follows_direction_and_ties() -> None:
    values = {"a": 10.0, "b": 30.0, "c": 10.0, "d": 20.0}
    assert rank(values, Direction.LOWER_IS_BETTER) == {"a": 1, "c": 1, "d": 3, "b": 4}
    assert rank(values, Direction.HIGHER_IS_BETTER) == {"b": 1, "d": 2, "a": 3, "c": 3}


def test_shortfall_sign_means_behind() -> None:
    assert shortfall(80, 72, Direction.LOWER_IS_BETTER) == 8
    assert shortfall(40, 50, Direction.HIGHER_IS_BETTER) == 10
    assert shortfall(1, None, Direction.HIGHER_IS_BETTER) is None


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=3),
        st.floats(-1e6, 1e6, allow_nan=False),
        min_size=1,
        max_size=20,
    )
)
def test_normalised_inputs_put_the_worst_at_one(values: dict[str, float]) -> None:
    for direction in Direction:
        scaled = normalise_worst_is_one(values, direction)
        assert all(0.0 <= v <= 1.0 for v in scaled.values())
        if len(set(values.values())) > 1:
            worst = (
                max(values, key=values.get)
                if direction is Direction.LOWER_IS_BETTER
                else min(values, key=values.get)
            )  # type: ignore[arg-type]
            assert scaled[worst] == 1.0


def test_weighted_score_renormalises_over_present_inputs() -> None:
    assert weighted_score({"a": 1.0, "b": 0.0}, {"a": 1, "b": 1, "c": 2}) == 50.0
    assert weighted_score({"a": 1.0}, {"a": 3, "c": 2}) == 100.0
    assert weighted_score({}, {"a": 1}) is None
