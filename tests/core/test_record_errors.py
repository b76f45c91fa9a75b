"""Rejected-row reasons: a stable code for each, and a translation in every catalog."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from hakama.core.record_errors import CODES, REASONS, explain
from hakama.http.web import i18n

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_every_reason_is_translated_with_its_placeholders(lang: str) -> None:
    with (i18n.LOCALES / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    for reason in REASONS:
        message = catalog.get(reason.message)
        assert message is not None and message.string, (lang, reason.message)
        assert set(PLACEHOLDER.findall(str(message.string))) == set(
            PLACEHOLDER.findall(reason.message)
        ), (lang, reason.message)


@pytest.mark.parametrize(
    ("reason", "code", "params"),
    [
        ("required, empty", "required", {}),
        ("longer than 40 characters", "too_long", {"n": "40"}),
        ("unknown code (allowed: counter, online)", "unknown_code", {"allowed": "counter, online"}),
        ("same file_number as line 2", "duplicate_key", {"key": "file_number", "line": "2"}),
        ("file_number repeated further down", "duplicate_key", {"key": "file_number"}),
        ("3 cells where the header has 7", "cell_count", {"cells": "3", "width": "7"}),
        ("something new", "other", {}),
    ],
)
def test_a_reason_reads_back_as_code_and_parameters(
    reason: str, code: str, params: dict[str, str]
) -> None:
    explained = explain(reason)
    assert (explained.code, explained.params) == (code, params)
    assert code in CODES
    if code != "other":  # the English message is the reason itself
        assert explained.message % explained.params == reason
