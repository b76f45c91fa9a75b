"""The translation catalogs: well formed, and every text the templates show is translated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from hakama.http.web import i18n
from hakama.http.web.render import TEMPLATES

TRANSLATED = ("ar", "fr")
JINJA_OPTIONS = {
    "extensions": "jinja2.ext.i18n",
    "newstyle_gettext": "true",
    "trim_blocks": "true",
    "lstrip_blocks": "true",
}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
AR_PLURALS = (
    "nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : "
    "n%100>=11 ? 4 : 5);"
)


def _catalog(lang: str) -> Catalog:
    with (i18n.LOCALES / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=lang)


def _template_msgids(template: Path) -> list[str | tuple[str, str]]:
    found: list[str | tuple[str, str]] = []
    for _line, message, _comments, _context in extract_from_file(
        "jinja2.ext.babel_extract", str(template), options=JINJA_OPTIONS
    ):
        msgid = message if isinstance(message, str) else (message[0], message[1])
        if msgid and msgid not in found:
            found.append(msgid)
    return found


def test_catalogs_have_proper_headers() -> None:
    for lang in ("ar", "fr", "en", "zgh"):
        catalog = _catalog(lang)
        assert str(catalog.locale) == lang
        assert catalog.charset == "utf-8"
    header = (i18n.LOCALES / "ar" / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    assert f'"Plural-Forms: {AR_PLURALS}\\n"' in header
    assert _catalog("ar").num_plurals == 6


def test_catalog_entries_are_unique() -> None:
    for lang in ("ar", "fr", "en", "zgh"):
        text = (i18n.LOCALES / lang / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
        ids = re.findall(r'^msgid "(.*)"$', text, re.M)
        duplicates = {i for i in ids if ids.count(i) > 1 and i}
        assert not duplicates, f"{lang}: msgids listed twice: {sorted(duplicates)}"


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: p.name)
@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_template_text_is_translated(template: Path, lang: str) -> None:
    catalog = _catalog(lang)
    missing = []
    for msgid in _template_msgids(template):
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        message = catalog.get(key)
        strings = message.string if message else None
        if isinstance(strings, tuple | list):
            ok = all(strings) and len(strings) == catalog.num_plurals
        else:
            ok = bool(strings)
        if not ok:
            missing.append(key)
    assert not missing, f"{template.name} [{lang}] untranslated: {missing}"


@pytest.mark.parametrize("lang", ("ar", "fr", "en", "zgh"))
def test_translations_keep_only_the_placeholders_of_their_msgid(lang: str) -> None:
    for message in _catalog(lang):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        allowed = {name for msgid in ids for name in PLACEHOLDER.findall(msgid)}
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        for string in strings:
            extra = set(PLACEHOLDER.findall(string or "")) - allowed
            assert not extra, f"{lang}: {ids[0]!r} translation uses unknown {extra}"


def test_arabic_plural_forms_follow_the_count() -> None:
    translations = i18n.translations("ar")
    forms = {
        n: translations.ngettext("%(num)d commune", "%(num)d communes", n)
        for n in (1, 2, 5, 16, 100)
    }
    assert forms[1] == "جماعة واحدة"
    assert forms[2] == "جماعتان"
    assert forms[5] % {"num": 5} == "5 جماعات"
    assert forms[16] % {"num": 16} == "16 جماعة"
    assert forms[100] % {"num": 100} == "100 جماعة"
