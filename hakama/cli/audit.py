"""`hakama audit verify|tail|anchor`: check the hash-chained audit log and read its end.

`verify` alone detects any edited, reordered or deleted entry inside the log. To also detect
deleted *last* entries, keep an anchor somewhere the database's users cannot write
(`hakama audit anchor FILE`) and later run `hakama audit verify --anchor FILE` (or pass the
head hash with `--expect-head`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from hakama.cli.context import console, err_console, state
from hakama.core.errors import Invalid
from hakama.services import audit, audit_anchors
from hakama.services.audit_anchors import Anchor

audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


@audit_app.command("verify")
def verify(
    ctx: typer.Context,
    anchor: Annotated[
        Path | None, typer.Option("--anchor", help="An anchor file from `hakama audit anchor`.")
    ] = None,
    expect_head: Annotated[
        str | None, typer.Option("--expect-head", help="A head hash that must still be in the log.")
    ] = None,
) -> None:
    """Check every entry's hash and link; exit 1 at the first broken entry."""
    if expect_head is not None and len(expect_head) != 64:
        raise Invalid("--expect-head takes a 64-character hash")
    loaded = Anchor.read(anchor) if anchor is not None else None
    report = audit_anchors.verify(state(ctx).platform(), anchor=loaded, expect_head=expect_head)
    if not report.ok:
        err_console.print(
            f"[red]audit log broken at entry {report.broken_seq}:[/red] {report.reason} "
            f"({report.count} entries checked)",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)
    console.print(
        f"{report.count} entries, chain intact, head {report.head}",
        highlight=False,
        soft_wrap=True,
        markup=False,
    )


@audit_app.command("anchor")
def anchor(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Where to write the anchor (count and head hash).")],
) -> None:
    """Write the log's current length and head hash to FILE, to check against later."""
    made = audit_anchors.make_anchor(state(ctx).platform())
    try:
        file.write_text(made.to_json(), encoding="utf-8")
    except OSError as exc:
        raise Invalid(f"cannot write {file}: {exc.strerror}") from None
    console.print(
        f"anchored {made.count} entries, head {made.head} in {file}",
        highlight=False,
        soft_wrap=True,
        markup=False,
    )


@audit_app.command("tail")
def tail(
    ctx: typer.Context,
    n: Annotated[int, typer.Option("-n", min=1, max=10_000, help="How many entries.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Show the last N entries of the audit log."""
    platform = state(ctx).platform()
    last = audit.last_entries(platform, n)
    if as_json:
        for e in last:
            typer.echo(
                json.dumps(
                    {
                        "seq": e.seq,
                        "at": e.at.isoformat(),
                        "actor": e.actor,
                        "action": e.action,
                        "resource": e.resource,
                        "area": e.area_code,
                        "before": e.before,
                        "after": e.after,
                        "hash": e.hash,
                    },
                    ensure_ascii=False,
                )
            )
        return
    table = Table("seq", "at (UTC)", "actor", "action", "resource", "area")
    for e in last:
        table.add_row(
            str(e.seq),
            e.at.strftime("%Y-%m-%d %H:%M:%S"),
            escape(e.actor),
            escape(e.action),
            escape(e.resource),
            escape(e.area_code or "-"),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
