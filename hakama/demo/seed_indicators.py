"""Demo seed step: compute the indicator catalogue once, so the demo's dashboards have values."""

from __future__ import annotations

from hakama.services import indicators
from hakama.services.platform import Platform


def seed(platform: Platform, *, seed: int, scale: float) -> str:
    """Bring every indicator up to date on the demo lake (incremental: a rebuilt demo with the
    same files recomputes nothing) and say how many values were stored."""
    del seed, scale  # the values follow from the lake the demo already wrote
    report = indicators.compute(platform)
    return (
        f"{report.indicators} indicators computed ({report.values:,} values, "
        f"{report.skipped} up to date or without data) in {report.seconds:.1f} s"
    )
