"""Combining an indicator's stored values of short periods into a longer one, where the
arithmetic is exact: counts, sums and days add up; shares and means are weighted by their
observations; a minimum is the least minimum. Medians, percentiles, durations and ratios do
not combine: those are computed again from the lake for the longer period.
"""

from __future__ import annotations

from collections.abc import Sequence

from hakama.core.indicators import Grain, MeasureKind

SUMMED = frozenset(
    {
        MeasureKind.COUNT,
        MeasureKind.SUM,
        MeasureKind.RATE_PER_10K,
        MeasureKind.PER_INHABITANT,
        MeasureKind.DAYS_ABOVE,
    }
)
WEIGHTED = frozenset({MeasureKind.SHARE, MeasureKind.MEAN})
EXTREMES = frozenset({MeasureKind.MIN, MeasureKind.MAX})
COMBINABLE = SUMMED | WEIGHTED | EXTREMES

#: Which shorter periods tile a longer one exactly (a week straddles months: it does not).
NESTS: dict[Grain, frozenset[Grain]] = {
    Grain.DAY: frozenset({Grain.MONTH, Grain.QUARTER, Grain.YEAR}),
    Grain.MONTH: frozenset({Grain.QUARTER, Grain.YEAR}),
    Grain.QUARTER: frozenset({Grain.YEAR}),
}


def can_combine(kind: MeasureKind, fine: Grain, coarse: Grain) -> bool:
    return kind in COMBINABLE and coarse in NESTS.get(fine, frozenset())


def combine(
    kind: MeasureKind, parts: Sequence[tuple[float | None, int]]
) -> tuple[float | None, int]:
    """(value, sample) of the longer period from its parts' (value, sample)."""
    valued = [(v, n) for v, n in parts if v is not None]
    sample = sum(n for _, n in parts)
    if not valued:
        return None, sample
    if kind in SUMMED:
        return sum(v for v, _ in valued), sample
    if kind in WEIGHTED:
        weight = sum(n for _, n in valued)
        if weight == 0:
            return None, sample
        return sum(v * n for v, n in valued) / weight, sample
    if kind is MeasureKind.MIN:
        return min(v for v, _ in valued), sample
    if kind is MeasureKind.MAX:
        return max(v for v, _ in valued), sample
    raise ValueError(f"{kind.value} values do not combine")
