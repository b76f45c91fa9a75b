"""Numbers on pages, written the way each language's readers expect.

Arabic pages use Western digits, as Morocco's administration does (the `ar_MA` locale:
284.061); French pages the Moroccan French style (284 061); English the usual 284,061; Tamazight
(Tifinagh) pages 284 061, with Tifinagh month names.
"""

from __future__ import annotations

from babel import Locale
from babel.numbers import format_decimal, format_percent

NUMBER_LOCALES = {"ar": "ar_MA", "fr": "fr_MA", "en": "en", "zgh": "zgh"}


def number_locale(lang: str) -> str:
    return NUMBER_LOCALES.get(lang, "en")


def integer(value: int | float, lang: str) -> str:
    """A count with the language's digit grouping, e.g. 284.061 (ar), 284 061 (fr)."""
    return format_decimal(round(value), locale=number_locale(lang))


def change_percent(value: float, lang: str) -> str:
    """A signed change in percent with one decimal, e.g. -9,3 % (fr), +1.5% (en)."""
    locale = number_locale(lang)
    base = Locale.parse(locale).percent_formats[None].pattern  # "#,##0 %" or "#,##0%"
    pattern = base.replace("0", "0.0", 1).split(";")[0]
    return format_percent(value / 100, format=f"+{pattern};-{pattern}", locale=locale)
