"""Open311 GeoReport v2 on the wire, pure: the POST form parser and the JSON/XML writers.

The form parser takes the raw (name, value) pairs of a form-encoded body so that repeated
fields (`media_url`, `attribute[code][]`) are kept; it never raises anything but `FormError`,
whatever the input (tested with hypothesis).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET

from fastapi.responses import Response

from hakama.core.requests import Contact, RequestDraft

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
ATTRIBUTE_FIELD = re.compile(r"attribute\[([^\[\]]{1,64})\](\[\])?")
MAX_FIELDS = 200
MAX_VALUE = 20_000  # a description over 4000 characters gets its own clear message later
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "account_id", "device_id")
KNOWN_FIELDS = frozenset(
    {
        "api_key",
        "jurisdiction_id",
        "service_code",
        "lat",
        "long",
        "address_string",
        "address_id",
        "description",
        "media_url",
        "lang",
        "locale",
        "channel",
        "idempotency_key",
        *CONTACT_FIELDS,
    }
)


class FormError(ValueError):
    """The form breaks the spec: the message says which field and why."""


@dataclass(frozen=True)
class ParsedPost:
    """A POST requests form, split into the draft, the contact details and the key."""

    draft: RequestDraft
    contact: Contact
    api_key: str | None
    ignored: tuple[str, ...] = field(default_factory=tuple)
    idempotency_key: str | None = None


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FormError(f"{name} must be a decimal number, not {text[:40]!r}") from None
    if not math.isfinite(value):
        raise FormError(f"{name} must be a finite number")
    return value


def parse_post(pairs: Iterable[tuple[str, str]], *, default_language: str = "fr") -> ParsedPost:
    """Parse the fields of `POST requests` (form-encoded, repeated fields allowed)."""
    single: dict[str, str] = {}
    media: list[str] = []
    attributes: dict[str, list[str]] = {}
    ignored: list[str] = []
    for count, (name, value) in enumerate(pairs, start=1):
        if count > MAX_FIELDS:
            raise FormError(f"too many fields (at most {MAX_FIELDS})")
        if not isinstance(name, str) or not isinstance(value, str):
            raise FormError("every field must be text")
        if len(value) > MAX_VALUE:
            raise FormError(f"{name[:64]} is too long")
        if "\x00" in value:
            raise FormError(f"{name[:64]} contains a NUL character")
        match = ATTRIBUTE_FIELD.fullmatch(name)
        if match:
            attributes.setdefault(match.group(1), []).append(value)
        elif name == "media_url":
            if value.strip():
                media.append(value.strip())
        elif name in KNOWN_FIELDS:
            if name in single and single[name] != value:
                raise FormError(f"{name} is given twice with different values")
            single[name] = value
        else:
            ignored.append(name[:64])
    service_code = single.get("service_code", "").strip()
    if not service_code:
        raise FormError("service_code is required")
    lat_text = single.get("lat", "").strip()
    lon_text = single.get("long", "").strip()
    lat = _number("lat", lat_text) if lat_text else None
    lon = _number("long", lon_text) if lon_text else None
    language = (single.get("lang") or single.get("locale") or default_language).strip()[:2].lower()
    channel = single.get("channel", "app").strip() or "app"
    if channel not in ("web", "app", "phone", "counter"):
        raise FormError("channel must be web, app, phone or counter")
    draft = RequestDraft(
        service_code=service_code,
        description=single.get("description", ""),
        lat=lat,
        lon=lon,
        address=single.get("address_string", ""),
        address_id=single.get("address_id", ""),
        jurisdiction_id=single.get("jurisdiction_id", "").strip() or None,
        attributes={k: tuple(v) if len(v) > 1 else v[0] for k, v in attributes.items()},
        media_urls=tuple(media),
        language=language,
        channel=channel,
    )
    contact = Contact(**{name: single.get(name, "").strip() for name in CONTACT_FIELDS})
    api_key = single.get("api_key", "").strip() or None
    return ParsedPost(
        draft=draft,
        contact=contact,
        api_key=api_key,
        ignored=tuple(ignored),
        idempotency_key=single.get("idempotency_key", "").strip() or None,
    )


# Writers --------------------------------------------------------------------------------------


# Characters XML 1.0 cannot carry at all (escaping does not help): dropped from XML output.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _append(parent: ET.Element, name: str, value: Any) -> None:
    """Write `value` under `parent` as element `name`; lists repeat a singular child."""
    node = ET.SubElement(parent, name)
    if isinstance(value, Mapping):
        for key, item in value.items():
            _append(node, str(key), item)
    elif isinstance(value, list | tuple):
        child = _SINGULAR.get(name, "item")
        for item in value:
            _append(node, child, item)
    else:
        node.text = _text(value)


_SINGULAR = {
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "media_urls": "media_url",
    "updates": "update",
    "errors": "error",
    "service_requests": "request",
    "services": "service",
}


def to_xml(
    root: str, rows: Sequence[Mapping[str, Any]] | Mapping[str, Any], row: str = ""
) -> bytes:
    """An XML document: `<root>` holding one `<row>` per mapping, or the mapping's fields."""
    top = ET.Element(root)
    if isinstance(rows, Mapping):
        for key, value in rows.items():
            _append(top, key, value)
    else:
        for item in rows:
            _append(top, row, dict(item))
    body: bytes = ET.tostring(top, encoding="UTF-8", xml_declaration=True)
    return body


def respond(
    fmt: str,
    body: Sequence[Mapping[str, Any]] | Mapping[str, Any],
    *,
    root: str,
    row: str = "",
    status: int = 200,
) -> Response:
    """The same body as JSON or XML (`root`/`row` name the XML elements)."""
    if fmt == "xml":
        return Response(to_xml(root, body, row), status_code=status, media_type=FORMATS["xml"])
    import json

    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(payload.encode(), status_code=status, media_type=FORMATS["json"])


def error_response(fmt: str, status: int, description: str) -> Response:
    """Open311 errors: `[{"code": 400, "description": "…"}]`, or `<errors><error>…` in XML."""
    body = [{"code": status, "description": description}]
    return respond(
        fmt if fmt in FORMATS else "json", body, root="errors", row="error", status=status
    )
