"""`hakama subscriptions`: list, show and delete NGSI-LD subscriptions; send what is waiting."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.table import Table

from hakama.cli.context import console, state
from hakama.core.access import system_actor
from hakama.services import subscriptions

subscriptions_app = typer.Typer(
    help="NGSI-LD subscriptions and their notification outbox.", no_args_is_help=True
)
ACTOR = system_actor("cli")


@subscriptions_app.command("list")
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Every subscription with its status and delivery figures."""
    platform = state(ctx).platform()
    found = subscriptions.list_(platform, actor=ACTOR, limit=1_000_000)
    waiting = {s.sub.id: subscriptions.outbox_counts(platform, [s.sub.id]) for s in found}
    if as_json:
        rendered = [s.render() | {"outbox": waiting[s.sub.id]} for s in found]
        console.print_json(json.dumps(rendered, ensure_ascii=False))
        return
    table = Table("id", "status", "endpoint", "sent", "last", "pending", "dead")
    for stored in found:
        shown = stored.render()
        note = shown["notification"]
        counts = waiting[stored.sub.id]
        table.add_row(
            stored.sub.id,
            f"{shown['status']} / {note.get('status') or '-'}",
            stored.sub.uri,
            str(note.get("timesSent", 0)),
            note.get("lastNotification", "-"),
            str(counts.get("pending", 0)),
            str(counts.get("dead", 0)),
        )
    console.print(table)
    console.print(f"{len(found)} subscription(s)")


@subscriptions_app.command("show")
def show(
    ctx: typer.Context, sub_id: Annotated[str, typer.Argument(help="Subscription id.")]
) -> None:
    """One subscription as the API returns it, with its outbox counts."""
    platform = state(ctx).platform()
    stored = subscriptions.get(platform, sub_id, actor=ACTOR)
    out = stored.render() | {"outbox": subscriptions.outbox_counts(platform, [sub_id])}
    console.print_json(json.dumps(out, ensure_ascii=False))


@subscriptions_app.command("delete")
def delete(
    ctx: typer.Context,
    sub_id: Annotated[str, typer.Argument(help="Subscription id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a subscription and the notifications still waiting for it."""
    platform = state(ctx).platform()
    subscriptions.get(platform, sub_id, actor=ACTOR)
    if not yes and not typer.confirm(f"delete {sub_id}?"):
        raise typer.Exit(1)
    subscriptions.delete(platform, sub_id, actor=ACTOR)
    console.print(f"deleted {sub_id}")


@subscriptions_app.command("send")
def send(ctx: typer.Context) -> None:
    """Send the notifications that are due now, once (what `hakama serve` does continuously)."""
    import httpx

    from hakama.jobs import notifier

    platform = state(ctx).platform()

    async def once() -> list[notifier.Delivery]:
        async with httpx.AsyncClient(timeout=notifier.TIMEOUT) as client:
            return await notifier.deliver_once(platform, client)

    deliveries = asyncio.run(once())
    for d in deliveries:
        outcome = "ok" if d.ok else f"failed ({d.error})"
        console.print(f"{d.subscription_id}: {outcome}", highlight=False)
    console.print(f"{len(deliveries)} notification(s) sent")


def register(app: typer.Typer) -> None:
    app.add_typer(subscriptions_app, name="subscriptions")
