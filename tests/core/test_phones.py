"""Phone numbers as Moroccans type them, normalised to E.164; notices' words per language."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hakama.core.notices import Notice, compose, recipients_told
from hakama.core.phones import is_mobile, to_e164
from hakama.core.requests import EventKind


@pytest.mark.parametrize(
    "typed",
    [
        "0612345678",
        "06 12 34 56 78",
        "06.12.34.56.78",
        "06-12-34-56-78",
        "+212612345678",
        "+212 6 12 34 56 78",
        "+212 (0)6 12 34 56 78",
        "+212 06 12 34 56 78",
        "00212612345678",
        "212612345678",
        "612345678",
        "٠٦١٢٣٤٥٦٧٨",  # Arabic-Indic digits from an Arabic keyboard
        "۰۶۱۲۳۴۵۶۷۸",
    ],
)
def test_moroccan_mobile_forms_become_e164(typed: str) -> None:
    assert to_e164(typed) == "+212612345678"


def test_other_forms() -> None:
    assert to_e164("07 00 11 22 33") == "+212700112233"
    assert to_e164("05 36 61 00 00") == "+212536610000"
    assert not is_mobile("+212536610000")  # a landline: no SMS
    assert is_mobile("+212700112233")
    assert to_e164("+33 6 12 34 56 78") == "+33612345678"
    assert to_e164("0612345678", "33") == "+33612345678"


@pytest.mark.parametrize(
    "typed", ["", "abc", "06 12 34", "+212 6 12 34 56 78 9", "+0612345678", "06123456789012345"]
)
def test_what_is_no_number_is_refused(typed: str) -> None:
    with pytest.raises(ValueError, match="phone number"):
        to_e164(typed)


@given(st.text(max_size=40))
def test_any_text_gives_e164_or_a_value_error(text: str) -> None:
    try:
        out = to_e164(text)
    except ValueError:
        return
    assert out.startswith("+") and out[1:].isdigit() and 8 <= len(out) - 1 <= 15


def test_who_is_told_what() -> None:
    told = recipients_told
    assert told(EventKind.CREATED, public=True, by_requester=True, role="requester")
    assert not told(EventKind.CREATED, public=True, by_requester=True, role="follower")
    assert not told(EventKind.ASSIGNED, public=False, by_requester=False, role="requester")
    assert not told(EventKind.COMMENTED, public=False, by_requester=False, role="requester")
    assert told(EventKind.COMMENTED, public=True, by_requester=False, role="follower")
    assert not told(EventKind.CONTESTED, public=False, by_requester=True, role="requester")
    assert told(EventKind.CONTESTED, public=False, by_requester=True, role="follower")
    assert told(EventKind.RESOLVED, public=True, by_requester=False, role="requester")


def test_an_sms_carries_a_short_note_the_mail_all_of_it() -> None:
    note = "x" * 1000
    message = compose(
        Notice(kind="resolved", request_id="K7F3-9Q2M", service="Éclairage public", note=note),
        language="fr",
        track_url="https://h.ma/track/K7F3-9Q2M",
        stop_url="https://h.ma/notices/t/stop",
    )
    assert note in message.text
    assert len(message.sms) < 600 and message.sms.count("x") == 279
    assert message.sms.endswith("https://h.ma/track/K7F3-9Q2M STOP : https://h.ma/notices/t/stop")
    # A language notices are not written in falls back to Arabic.
    arabic = compose(
        Notice(kind="closed", request_id="K7F3-9Q2M", service="الإنارة"),
        language="zgh",
        track_url="u",
        stop_url="s",
    )
    assert arabic.subject == "الطلب K7F3-9Q2M: مغلق"
