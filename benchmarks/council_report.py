"""The council report of the province, PDF and XLSX, on the demo, against the in-run baseline of
the composite page's data (`disparities.composite`, what /dashboards/composite computes).

The target: a province report in at most 10 s. Usage:
    python benchmarks/council_report.py [--data-dir hakama-data] [--scale 1] [--quick]
Without --data-dir, a demo is built in a temporary folder first (--quick: scale 0.1).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from _report import report

from hakama.core.access import system_actor
from hakama.demo.build import build_demo
from hakama.reports.render import report_file
from hakama.services import disparities, indicators
from hakama.services.platform import Platform
from hakama.settings import Settings

TARGET_SECONDS = 10.0
ACTOR = system_actor("bench")


def timed(fn: Any, repeat: int) -> tuple[float, float, Any]:
    """Median wall seconds and median CPU seconds of this process (the CPU figure is what a
    loaded, shared machine distorts least)."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.data_dir or Path(tmp) / "demo"
        platform = Platform.open(Settings(data_dir=folder, environment="test"))
        if args.data_dir is None:
            build_demo(platform, scale=0.1 if args.quick else args.scale)
        province = max(indicators.groups(platform), key=lambda g: len(g.children)).parent.code
        repeat = 1 if args.quick else args.repeat
        baseline, baseline_cpu, _ = timed(lambda: disparities.composite(platform, actor=ACTOR), repeat)
        rows: list[dict[str, Any]] = []
        for period, fmt, lang in (("2026-Q3", "pdf", "ar"), ("2026-Q3", "pdf", "fr"), ("2026-Q3", "xlsx", "ar"),
                                  ("2026-09", "pdf", "ar")):  # fmt: skip
            seconds, cpu, made = timed(
                lambda p=period, f=fmt, lg=lang: report_file(platform, area=province, period=p, lang=lg, fmt=f, actor=ACTOR),
                repeat,
            )  # fmt: skip
            rows.append({
                "report": f"{province} {period} {lang} {fmt}",
                "seconds": round(seconds, 2),
                "cpu seconds": round(cpu, 2),
                "vs composite page (cpu)": f"{cpu / baseline_cpu:.1f}x",
                "bytes": len(made.content),
                "within 10 s": "yes" if seconds <= TARGET_SECONDS else "NO",
            })  # fmt: skip
        platform.close()
    report(
        "council_report",
        rows,
        baseline_composite_seconds=round(baseline, 3),
        target_seconds=TARGET_SECONDS,
    )


if __name__ == "__main__":
    main()
