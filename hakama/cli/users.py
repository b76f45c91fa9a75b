"""`hakama users add|list|disable|enable|password`: accounts, run by the platform's operator."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from hakama.cli.context import console, state
from hakama.core.access import system_actor
from hakama.core.errors import Invalid
from hakama.services import users

users_app = typer.Typer(help="User accounts: add, list, disable.", no_args_is_help=True)

OPERATOR = system_actor("cli")


def _read_password(from_stdin: bool) -> str:
    """The new password: one line from stdin, or typed twice at a hidden prompt."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise Invalid("--password-stdin: nothing on standard input")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        # A prompt on a pipe would hang or echo; say what to do instead.
        raise Invalid("no terminal to prompt for the password; use --password-stdin")
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@users_app.command("add")
def add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Login name: letters, digits, . _ @ -")],
    role: Annotated[str, typer.Option("--role", help="citizen, agent, analyst or admin.")],
    area: Annotated[
        str | None, typer.Option("--area", help="Area of the role; none = whole platform.")
    ] = None,
    display_name: Annotated[str, typer.Option("--name", help="Full name shown in pages.")] = "",
    language: Annotated[str, typer.Option("--language", help="ar, fr or en.")] = "fr",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create an account (the password is asked for, or read with --password-stdin)."""
    users.parse_role(role)  # a wrong role is reported before the password is asked for
    users.normalise_username(username)
    password = _read_password(password_stdin)
    platform = state(ctx).platform()
    user = users.add_user(
        platform,
        username=username,
        password=password,
        role=role,
        area_code=area,
        display_name=display_name,
        language=language,
        actor=OPERATOR,
    )
    where = user.area_code or "whole platform"
    console.print(
        f"added {user.username} ({user.role.value}, {where})",
        highlight=False,
        soft_wrap=True,
        markup=False,
    )


@users_app.command("list")
def list_(
    ctx: typer.Context,
    area: Annotated[str | None, typer.Option("--area", help="Only accounts in this area.")] = None,
) -> None:
    """List accounts: username, role, area, state."""
    platform = state(ctx).platform()
    found = users.list_users(platform, actor=OPERATOR, area_code=area)
    table = Table("username", "name", "role", "area", "language", "state", "created (UTC)")
    for user in found:
        table.add_row(
            user.username,
            escape(user.display_name),
            user.role.value,
            user.area_code or "-",
            user.language,
            "disabled" if user.disabled else "active",
            user.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)
    console.print(f"{len(found)} account(s)")


@users_app.command("disable")
def disable(ctx: typer.Context, username: str) -> None:
    """Refuse the account's sign-ins and end its sessions."""
    user = users.disable_user(state(ctx).platform(), username=username, actor=OPERATOR)
    console.print(f"disabled {user.username}", highlight=False, soft_wrap=True, markup=False)


@users_app.command("enable")
def enable(ctx: typer.Context, username: str) -> None:
    """Allow a disabled account to sign in again."""
    user = users.enable_user(state(ctx).platform(), username=username, actor=OPERATOR)
    console.print(f"enabled {user.username}", highlight=False, soft_wrap=True, markup=False)


@users_app.command("password")
def password(
    ctx: typer.Context,
    username: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
) -> None:
    """Set a new password (ends the account's sessions)."""
    platform = state(ctx).platform()
    users.get_user(platform, username)
    users.set_password(
        platform, username=username, password=_read_password(password_stdin), actor=OPERATOR
    )
    console.print(f"password of {username} changed", highlight=False, soft_wrap=True, markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
