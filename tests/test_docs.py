"""Docs that are tested: every setting is documented, every CLI command explains itself."""

from __future__ import annotations

from pathlib import Path

import typer

from hakama.cli import main as cli_main
from hakama.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "settings.md").read_text()
    for name, field in Settings.model_fields.items():
        assert f"`HAKAMA_{name.upper()}`" in text, name
        assert field.description, f"setting {name} has no description"


def test_every_command_has_help() -> None:
    cli_main._register()
    command = typer.main.get_command(cli_main.app)
    missing: list[str] = []

    def walk(cmd: object, path: str) -> None:
        sub = getattr(cmd, "commands", None)
        if sub:
            for name, child in sub.items():
                walk(child, f"{path} {name}")
        elif not (getattr(cmd, "help", None) or "").strip():
            missing.append(path)

    walk(command, "hakama")
    assert not missing, f"commands without help: {missing}"
    names = set(getattr(command, "commands", {}))
    assert {"demo", "serve", "init", "territory", "db", "users", "keys", "audit"} <= names


def test_readme_names_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "./run demo" in readme and "./run test" in readme
    assert "./run test" in (ROOT / ".ci" / "run").read_text()
