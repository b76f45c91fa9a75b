"""Sending the notices citizens asked for (e-mail, SMS) from the outbox, with retries.

Each round claims the due rows (a lease, so several hakama processes share the work without
sending a row twice) and sends them a few at a time in worker threads: SMTP and the SMS gateway
are blocking calls, and a slow one must hold neither the event loop nor the other sends. A
failed send is retried with a growing wait (30 s, 1 min, 2 min… at most 2 h) and given up after
`MAX_ATTEMPTS` (the row stays as `dead`, with its last error, for the operator); a refusal no
retry can change (a rejected address or number) is given up at once. Each change of a request
wakes the loop, so a notice leaves within a moment of the change.

Log lines name the outbox row, the request and the channel, never an address.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hakama.core.clock import utcnow
from hakama.services import citizen_notices, events
from hakama.services.citizen_notices import Claimed, PermanentFailure
from hakama.services.platform import Platform

log = logging.getLogger("hakama.notices")

#: Seconds between two looks at the outbox when no change woke the loop.
POLL = 5.0
#: Notices sent at the same time.
CONCURRENCY = 4


def enabled(platform: Platform) -> bool:
    """Runs when mail or SMS is on."""
    return bool(citizen_notices.channels(platform.settings))


def send_one(platform: Platform, item: Claimed) -> str:
    """Send one claimed notice and record the outcome (blocking); returns sent/retry/dead."""
    error: str | None = None
    permanent = False
    try:
        citizen_notices.deliver(platform, item)
    except PermanentFailure as exc:
        error, permanent = str(exc), True
    except Exception as exc:  # the server's or gateway's failure is data, not a crash
        error = f"{type(exc).__name__}: {exc}"
    outcome = citizen_notices.record(platform, item, error=error, permanent=permanent, now=utcnow())
    if outcome == "sent":
        log.info(
            "notice %d (%s, %s) for %s sent", item.id, item.kind, item.channel, item.request_id
        )
    else:
        log.warning(
            "notice %d (%s, %s) for %s: %s after attempt %d: %s",
            item.id,
            item.kind,
            item.channel,
            item.request_id,
            "given up" if outcome == "dead" else "will retry",
            item.attempts + 1,
            # Errors can quote the address (SMTP refusals do): keep only their kind.
            (error or "").split(":", 1)[0],
        )
    return outcome


async def deliver_once(platform: Platform) -> list[str]:
    """One round: claim what is due and send it all (tests, CLI). Each recipient's notices go
    one after the other, in order; a failure holds back that recipient's next ones."""
    items = await asyncio.to_thread(citizen_notices.claim, platform, now=utcnow())
    queues: dict[int, list[Claimed]] = {}
    for item in items:
        queues.setdefault(item.recipient_id, []).append(item)
    limit = asyncio.Semaphore(CONCURRENCY)

    async def in_order(queue: list[Claimed]) -> list[str]:
        outcomes: list[str] = []
        async with limit:
            for position, item in enumerate(queue):
                outcome = await asyncio.to_thread(send_one, platform, item)
                outcomes.append(outcome)
                if outcome == "retry":
                    await asyncio.to_thread(
                        citizen_notices.release, platform, queue[position + 1 :]
                    )
                    break
        return outcomes

    rounds = await asyncio.gather(*(in_order(q) for q in queues.values()))
    return [outcome for outcomes in rounds for outcome in outcomes]


async def run(platform: Platform, stop: asyncio.Event) -> None:
    """Send notices until `stop` is set."""
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()
    live = True

    def changed(_platform: Platform, _event: Any) -> None:
        if live:
            loop.call_soon_threadsafe(wake.set)

    events.listen(platform, events.RequestChanged, changed)
    try:
        while not stop.is_set():
            wake.clear()
            try:
                await deliver_once(platform)
            except Exception:
                log.exception("notices: a round failed")
            stopping = asyncio.create_task(stop.wait())
            waking = asyncio.create_task(wake.wait())
            await asyncio.wait(
                [stopping, waking], timeout=POLL, return_when=asyncio.FIRST_COMPLETED
            )
            stopping.cancel()
            waking.cancel()
    finally:
        live = False
