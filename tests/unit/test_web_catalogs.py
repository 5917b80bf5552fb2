"""The pages' catalogs: every message the pages use is in Korean and in English.

The ids are found the way a translator's tools find them: Babel extracts the ``_()`` calls of
the templates, and the Python of the pages names its ids as ``"error:<CODE>…"`` strings. The
history's ``kind:<kind>`` ids come from the ledger's transaction kinds, so a new kind cannot
show up untranslated.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file

from dongne.domain.ledger import TransactionKind
from dongne.entrypoints.web import i18n

WEB = Path(i18n.__file__).parent
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def ids_in_templates() -> set[str]:
    return {
        message[1]
        for template in (WEB / "templates").glob("*.html")
        for message in extract_from_file("jinja2.ext:babel_extract", template)
        if isinstance(message[1], str)
    }


def ids_in_python() -> set[str]:
    return {
        found
        for module in WEB.glob("*.py")
        for found in re.findall(r'"(error:[A-Z_]+(?::\w+)?)"', module.read_text())
    }


def test_both_catalogs_hold_the_same_messages() -> None:
    assert set(i18n.CATALOGS["ko"]) == set(i18n.CATALOGS["en"])


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_message_the_pages_use_is_translated(language: str) -> None:
    used = ids_in_templates() | ids_in_python()
    used |= {f"kind:{kind.value}" for kind in TransactionKind}
    assert {"Balance", "error:FORM_EXPIRED", "kind:purchase"} <= used  # the finders find
    assert used - set(i18n.CATALOGS[language]) == set()


def test_translations_keep_their_placeholders() -> None:
    for message_id, korean in i18n.CATALOGS["ko"].items():
        english = i18n.CATALOGS["en"][message_id]
        assert set(PLACEHOLDER.findall(korean)) == set(PLACEHOLDER.findall(english)), message_id


def test_korean_is_the_default_and_unknown_languages_fall_back_to_it() -> None:
    assert i18n.speaker_for(None).gettext("Balance") == "잔액"
    assert i18n.speaker_for("fr").gettext("Balance") == "잔액"
    assert i18n.speaker_for("en").gettext("Balance") == "Balance"


def test_amounts_are_won_and_times_are_seoul_time() -> None:
    for language in i18n.LANGUAGES:
        speaker = i18n.speaker_for(language)
        assert speaker.won(12_300) == "₩12,300"
        assert speaker.when(datetime(2026, 11, 26, 15, 30, tzinfo=UTC)) == "2026-11-27 00:30"


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_each_message_is_in_a_catalog_once_with_its_own_translation(language: str) -> None:
    """A merge that joins two branches' additions may repeat an id or pair one id with
    another's words; gettext would then silently pick one of them."""
    lines = (i18n.CATALOG_DIRECTORY / f"{language}.po").read_text().splitlines()
    ids = [line for line in lines if line.startswith("msgid ")]
    repeated = sorted({found for found in ids if ids.count(found) > 1})
    assert repeated == []
    for number, line in enumerate(lines):
        if line.startswith("msgid ") and line != 'msgid ""':
            assert lines[number + 1].startswith("msgstr "), f"line {number + 1}: {line}"
