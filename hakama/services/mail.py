"""Sending e-mail through the operator's SMTP server (standard library only).

One function, `send_mail`, used by everything that writes to people: notices to citizens about
their requests, council reports. `smtp_host` unset means mail is off: callers check
`mail_enabled(settings)` and do not queue mail at all. Errors (refused, unreachable, bad login)
are raised as they come (`smtplib.SMTPException`, `OSError`): the caller's outbox retries.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from hakama.settings import Settings

#: Seconds the SMTP server has to answer each command.
TIMEOUT = 20.0


def mail_enabled(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def build_message(
    settings: Settings,
    *,
    to: Sequence[str],
    subject: str,
    text: str,
    html: str | None = None,
    attachments: Sequence[tuple[str, bytes, str]] = (),
    headers: Sequence[tuple[str, str]] = (),
) -> EmailMessage:
    """The message `send_mail` sends: plain text, an HTML alternative, attachments."""
    sender = settings.smtp_from or f"hakama@{settings.smtp_host or 'localhost'}"
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for filename, content, mime_type in attachments:
        maintype, _, subtype = mime_type.partition("/")
        message.add_attachment(
            content, maintype=maintype, subtype=subtype or "octet-stream", filename=filename
        )
    # Last: setting the content drops Content-* headers (Content-Language) set before it.
    for name, value in headers:
        message[name] = value
    return message


def send_mail(
    settings: Settings,
    *,
    to: Sequence[str],
    subject: str,
    text: str,
    html: str | None = None,
    attachments: Sequence[tuple[str, bytes, str]] = (),
    headers: Sequence[tuple[str, str]] = (),
) -> None:
    """Send one message to `to` through the configured SMTP server (blocking: call it from a
    worker thread in async code). Raises ValueError when mail is off or nobody is addressed."""
    if not settings.smtp_host:
        raise ValueError("mail is off: set HAKAMA_SMTP_HOST")
    if not to:
        raise ValueError("a message needs at least one recipient")
    message = build_message(
        settings,
        to=to,
        subject=subject,
        text=text,
        html=html,
        attachments=attachments,
        headers=headers,
    )
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password or "")
        smtp.send_message(message)
