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
from hakama.services import (
    record_exchange,
    record_file_imports,
    record_lake,
    record_sources,
    records,
)
from hakama.services.platform import Platform
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


def _show(report: ImportReport, *, errors_to: Path | None, platform: Platform) -> None:
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
        source = records.errors_csv(platform, actor=OPERATOR, import_id=report.id)
        shutil.copyfile(source, errors_to)  # line, column, value, code, reason
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
    staged = record_file_imports.stage(
        platform, actor=OPERATOR, area_code=area, type_id=record_type, path=file,
        file_name=file.name, mapping_text=mapping_text, partial=partial,
    )  # fmt: skip
    if not as_json:
        _show(staged, errors_to=errors, platform=platform)
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
        done = record_file_imports.commit(platform, actor=OPERATOR, import_id=staged.id)
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
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Past imports: who, when, which file, what came of it."""
    found = records.list_imports(state(ctx).platform(), actor=OPERATOR, area_code=area, limit=limit)
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in found], ensure_ascii=False, indent=2))
        return
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
    days = record_lake.sync_lake(platform)
    periods = record_lake.recompute_indicators(platform)
    _print(f"{days} lake days rebuilt; {periods} indicator periods recomputed")


def register(app: typer.Typer) -> None:
    app.add_typer(records_app, name="records")


sources_app = typer.Typer(help="HTTP sources pulled on a schedule.", no_args_is_help=True)
records_app.add_typer(sources_app, name="sources")


@sources_app.command("add")
def add_source(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A short name, e.g. urbanisme-berkane.")],
    url: Annotated[str, typer.Option("--url", help="The endpoint (http or https).")],
    area: Annotated[str, typer.Option("--area", help="Commune the records belong to.")],
    record_type: Annotated[str, typer.Option("--type", help="Record type.")],
    fmt: Annotated[str, typer.Option("--format", help="json or csv.")] = "json",
    cursor_field: Annotated[
        str, typer.Option(help="Field of the records that grows: a date or an id.")
    ] = "updated_at",
    cursor_param: Annotated[
        str, typer.Option(help="Query parameter the source reads the last value from.")
    ] = "since",
    header: Annotated[
        str | None, typer.Option(help="Auth header as `Name: value` (e.g. `X-Api-Key: …`).")
    ] = None,
    basic: Annotated[str | None, typer.Option(help="Basic auth as `user:password`.")] = None,
    mapping: Annotated[
        Path | None, typer.Option(help="YAML mapping of the source's fields.")
    ] = None,
    every: Annotated[int, typer.Option(help="Minutes between two pulls.")] = 60,
) -> None:
    """Declare a source hakama pulls records from."""
    auth: dict[str, str] = {"kind": "none"}
    if header and basic:
        raise Invalid("give --header or --basic, not both")
    if header:
        hname, sep, value = header.partition(":")
        if not sep:
            raise Invalid("--header is `Name: value`")
        auth = {"kind": "header", "name": hname.strip(), "value": value.strip()}
    if basic:
        user, _, password = basic.partition(":")
        auth = {"kind": "basic", "username": user, "password": password}
    mapping_text = mapping.read_text(encoding="utf-8") if mapping else ""
    source = record_sources.add_source(
        state(ctx).platform(), actor=OPERATOR, name=name, record_type=record_type,
        area_code=area, url=url, format=fmt, auth=auth, cursor_field=cursor_field,
        cursor_param=cursor_param, mapping_text=mapping_text, interval_minutes=every,
    )  # fmt: skip
    _print(f"source {source.name}: {source.record_type} for {source.area_code}, every {every} min")


@sources_app.command("list")
def list_sources(ctx: typer.Context) -> None:
    """Sources, their cursor and how their last pull went."""
    table = Table("name", "type", "area", "url", "cursor", "last run", "state")
    for s in record_sources.list_sources(state(ctx).platform()):
        table.add_row(
            s.name, s.record_type, s.area_code, s.url, s.cursor_value or "",
            s.last_run_at.strftime("%Y-%m-%d %H:%M") if s.last_run_at else "never",
            "disabled" if not s.enabled else (f"failing: {s.last_error}" if s.failing else "ok"),
        )  # fmt: skip
    console.print(table)


@sources_app.command("pull")
def pull_source(ctx: typer.Context, name: str) -> None:
    """Pull a source now (whatever its schedule)."""
    platform = state(ctx).platform()
    report = record_sources.pull(platform, name)
    if report.error:
        raise Invalid(f"{name}: {report.error} (cursor kept: {report.cursor or 'none yet'})")
    periods = record_lake.recompute_indicators(platform) if report.inserted or report.updated else 0
    _print(
        f"{name}: {report.pages} pages, {report.rows} records ({report.inserted} new, "
        f"{report.updated} updated); cursor {report.cursor}; {periods} indicator periods recomputed"
    )


exchange_app = typer.Typer(help="Requests for records between communes.", no_args_is_help=True)
records_app.add_typer(exchange_app, name="exchange")


@exchange_app.command("proof")
def exchange_proof(
    ctx: typer.Context,
    exchange_id: str,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of text.")] = False,
) -> None:
    """Who asked, why, with what consent, who answered: checked against the audit chain."""
    proof = record_exchange.proof(state(ctx).platform(), actor=OPERATOR, exchange_id=exchange_id)
    e = proof.exchange
    if as_json:
        shown = e.as_dict()
        shown.pop("record", None)  # personal: shown to the agents, not printed here
        out = {
            "exchange": shown,
            "steps": proof.steps,
            "chain_ok": proof.chain_ok,
            "record_matches": proof.record_matches,
            "ok": proof.ok,
        }
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    else:
        _print(f"exchange {e.id}: {e.record_type} from {e.holder_area} for {e.requester_area}")
        for s in proof.steps:
            _print(f"  #{s['seq']} {s['at']} {s['actor']} {s['action']} {s['hash'][:16]}…")
        _print(f"  purpose: {e.purpose}")
        _print(f"  consent: {e.consent.get('method')} ({e.consent.get('reference')})")
        _print(
            f"audit chain {'intact' if proof.chain_ok else 'BROKEN'}; record sent "
            + {None: "none", True: "matches its hash", False: "DOES NOT match its hash"}[
                proof.record_matches
            ]
        )
    if not proof.ok:
        raise typer.Exit(1)


@exchange_app.command("list")
def exchange_list(ctx: typer.Context) -> None:
    """Every exchange (the operator sees all communes)."""
    found = record_exchange.list_for(state(ctx).platform(), actor=OPERATOR)
    table = Table("id", "asked", "type", "from", "to", "state", "answered by")
    for e in found["incoming"]:
        table.add_row(
            e.id[:12], e.created_at.strftime("%Y-%m-%d %H:%M"), e.record_type, e.holder_area,
            e.requester_area, e.state, e.answered_by or "",
        )  # fmt: skip
    console.print(table)
