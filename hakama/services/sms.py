"""Sending SMS through the operator's HTTP gateway.

Gateways (`sms_gateway`):
- `json`: POST `{"to": "+2126…", "from": …, "text": …}` as JSON to `sms_url`;
- `form`: the same fields form-encoded (what many Moroccan and African aggregators take);
- `twilio`: Twilio's Messages API (`POST /2010-04-01/Accounts/{sid}/Messages.json`, form
  fields `To`, `From`, `Body`, HTTP basic auth with the account SID and auth token).

For `json`/`form`, `sms_token` goes as `Authorization: Bearer …`, or with `sms_username` as HTTP
basic auth. A 2xx answer is success; a 4xx (but 408/429) is a refusal no retry will change
(`Refused`); anything else (5xx, timeouts, no connection) may be retried.
"""

from __future__ import annotations

from typing import Any

import httpx

from hakama.settings import Settings

TIMEOUT = 15.0
TWILIO_API = "https://api.twilio.com"


class Refused(Exception):
    """The gateway refused this message for good (bad number, bad credentials…)."""


def sms_enabled(settings: Settings) -> bool:
    if settings.sms_gateway == "twilio":
        return bool(settings.sms_username and settings.sms_token and settings.sms_from)
    return bool(settings.sms_gateway and settings.sms_url)


def request_for(settings: Settings, *, to: str, text: str) -> dict[str, Any]:
    """The keyword arguments of the HTTP request that sends one SMS (`httpx.Client.request`)."""
    gateway = settings.sms_gateway
    auth: tuple[str, str] | None = None
    headers: dict[str, str] = {}
    if gateway == "twilio":
        base = (settings.sms_url or TWILIO_API).rstrip("/")
        sid = settings.sms_username or ""
        return {
            "method": "POST",
            "url": f"{base}/2010-04-01/Accounts/{sid}/Messages.json",
            "data": {"To": to, "From": settings.sms_from or "", "Body": text},
            "auth": (sid, settings.sms_token or ""),
        }
    if not gateway or not settings.sms_url:
        raise ValueError("SMS are off: set HAKAMA_SMS_GATEWAY and HAKAMA_SMS_URL")
    if settings.sms_token and settings.sms_username:
        auth = (settings.sms_username, settings.sms_token)
    elif settings.sms_token:
        headers["Authorization"] = f"Bearer {settings.sms_token}"
    fields = {"to": to, "text": text}
    if settings.sms_from:
        fields["from"] = settings.sms_from
    body = {"json": fields} if gateway == "json" else {"data": fields}
    return {"method": "POST", "url": settings.sms_url, "headers": headers, "auth": auth, **body}


def send_sms(settings: Settings, *, to: str, text: str, client: httpx.Client | None = None) -> None:
    """Send one SMS (blocking). Raises Refused for a refusal, httpx errors for the rest."""
    kwargs = request_for(settings, to=to, text=text)
    if kwargs.get("auth") is None:
        kwargs.pop("auth", None)
    if client is None:
        with httpx.Client(timeout=TIMEOUT) as own:
            response = own.request(**kwargs)
    else:
        response = client.request(**kwargs)
    if response.is_success:
        return
    reason = _reason(response)
    if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
        raise Refused(f"HTTP {response.status_code}: {reason}")
    raise httpx.HTTPStatusError(
        f"HTTP {response.status_code}: {reason}", request=response.request, response=response
    )


def _reason(response: httpx.Response) -> str:
    """The gateway's own words (Twilio: `message`), short, for the outbox's `last_error`."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        for key in ("message", "error", "detail"):
            if isinstance(body.get(key), str):
                return str(body[key])[:200]
    return str(body)[:200]
