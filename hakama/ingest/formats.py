"""Device payload formats, parsed without I/O: IoT-Agent-JSON measures and NGSI-LD fragments.

A parser takes the raw bytes of one message and returns `Reading`s (what was measured, when)
or raises `PayloadError` with a reason people can act on. Formats:

- **IoT-Agent-JSON** (FIWARE IoT Agent JSON style): a JSON object of measures,
  `{"pm25": 31.5, "no2": 12, "t": "2026-03-01T10:00:00Z"}`, or a JSON array of such objects
  (several readings in one message). The time comes from `t` or `TimeInstant`; without one,
  the reading takes the time it was received.
- **single attribute** (topic `…/attrs/<name>`): the payload is the bare value, `31.5`, or a
  JSON value.
- **NGSI-LD fragment**: a JSON object whose members are NGSI-LD attributes,
  `{"pm25": {"type": "Property", "value": 31.5, "observedAt": "…", "unitCode": "GQ"}}`;
  recognised because every member other than `@context` is an object with `type` or `value`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

#: Largest payload accepted (bytes); devices send a few hundred.
MAX_PAYLOAD = 64 * 1024
#: Members that carry the reading's time rather than a measure.
TIME_KEYS = ("t", "TimeInstant")
#: Attribute names a device may use (NGSI-LD short names; no spaces, no control characters).
ATTRIBUTE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:\-]{0,127}")


class PayloadError(ValueError):
    """A message that cannot be read; `reason` is a short code for counters, `str()` the detail."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class Reading:
    """Values measured together at one instant (None: the time the message was received).

    `values` maps a device's measure name to a JSON value; `attributes` holds NGSI-LD
    attributes given whole (from a fragment), with their own `observedAt`/`unitCode`.
    """

    time: datetime | None
    values: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The `observedAt` of fragment attributes that carry one, parsed.
    times: dict[str, datetime] = field(default_factory=dict)


def parse_time(text: Any) -> datetime:
    """An ISO-8601 instant with an offset (or `Z`) as an aware UTC datetime."""
    if not isinstance(text, str) or not text:
        raise PayloadError("bad_time", f"time must be an ISO-8601 string, got {text!r}")
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise PayloadError("bad_time", f"time {text!r} is not ISO-8601") from None
    if parsed.tzinfo is None:
        raise PayloadError("bad_time", f"time {text!r} has no offset (add Z or +01:00)")
    return parsed.astimezone(UTC)


def _load(payload: bytes) -> Any:
    if len(payload) > MAX_PAYLOAD:
        raise PayloadError("too_large", f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("not_utf8", "payload is not UTF-8") from None
    try:
        return _DECODER.decode(text)
    except PayloadError:
        raise
    except ValueError as exc:
        raise PayloadError("not_json", f"payload is not JSON: {exc}") from None


def _refuse_constant(name: str) -> Any:
    raise PayloadError("bad_value", f"{name} is not a number hakama stores")


#: One decoder for every message (building one per call costs more than parsing a reading).
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def _check_value(name: str, value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise PayloadError("bad_value", f"{name}: not a finite number")
    if value is None:
        raise PayloadError("bad_value", f"{name}: null is not a measure")
    return value


def _check_name(name: str) -> str:
    if not ATTRIBUTE_NAME.fullmatch(name):
        raise PayloadError("bad_name", f"{name!r} is not a valid attribute name")
    return name


def is_fragment(document: Any) -> bool:
    """Does this JSON object look like an NGSI-LD fragment (every attribute an object)?"""
    if not isinstance(document, dict):
        return False
    members = [v for k, v in document.items() if k != "@context"]
    return bool(members) and all(
        isinstance(v, dict) and ("type" in v or "value" in v) for v in members
    )


def parse_measures(payload: bytes) -> list[Reading]:
    """Readings from an IoT-Agent-JSON message or an NGSI-LD fragment (auto-detected)."""
    document = _load(payload)
    if is_fragment(document):
        return [_fragment(document)]
    items = document if isinstance(document, list) else [document]
    if not items:
        raise PayloadError("empty", "the array holds no measures")
    readings: list[Reading] = []
    for item in items:
        if not isinstance(item, dict):
            raise PayloadError("not_object", "measures must be a JSON object or an array of them")
        time: datetime | None = None
        values: dict[str, Any] = {}
        for key, value in item.items():
            if key in TIME_KEYS:
                time = parse_time(value)
            else:
                values[_check_name(key)] = _check_value(key, value)
        if not values:
            raise PayloadError("empty", "no measure in the message")
        readings.append(Reading(time=time, values=values))
    return readings


def parse_single(name: str, payload: bytes) -> list[Reading]:
    """The reading of a `…/attrs/<name>` message: a bare number, string or JSON value."""
    _check_name(name)
    try:
        value = _load(payload)
    except PayloadError as exc:
        if exc.reason != "not_json":
            raise
        value = payload.decode("utf-8").strip()  # a bare word, e.g. `on`
        if not value:
            raise PayloadError("empty", "empty payload") from None
    return [Reading(time=None, values={name: _check_value(name, value)})]


def _fragment(document: dict[str, Any]) -> Reading:
    attributes: dict[str, dict[str, Any]] = {}
    times: dict[str, datetime] = {}
    for key, attribute in document.items():
        if key == "@context":
            continue
        _check_name(key)
        if attribute.get("type", "Property") == "Property":
            if "value" not in attribute:
                raise PayloadError("bad_fragment", f"{key}: a Property needs a value")
            _check_value(key, attribute["value"])
        if "observedAt" in attribute:
            times[key] = parse_time(attribute["observedAt"])
        attributes[key] = dict(attribute)
    return Reading(time=None, attributes=attributes, times=times)


@dataclass(frozen=True)
class AttributeMap:
    """How a device's measure becomes an NGSI-LD attribute: its name and UN/CEFACT unit."""

    name: str
    unit: str | None = None


@dataclass(frozen=True)
class Measure:
    """One attribute instance a device reports: its NGSI-LD name, its instant (already
    parsed), and the instance (`type`, `value` or `object`, `observedAt`, `unitCode`…)."""

    attribute: str
    time: datetime
    instance: dict[str, Any]


def to_measures(
    readings: list[Reading], mapping: dict[str, AttributeMap], *, received: datetime
) -> list[Measure]:
    """The attribute instances of readings under a device's mapping, each with its instant.

    Measures the mapping does not name pass through under their own name (as FIWARE IoT Agents
    do). Every instance carries `observedAt` (the reading's time, else `received`; a
    fragment's own `observedAt` wins).
    """
    out: list[Measure] = []
    for reading in readings:
        time = (reading.time or received).astimezone(UTC)
        at = time.isoformat().replace("+00:00", "Z")
        for key, value in reading.values.items():
            target = mapping.get(key) or AttributeMap(key)
            prop: dict[str, Any] = {"type": "Property", "value": value, "observedAt": at}
            if target.unit:
                prop["unitCode"] = target.unit
            out.append(Measure(target.name, time, prop))
        for key, attribute in reading.attributes.items():
            target = mapping.get(key) or AttributeMap(key)
            prop = dict(attribute)
            own = reading.times.get(key)
            prop.setdefault("observedAt", at)
            if target.unit:
                prop.setdefault("unitCode", target.unit)
            out.append(Measure(target.name, own or time, prop))
    return out
