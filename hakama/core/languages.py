"""Which language a text is taken from when it is not written in the one asked.

Names (of communes, services, datasets, the territory) are language maps. A page in Tamazight
(`zgh`, Tifinagh) shows what has no Tamazight name in Arabic, the language its readers are
offered beside it, never in French; every other language falls back to French, English, then
Arabic, the order the catalogues are most complete in.
"""

from __future__ import annotations

from collections.abc import Mapping


def fallbacks(language: str) -> tuple[str, ...]:
    """The languages to look in, in order, for a text wanted in `language`."""
    if language == "zgh":
        return ("zgh", "ar", "fr", "en")
    return (language, "fr", "en", "ar")


def pick(texts: Mapping[str, str], language: str) -> str:
    """The text of `texts` in `language`, else in its fallbacks, else any; "" when empty."""
    for code in fallbacks(language):
        if texts.get(code):
            return texts[code]
    return next(iter(texts.values()), "")
