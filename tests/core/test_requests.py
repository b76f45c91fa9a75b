"""The request domain, pure: status machine, SLA clock, input rules, service definitions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hakama.core.request_types import (
    AttributeValue,
    Datatype,
    Service,
    ServiceAttribute,
    effective_catalogue,
    parse_answers,
    service_from_dict,
    service_to_dict,
)
from hakama.core.requests import (
    MAX_DESCRIPTION,
    TRANSITIONS,
    BusinessHours,
    Contact,
    EventKind,
    RequestDraft,
    Status,
    TransitionError,
    check_feedback,
    check_reopen,
    check_transition,
    expected_datetime,
    is_overdue,
    new_request_id,
    normalise_request_id,
    open311_statuses,
    validate_contact,
    validate_draft,
)

CASA = ZoneInfo("Africa/Casablanca")


# Status machine ------------------------------------------------------------------------------


def test_open311_sees_only_open_and_closed() -> None:
    assert {s: s.open311 for s in Status} == {
        Status.OPEN: "open",
        Status.ACKNOWLEDGED: "open",
        Status.IN_PROGRESS: "open",
        Status.RESOLVED: "closed",
        Status.CLOSED: "closed",
    }
    assert open311_statuses("closed") == (Status.RESOLVED, Status.CLOSED)
    with pytest.raises(ValueError, match="open' or 'closed"):
        open311_statuses("pending")


@pytest.mark.parametrize("current", list(Status))
@pytest.mark.parametrize("target", list(Status))
def test_every_transition_is_either_allowed_or_refused_clearly(
    current: Status, target: Status
) -> None:
    if target in TRANSITIONS[current]:
        assert check_transition(current, target) == EventKind(target.value)
    else:
        with pytest.raises(TransitionError, match=f"{current.value} cannot become {target.value}"):
            check_transition(current, target)


def test_a_closed_request_only_reopens() -> None:
    assert TRANSITIONS[Status.CLOSED] == frozenset()
    check_reopen(Status.CLOSED)
    check_reopen(Status.RESOLVED)
    with pytest.raises(TransitionError, match="not resolved"):
        check_reopen(Status.IN_PROGRESS)


def test_feedback_only_on_a_resolved_request() -> None:
    check_feedback(Status.RESOLVED)
    for status in (Status.OPEN, Status.CLOSED, Status.ACKNOWLEDGED):
        with pytest.raises(TransitionError, match="only a resolved request"):
            check_feedback(status)


# SLA clock -----------------------------------------------------------------------------------


def test_expected_datetime_in_calendar_hours() -> None:
    at = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)
    assert expected_datetime(at, 48) == datetime(2026, 3, 8, 15, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        expected_datetime(datetime(2026, 3, 6), 1)
    with pytest.raises(ValueError, match="positive"):
        expected_datetime(at, 0)


def test_expected_datetime_in_business_hours_skips_the_weekend() -> None:
    hours = BusinessHours()
    # Friday 16:00 in Casablanca, 2 working hours: 30 minutes on Friday, 90 on Monday.
    friday = datetime(2026, 3, 6, 16, 0, tzinfo=CASA)
    due = expected_datetime(friday, 2, hours).astimezone(CASA)
    assert (due.date(), due.time()) == (date(2026, 3, 9), time(10, 0))
    # Filed on Saturday night: the clock starts Monday at opening time.
    saturday = datetime(2026, 3, 7, 23, 0, tzinfo=CASA)
    assert expected_datetime(saturday, 1, hours).astimezone(CASA) == datetime(
        2026, 3, 9, 9, 30, tzinfo=CASA
    )
    holiday = BusinessHours(holidays=frozenset({date(2026, 3, 9)}))
    assert expected_datetime(saturday, 1, holiday).astimezone(CASA).date() == date(2026, 3, 10)


@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ),
    st.floats(min_value=0.01, max_value=500),
    st.floats(min_value=0.01, max_value=500),
)
def test_business_clock_is_later_and_monotonic(at: datetime, a: float, b: float) -> None:
    hours = BusinessHours()
    low, high = sorted((a, b))
    due_low = expected_datetime(at, low, hours)
    assert due_low >= at + timedelta(hours=low)
    assert expected_datetime(at, high, hours) >= due_low


def test_overdue_only_while_active() -> None:
    due = datetime(2026, 1, 1, tzinfo=UTC)
    later = due + timedelta(seconds=1)
    assert is_overdue(Status.IN_PROGRESS, due, later)
    assert not is_overdue(Status.RESOLVED, due, later)
    assert not is_overdue(Status.OPEN, due, due)
    assert not is_overdue(Status.OPEN, None, later)


# Input rules ---------------------------------------------------------------------------------


def test_draft_rules() -> None:
    ok = RequestDraft(service_code="x", description="a" * MAX_DESCRIPTION, lat=35.0, lon=-2.0)
    assert validate_draft(ok) is ok
    cases = {
        "at most 4000": RequestDraft(service_code="x", description="a" * 4001, lat=1, lon=1),
        "together": RequestDraft(service_code="x", lat=35.0),
        "between -90 and 90": RequestDraft(service_code="x", lat=95, lon=1),
        "between -180 and 180": RequestDraft(service_code="x", lat=1, lon=-181),
        "location is required": RequestDraft(service_code="x"),
        "language": RequestDraft(service_code="x", address="rue 1", language="de"),
        "http": RequestDraft(service_code="x", address="rue 1", media_urls=("javascript:1",)),
    }
    for message, draft in cases.items():
        with pytest.raises(ValueError, match=message):
            validate_draft(draft)
    assert validate_draft(RequestDraft(service_code="x", address="Bd Mohammed V"))


def test_contact_rules() -> None:
    assert validate_contact(Contact(email="a@b.ma", phone="+212 6 00 00 00 00"))
    with pytest.raises(ValueError, match="email"):
        validate_contact(Contact(email="not-an-address"))
    with pytest.raises(ValueError, match="phone"):
        validate_contact(Contact(phone="call me"))


def test_tracking_numbers_read_back_as_typed() -> None:
    ids = {new_request_id() for _ in range(200)}
    assert len(ids) == 200
    some = sorted(ids)[0]
    assert normalise_request_id(some.lower().replace("-", " ")) == some
    assert normalise_request_id("o1il-0000") == "0111-0000"
    assert normalise_request_id("demo-0000001") == "demo-0000001"


# Service definitions and answers --------------------------------------------------------------

KIND = ServiceAttribute(
    code="kind",
    datatype=Datatype.SINGLEVALUELIST,
    descriptions={"fr": "Type"},
    required=True,
    values=(AttributeValue("off", {"fr": "Éteint"}), AttributeValue("blink", {"fr": "Clignote"})),
)
SERVICE = Service(
    code="lighting",
    area_code="P",
    category="public_lighting",
    names={"ar": "الإنارة", "fr": "Éclairage", "en": "Lighting"},
    attributes=(
        KIND,
        ServiceAttribute(code="pole", datatype=Datatype.STRING, descriptions={}),
        ServiceAttribute(code="count", datatype=Datatype.NUMBER, descriptions={}),
        ServiceAttribute(code="since", datatype=Datatype.DATETIME, descriptions={}),
        ServiceAttribute(code="notes", datatype=Datatype.TEXT, descriptions={}),
        ServiceAttribute(
            code="needs",
            datatype=Datatype.MULTIVALUELIST,
            descriptions={},
            values=tuple(AttributeValue(k, {"fr": k.upper()}) for k in "abc"),
        ),
    ),
)


def test_answers_of_every_datatype() -> None:
    answers = parse_answers(
        SERVICE,
        {
            "kind": "off",
            "pole": " P-12 ",
            "count": "3.5",
            "since": "2026-03-01T10:00:00+01:00",
            "notes": "long text",
            "needs": ["c", "a", "c"],
        },
    )
    assert answers == {
        "kind": "off",
        "pole": "P-12",
        "count": 3.5,
        "since": "2026-03-01T09:00:00+00:00",
        "notes": "long text",
        "needs": ["a", "c"],
    }


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "'kind' is required"),
        ({"kind": "   "}, "'kind' is required"),
        ({"kind": "broken"}, "not one of its values"),
        ({"kind": ["off", "blink"]}, "takes one value"),
        ({"kind": "off", "count": "three"}, "must be a number"),
        ({"kind": "off", "count": "nan"}, "finite"),
        ({"kind": "off", "since": "yesterday"}, "ISO 8601"),
        ({"kind": "off", "needs": ["a", "z"]}, "not one of its values"),
        ({"kind": "off", "pole": "x" * 201}, "longer than 200"),
        ({"kind": "off", "colour": "red"}, "not defined"),
    ],
)
def test_bad_answers_are_named(raw: dict[str, str | list[str]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_answers(SERVICE, raw)


def test_definitions_round_trip_and_are_checked() -> None:
    assert service_from_dict(service_to_dict(SERVICE)) == SERVICE
    bad = {**service_to_dict(SERVICE), "icon": "rocket"}
    with pytest.raises(ValueError, match="icon"):
        service_from_dict(bad)
    with pytest.raises(ValueError, match="lacks 'code'"):
        service_from_dict({"area_code": "P", "names": {"fr": "x"}})
    with pytest.raises(ValueError, match="needs values"):
        service_from_dict(
            {
                "code": "a",
                "area_code": "P",
                "names": {"fr": "x"},
                "attributes": [{"code": "k", "datatype": "singlevaluelist"}],
            }
        )
    with pytest.raises(ValueError, match="datatype"):
        service_from_dict(
            {
                "code": "a",
                "area_code": "P",
                "names": {"fr": "x"},
                "attributes": [{"code": "k", "datatype": "colour"}],
            }
        )


def test_nearest_definition_wins_and_can_disable() -> None:
    province = SERVICE
    commune = replace(SERVICE, area_code="C1", department="Ville")
    off = replace(SERVICE, area_code="C2", active=False)
    other = Service(code="noise", area_code="P", category="noise", names={"fr": "Bruit"})
    defs = [province, commune, off, other]
    assert [(s.code, s.area_code) for s in effective_catalogue(defs, ("C1", "P"))] == [
        ("noise", "P"),
        ("lighting", "C1"),
    ]
    assert [s.code for s in effective_catalogue(defs, ("C2", "P"))] == ["noise"]
    assert {s.area_code for s in effective_catalogue(defs, ("C3", "P"))} == {"P"}
    assert effective_catalogue(defs, ("X",)) == []
