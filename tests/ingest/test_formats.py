"""Device payload parsers: what they accept, and that nothing else gets through (hypothesis)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hakama.ingest.formats import (
    AttributeMap,
    PayloadError,
    Reading,
    is_fragment,
    parse_measures,
    parse_single,
    to_measures,
)

RECEIVED = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def test_iot_agent_json_measures_with_their_time() -> None:
    [reading] = parse_measures(b'{"pm25": 31.5, "no2": 12, "t": "2026-03-01T09:45:00+01:00"}')
    assert reading.time == datetime(2026, 3, 1, 8, 45, tzinfo=UTC)
    assert reading.values == {"pm25": 31.5, "no2": 12}


def test_an_array_is_several_readings_and_time_instant_is_understood() -> None:
    readings = parse_measures(
        b'[{"pm25": 1, "TimeInstant": "2026-03-01T08:00:00Z"}, {"pm25": 2}]'
    )
    assert [r.values["pm25"] for r in readings] == [1, 2]
    assert readings[0].time == datetime(2026, 3, 1, 8, tzinfo=UTC) and readings[1].time is None


def test_an_ngsi_ld_fragment_is_recognised() -> None:
    body = {
        "@context": "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld",
        "pm25": {"type": "Property", "value": 31.5, "observedAt": "2026-03-01T08:00:00Z"},
        "status": {"value": "ok"},
    }
    [reading] = parse_measures(json.dumps(body).encode())
    assert set(reading.attributes) == {"pm25", "status"} and reading.values == {}


def test_single_attribute_topics_take_bare_values() -> None:
    assert parse_single("pm25", b"31.5")[0].values == {"pm25": 31.5}
    assert parse_single("state", b"on")[0].values == {"state": "on"}
    with pytest.raises(PayloadError) as err:
        parse_single("pm25", b"  ")
    assert err.value.reason == "empty"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json{", "not_json"),
        (b"\xff\xfe", "not_utf8"),
        (b"[]", "empty"),
        (b"{}", "empty"),
        (b"42", "not_object"),
        (b'{"t": "2026-03-01T08:00:00Z"}', "empty"),
        (b'{"pm25": 1, "t": "2026-03-01T08:00:00"}', "bad_time"),
        (b'{"pm25": 1, "t": "yesterday"}', "bad_time"),
        (b'{"pm25": NaN}', "bad_value"),
        (b'{"pm25": null}', "bad_value"),
        (b'{"bad name": 1}', "bad_name"),
        (b'{"pm25": {"type": "Property"}}', "bad_fragment"),
        (b'{"pm25": 1}' + b" " * 70_000, "too_large"),
    ],
)
def test_malformed_payloads_say_why(payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as err:
        parse_measures(payload)
    assert err.value.reason == reason
    assert str(err.value)


@given(st.binary(max_size=300))
def test_any_bytes_parse_or_fail_with_a_reason(payload: bytes) -> None:
    try:
        readings = parse_measures(payload)
    except PayloadError as exc:
        assert exc.reason
    else:
        assert readings and all(r.values or r.attributes for r in readings)


@given(
    st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True).filter(lambda k: k != "t"),
        st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**6), 10**6) | st.text(max_size=10),
        min_size=1,
        max_size=5,
    )
)
def test_valid_measures_round_trip(values: dict[str, object]) -> None:
    [reading] = parse_measures(json.dumps(values).encode())
    assert reading.values == values


def test_to_measures_applies_the_mapping_and_the_time() -> None:
    readings = [
        Reading(time=None, values={"p": 31.5, "extra": "x"}),
        Reading(time=datetime(2026, 3, 1, 9, tzinfo=UTC), values={"p": 30.0}),
        *parse_measures(
            b'{"p": {"type": "Property", "value": 2, "observedAt": "2026-03-01T08:00:00+01:00"}}'
        ),
    ]
    measures = to_measures(readings, {"p": AttributeMap("pm25", "GQ")}, received=RECEIVED)
    assert [(m.attribute, m.time, m.instance) for m in measures] == [
        ("pm25", RECEIVED, {"type": "Property", "value": 31.5, "observedAt": "2026-03-01T10:00:00Z", "unitCode": "GQ"}),
        ("extra", RECEIVED, {"type": "Property", "value": "x", "observedAt": "2026-03-01T10:00:00Z"}),
        ("pm25", datetime(2026, 3, 1, 9, tzinfo=UTC),
         {"type": "Property", "value": 30.0, "observedAt": "2026-03-01T09:00:00Z", "unitCode": "GQ"}),
        # a fragment's own time, parsed once by the parser, is the measure's instant
        ("pm25", datetime(2026, 3, 1, 7, tzinfo=UTC),
         {"type": "Property", "value": 2, "observedAt": "2026-03-01T08:00:00+01:00", "unitCode": "GQ"}),
    ]  # fmt: skip
    assert not is_fragment({"p": 1}) and not is_fragment({})


def test_mqtt_url_options() -> None:
    from hakama.jobs.mqtt import MqttConfig

    cfg = MqttConfig.from_url(
        "mqtts://dev%40x:p%3Ass@broker.example:8884?client_id=h1&group=g&protocol=4&batch=10",
        default_client_id="d",
    )
    assert (cfg.host, cfg.port, cfg.tls, cfg.username, cfg.password) == ("broker.example", 8884, True, "dev@x", "p:ss")
    assert (cfg.client_id, cfg.group, cfg.protocol, cfg.batch) == ("h1", "g", 4, 10)
    assert cfg.subscriptions == ["$share/g/hakama/+/+/attrs", "$share/g/hakama/+/+/attrs/+"]
    assert MqttConfig.from_url("mqtt://h", default_client_id="d").port == 1883
    for bad in ("http://h", "mqtt://h?qos=2"):
        with pytest.raises(ValueError):
            MqttConfig.from_url(bad, default_client_id="d")
