"""What every CLI command shares: the settings from `--data-dir`/env, and opening the platform."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console

from hakama.services.platform import Platform
from hakama.settings import Settings

console = Console()
err_console = Console(stderr=True)


@dataclass
class CliState:
    data_dir: Path | None = None

    def settings(self, **overrides: object) -> Settings:
        values: dict[str, object] = {k: v for k, v in overrides.items() if v is not None}
        if self.data_dir is not None:
            values["data_dir"] = self.data_dir
        return Settings(**values)  # type: ignore[arg-type]

    def platform(self, **overrides: object) -> Platform:
        return Platform.open(self.settings(**overrides))


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):
        obj = CliState()
        ctx.find_root().obj = obj
    return obj
