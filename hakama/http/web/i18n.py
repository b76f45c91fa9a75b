"""Babel message catalogs (`locales/<lang>/LC_MESSAGES/messages.po`), read at start-up.

The .po files are the source; they are parsed with Babel directly so no compile step is needed
between editing a translation and seeing it. A message Tamazight (`zgh`) has no words for yet is
shown in Arabic, the language its readers are offered beside it.
"""

from __future__ import annotations

import gettext
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES = Path(__file__).parent / "locales"
#: The catalogue a language's missing messages are taken from.
FALLBACK = {"zgh": "ar"}


@lru_cache(maxsize=8)
def translations(lang: str) -> gettext.NullTranslations:
    po = LOCALES / lang / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    found = gettext.GNUTranslations(buffer)
    if lang in FALLBACK:
        found.add_fallback(translations(FALLBACK[lang]))
    return found
