"""`hakama keys create|revoke|list`: API keys for systems and devices."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from hakama.cli.context import console, state
from hakama.core.access import system_actor
from hakama.services import keys

keys_app = typer.Typer(help="API keys for systems and devices.", no_args_is_help=True)

OPERATOR = system_actor("cli")


@keys_app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. a device or system.")],
    role: Annotated[str, typer.Option("--role", help="citizen, agent, analyst or admin.")],
    area: Annotated[
        str | None, typer.Option("--area", help="Area code; none = whole platform.")
    ] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help="An action the key may do (repeat); default: the role's."),
    ] = None,
) -> None:
    """Create a key and print it once: it cannot be shown again."""
    created = keys.create_key(
        state(ctx).platform(),
        name=name,
        role=role,
        area_code=area,
        scopes=scope or None,
        actor=OPERATOR,
    )
    key = created.key
    scopes = ",".join(sorted(s.value for s in key.scopes))
    console.print(
        f"created key {key.id} ({key.role.value}, {key.area_code or 'whole platform'}, {scopes})",
        highlight=False,
        soft_wrap=True,
        markup=False,
    )
    console.print(
        "the key (shown once; store it now):", highlight=False, soft_wrap=True, markup=False
    )
    # Plain print: the token must reach a pipe unwrapped and without markup.
    typer.echo(created.token)


@keys_app.command("revoke")
def revoke(ctx: typer.Context, key_id: str) -> None:
    """Stop a key from working, at once."""
    key = keys.revoke_key(state(ctx).platform(), key_id=key_id, actor=OPERATOR)
    console.print(
        f"revoked key {key.id} ({key.name})", highlight=False, soft_wrap=True, markup=False
    )


@keys_app.command("list")
def list_(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
) -> None:
    """List keys (never their secrets)."""
    found = keys.list_keys(state(ctx).platform(), actor=OPERATOR, include_revoked=all_)
    table = Table("id", "name", "role", "area", "scopes", "created by", "state")
    for key in found:
        table.add_row(
            key.id,
            escape(key.name),
            key.role.value,
            key.area_code or "-",
            ",".join(sorted(s.value for s in key.scopes)),
            key.created_by,
            "revoked" if key.revoked else "active",
        )
    console.print(table)
    console.print(f"{len(found)} key(s)")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
