"""Phone numbers as people type them, in E.164 (`+212612345678`), the form SMS gateways take.

A number is written in Latin or Arabic-Indic digits, with or without spaces, dots, dashes and brackets; in the national form
(`06 12 34 56 78`, a leading 0), with the country code (`212612345678`, `00212…`, `+212…`), or
`+212 (0)6…` with the trunk zero kept by habit. For Morocco (country code 212) the national
significant number has 9 digits; elsewhere the general E.164 bounds hold (at most 15 digits).
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s().\-/]")
#: Arabic-Indic and Eastern Arabic-Indic digits, as an Arabic phone keyboard types them.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
#: Digits of the national significant number, per country calling code we know the plan of.
NATIONAL_DIGITS = {"212": 9}
#: First digit of mobile numbers (the ones an SMS reaches), per country code.
MOBILE_PREFIXES = {"212": ("6", "7")}


def to_e164(text: str, country_code: str = "212") -> str:
    """The number `text` in E.164; raises ValueError if it is not a phone number."""
    raw = text.strip()
    cleaned = _SEPARATORS.sub("", raw.translate(_DIGITS).replace("(0)", ""))
    if cleaned.startswith("+"):
        digits = cleaned[1:]
    elif cleaned.startswith("00"):
        digits = cleaned[2:]
    elif cleaned.startswith("0"):
        digits = country_code + cleaned[1:]
    elif cleaned.startswith(country_code) and _fits(cleaned, country_code):
        digits = cleaned
    else:
        digits = country_code + cleaned
    if not digits.isdigit() or not digits.isascii():
        raise ValueError(f"{raw!r} is not a phone number")
    for code, length in NATIONAL_DIGITS.items():
        if digits.startswith(code):
            national = digits[len(code) :]
            if national.startswith("0"):  # +212 06…: the trunk zero typed after the code
                national = national[1:]
            if len(national) != length:
                raise ValueError(
                    f"{raw!r} is not a phone number of +{code}: it needs {length} digits "
                    "after the country code (e.g. 06 12 34 56 78)"
                )
            return f"+{code}{national}"
    if not 8 <= len(digits) <= 15 or digits.startswith("0"):
        raise ValueError(f"{raw!r} is not a phone number")
    return f"+{digits}"


def _fits(cleaned: str, country_code: str) -> bool:
    length = NATIONAL_DIGITS.get(country_code)
    return length is None or len(cleaned) == len(country_code) + length


def is_mobile(e164: str) -> bool:
    """Whether an E.164 number can receive SMS, where the numbering plan says (else: assume so)."""
    for code, prefixes in MOBILE_PREFIXES.items():
        if e164.startswith("+" + code):
            return e164[1 + len(code) :].startswith(prefixes)
    return True
