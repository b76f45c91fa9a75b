"""`hakama records …`: administrative records from the communes' own systems."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hakama.cli.context import console, state
from hakama.core.access import system_actor
from hakama.core.errors import Invalid
from hakama.services import records
from hakama.services.records import ImportReport

records_app = typer.Typer(
    help="Administrative records: types, file imports, pull sources, exchanges.",
    no_args_is_help=True,
)

OPERATOR = system_actor("cli")


def _print(text: str) -> None:
    console.print(text, highlight=False, markup=False, soft_wrap=True)


@records_app.command("types")
def list_types(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """The record types: built-in and the operator's own (<data-dir>/record_types/*.yaml)."""
    found = records.types(state(ctx).platform())
    if as_json:
        out = [
            {
                "id": t.id,
                "service": t.service,
                "names": dict(t.names),
                "key": list(t.key),
                "fields": [
                    {
                        "name": f.name,
                        "type": f.type.value,
                        "required": f.required,
                        "codes": list(f.codes),
                        "personal": f.personal,
                        "kept": f.stored,
                        "labels": dict(f.labels),
                    }
                    for f in t.fields
                ],
            }
            for t in found
        ]
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    table = Table("type", "identified by", "fields", "personal (kept)")
    for t in found:
        table.add_row(
            t.id,
            ", ".join(t.key),
            ", ".join(f.name for f in t.fields),
            ", ".join(f"{f.name}{' (kept)' if f.keep else ''}" for f in t.fields if f.personal),
        )
    console.print(table)


def _show(report: ImportReport, *, errors_to: Path | None, platform_dir: Path) -> None:
    _print(
        f"import {report.id} ({report.record_type}, {report.area_code}): {report.rows_total} rows, "
        f"{report.rows_valid} valid, {report.rows_rejected} rejected"
    )
    for e in report.errors[:20]:
        value = "" if e.value is None else f" {e.value!r}"
        _print(f"  line {e.line}, {e.column or '(row)'}{value}: {e.reason}")
    if report.rows_rejected > 20:
        _print(f"  … {report.rows_rejected - 20} more in the error report")
    if errors_to is not None and report.rows_rejected:
        source = platform_dir / "records" / report.id / "errors.csv"
        if source.exists():
            shutil.copyfile(source, errors_to)
            _print(f"error report: {errors_to}")


@records_app.command("import")
def import_file(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="A CSV (any delimiter, UTF-8 or Windows-1256) or XLSX file.")
    ],
    area: Annotated[str, typer.Option("--area", help="Code of the commune the records belong to.")],
    record_type: Annotated[
        str, typer.Option("--type", help="Record type (see `hakama records types`).")
    ],
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", help="YAML mapping of the file's columns and values."),
    ] = None,
    partial: Annotated[
        bool, typer.Option("--partial", help="Store the valid rows even when some are rejected.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and preview only; store nothing.")
    ] = False,
    errors: Annotated[
        Path | None, typer.Option("--errors", help="Write the rejected rows to this CSV file.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Validate a file of records and store it (all rows, or none unless --partial)."""
    if not file.is_file():
        raise Invalid(f"no file {file}")
    mapping_text = ""
    if mapping is not None:
        if not mapping.is_file():
            raise Invalid(f"no mapping file {mapping}")
        mapping_text = mapping.read_text(encoding="utf-8")
    platform = state(ctx).platform()
    staged = records.stage(
        platform, actor=OPERATOR, area_code=area, type_id=record_type, path=file,
        file_name=file.name, mapping_text=mapping_text, partial=partial,
    )  # fmt: skip
    if not as_json:
        _show(staged, errors_to=errors, platform_dir=platform.settings.data_dir)
    elif errors is not None and staged.rows_rejected:
        shutil.copyfile(platform.settings.records_dir / staged.id / "errors.csv", errors)
    if dry_run:
        if as_json:
            typer.echo(json.dumps(staged.as_dict(), ensure_ascii=False, indent=2))
        else:
            for row in staged.preview[:5]:
                _print("  " + json.dumps(row, ensure_ascii=False))
            _print("dry run: nothing stored")
        return
    try:
        done = records.commit(platform, actor=OPERATOR, import_id=staged.id)
    except Invalid:
        if as_json:
            typer.echo(json.dumps(staged.as_dict(), ensure_ascii=False, indent=2))
        raise
    if as_json:
        typer.echo(json.dumps(done.as_dict(), ensure_ascii=False, indent=2))
        return
    _print(
        f"stored: {done.inserted} new, {done.updated} updated, {done.unchanged} unchanged; "
        f"{done.periods_recomputed} indicator periods recomputed"
    )


@records_app.command("imports")
def list_imports(
    ctx: typer.Context,
    area: Annotated[str | None, typer.Option("--area", help="Only this commune.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
) -> None:
    """Past imports: who, when, which file, what came of it."""
    found = records.list_imports(state(ctx).platform(), actor=OPERATOR, area_code=area, limit=limit)
    table = Table(
        "id", "when", "who", "type", "area", "file", "state", "rows", "rejected", "new", "updated"
    )
    for r in found:
        table.add_row(
            r.id[:12], r.created_at.strftime("%Y-%m-%d %H:%M") if r.created_at else "", r.actor,
            r.record_type, r.area_code, r.file_name, r.state, str(r.rows_total),
            str(r.rows_rejected), str(r.inserted), str(r.updated),
        )  # fmt: skip
    console.print(table)


@records_app.command("sync")
def sync(ctx: typer.Context) -> None:
    """Rebuild the lake days that imports touched and recompute the indicators."""
    platform = state(ctx).platform()
    days = records.sync_lake(platform)
    periods = records.recompute_indicators(platform)
    _print(f"{days} lake days rebuilt; {periods} indicator periods recomputed")


def register(app: typer.Typer) -> None:
    app.add_typer(records_app, name="records")
