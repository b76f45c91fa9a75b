"""Disparities between communes, pure: ranks, dispersion and the composite of lagging communes.

Each commune counts as one unit in the dispersion measures (not weighted by population): the
question they answer is how unequal the communes are, whatever their size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hakama.core.indicators import Direction


@dataclass(frozen=True)
class Dispersion:
    """How spread the communes' values are: n, mean, coefficient of variation, Gini, max/min."""

    n: int
    mean: float | None
    cv: float | None
    gini: float | None
    max_min_ratio: float | None


def dispersion(values: Sequence[float]) -> Dispersion:
    """CV = population standard deviation / mean; Gini on non-negative values; max/min when min > 0."""
    n = len(values)
    if n == 0:
        return Dispersion(0, None, None, None, None)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / n)
    cv = std / abs(mean) if mean else None
    gini = None
    if all(v >= 0 for v in values) and mean > 0:
        ordered = sorted(values)
        # Gini = Σ (2i − n − 1)·x_i / (n · Σ x), i from 1, values ascending.
        gini = sum((2 * i - n - 1) * x for i, x in enumerate(ordered, start=1)) / (n * sum(ordered))
    lo, hi = min(values), max(values)
    ratio = hi / lo if lo > 0 else None
    return Dispersion(n, mean, cv, gini, ratio)


def rank(values: Mapping[str, float], direction: Direction) -> dict[str, int]:
    """Rank 1 = best performing; ties share the better rank (competition ranking: 1, 2, 2, 4)."""
    best_first = sorted(
        values.items(),
        key=lambda kv: (kv[1] if direction is Direction.LOWER_IS_BETTER else -kv[1], kv[0]),
    )
    ranks: dict[str, int] = {}
    previous: float | None = None
    previous_rank = 0
    for position, (code, value) in enumerate(best_first, start=1):
        if previous is None or value != previous:
            previous_rank = position
        ranks[code] = previous_rank
        previous = value
    return ranks


def shortfall(value: float, reference: float | None, direction: Direction) -> float | None:
    """How far `value` is behind `reference` (positive = worse than it, negative = better)."""
    if reference is None:
        return None
    return value - reference if direction is Direction.LOWER_IS_BETTER else reference - value


def normalise_worst_is_one(values: Mapping[str, float], direction: Direction) -> dict[str, float]:
    """Min-max scale across communes so that 1 is the worst commune and 0 the best.

    When every commune has the same value, nobody lags on this input: all get 0.
    """
    if not values:
        return {}
    lo, hi = min(values.values()), max(values.values())
    if hi == lo:
        return dict.fromkeys(values, 0.0)
    scaled = {k: (v - lo) / (hi - lo) for k, v in values.items()}
    if direction is Direction.HIGHER_IS_BETTER:
        scaled = {k: 1.0 - v for k, v in scaled.items()}
    return scaled


def weighted_score(normalised: Mapping[str, float], weights: Mapping[str, float]) -> float | None:
    """Weighted mean (0–100) of the inputs a commune has; weights renormalised over those."""
    present = [(k, v) for k, v in normalised.items() if k in weights and weights[k] > 0]
    total = sum(weights[k] for k, _ in present)
    if not present or total == 0:
        return None
    return 100.0 * sum(weights[k] * v for k, v in present) / total
