"""Scheduled council reports inside `hakama serve`: every `report_delivery_interval_minutes`,
each subscription whose latest period is ready (its indicators computed through the period's
last month) and not yet sent gets its report built and mailed as an attachment; each attempt is
recorded (`report_deliveries`), a failure retried at the next rounds up to a limit.

Building and sending run in a worker thread, one report at a time, so the server keeps answering.
"""

from __future__ import annotations

import asyncio
import logging

from hakama.core.access import system_actor
from hakama.jobs import rounds
from hakama.reports import labels
from hakama.reports.render import report_file
from hakama.services import mail, report_subscriptions, territory
from hakama.services.platform import Platform
from hakama.services.report_subscriptions import Due

log = logging.getLogger("hakama.reports.delivery")


def enabled(platform: Platform) -> bool:
    return (
        mail.mail_enabled(platform.settings)
        and platform.settings.report_delivery_interval_minutes > 0
    )


def deliver(platform: Platform, item: Due) -> bool:
    """Build one subscription's report for its period, mail it, record the attempt."""
    s = item.subscription
    try:
        made = report_file(
            platform,
            area=s.area_code,
            period=item.period.code,
            lang=s.language,
            fmt=s.format,
            actor=system_actor("report-delivery", area_code=s.area_code),
        )
        area = territory.get_area(platform, s.area_code).name(s.language)
        title = f"{labels.text('title', s.language)} — {area} — {item.period.label(s.language)}"
        mail.send_mail(
            platform.settings,
            to=s.recipients,
            subject=title,
            text=f"{title}\n\n{labels.text('report_intro', s.language)}\n\n{made.filename}\n",
            attachments=[(made.filename, made.content, made.media_type)],
        )
    except Exception as exc:  # a refused address, a down server, a missing font: record, retry
        log.warning(
            "report subscription %s, period %s: not sent (%s)",
            s.id,
            item.period.code,
            type(exc).__name__,
        )
        report_subscriptions.record_delivery(
            platform,
            subscription=s,
            period=item.period,
            sent=False,
            error=f"{type(exc).__name__}: {exc}",
        )
        return False
    report_subscriptions.record_delivery(
        platform,
        subscription=s,
        period=item.period,
        sent=True,
        filename=made.filename,
        size=len(made.content),
    )
    # Counts only: the addresses are personal data and stay out of the log.
    log.info(
        "report subscription %s, period %s: sent to %d address(es)",
        s.id,
        item.period.code,
        len(s.recipients),
    )
    return True


def run_round(platform: Platform) -> int:
    """Deliver every report that is due; the number sent."""
    return sum(deliver(platform, item) for item in report_subscriptions.due(platform))


async def run(platform: Platform, stop: asyncio.Event) -> None:
    interval = platform.settings.report_delivery_interval_minutes * 60
    failed = "report delivery round failed; retrying next round"
    await rounds.every(
        stop, interval, lambda: rounds.in_thread(run_round, platform, log=log, failed=failed)
    )
