from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from hakama.core.errors import Invalid
from hakama.core.indicators import Grain, Quality, load_catalogue, load_text, quality_of
from hakama.services.indicators import BUILT_IN

GOOD = """
id: my_indicator
theme: test
names: {ar: مؤشر, fr: Indicateur, en: Indicator}
method: counted
unit: requests
source: service_requests
measure: {kind: count}
grain: month
direction: lower_is_better
"""


def test_built_in_catalogue_has_at_least_15_trilingual_indicators() -> None:
    catalogue = load_catalogue([BUILT_IN])
    assert len(catalogue) >= 15
    for d in catalogue:
        assert set(d.names) >= {"ar", "fr", "en"} and all(d.method.values())
    assert {d.source for d in catalogue} == {"service_requests", "admin_records", "observations"}


def test_a_good_definition_loads() -> None:
    [d] = load_text(GOOD)
    assert d.id == "my_indicator" and d.grain is Grain.MONTH and d.public


@pytest.mark.parametrize(
    ("change", "reason", "line"),
    [
        (("grain: month", "grain: fortnight"), "`grain` must be one of", 2),
        (("measure: {kind: count}", "measure: {kind: median}"), "needs a `column`", 2),
        (("direction: lower_is_better", "direction: down"), "`direction`", 2),
        (
            ("names: {ar: مؤشر, fr: Indicateur, en: Indicator}", "names: {fr: Indicateur}"),
            "lacks ['ar', 'en']",
            2,
        ),
        (("unit: requests", "unit: requests\ncolour: blue"), "unknown field(s) ['colour']", 2),
        (("id: my_indicator", "id: My Indicator"), "`id` must be", 2),
    ],
)
def test_bad_definitions_name_file_line_and_reason(
    change: tuple[str, str], reason: str, line: int
) -> None:
    text = "# comment\n" + GOOD.strip().replace(*change)
    with pytest.raises(Invalid) as caught:
        load_text(text, origin="mine.yaml")
    assert caught.value.message.startswith(f"mine.yaml:{line}:")
    assert reason in caught.value.message


def test_the_line_points_at_the_faulty_item_in_a_list(tmp_path: Path) -> None:
    good = "\n".join("  " + line for line in GOOD.strip().splitlines())
    bad = good.replace("kind: count", "kind: percentile, column: value")
    path = tmp_path / "two.yaml"
    path.write_text(f"-\n{good}\n-\n{bad.replace('my_indicator', 'second')}\n")
    with pytest.raises(Invalid, match=r"two.yaml:12: indicator second: measure `percentile` needs"):
        load_catalogue([tmp_path])


def test_broken_yaml_is_located() -> None:
    with pytest.raises(Invalid, match=r"x.yaml:4: not valid YAML"):
        load_text("id: a\nnames: {\n  fr: [\n", origin="x.yaml")


def test_periods() -> None:
    day = date(2026, 5, 14)  # a Thursday
    assert Grain.WEEK.start_of(day) == date(2026, 5, 11)
    assert Grain.QUARTER.start_of(day) == date(2026, 4, 1)
    assert Grain.QUARTER.next_start(date(2026, 10, 1)) == date(2027, 1, 1)
    assert Grain.MONTH.next_start(date(2026, 12, 1)) == date(2027, 1, 1)


def test_quality_flags() -> None:
    cover = (date(2026, 1, 1), date(2026, 3, 15))
    args = {"period_start": date(2026, 2, 1), "period_end": date(2026, 3, 1), "coverage": cover}
    assert quality_of(sample=3, min_sample=10, **args) is Quality.TOO_FEW
    assert quality_of(sample=30, min_sample=10, **args) is Quality.COMPLETE
    late = {"period_start": date(2026, 3, 1), "period_end": date(2026, 4, 1), "coverage": cover}
    assert quality_of(sample=30, min_sample=10, **late) is Quality.PARTIAL
