"""Languages of the pages: Korean by default, English by a switch.

Each language is one gettext catalog, ``locales/<language>.po``, read with Babel when this
module is imported: no compiled ``.mo`` to build or keep in step, so a fresh clone serves
pages as it is. A message id is the English text; ``tests/unit/test_web_catalogs.py`` checks
that every id the pages use is translated in both catalogs. Amounts are won as Babel formats
them (``₩12,300``) and times are Seoul's, whatever the server's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from babel.dates import format_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_currency

from dongne.domain.calendar import SEOUL

LANGUAGES = ("ko", "en")
DEFAULT_LANGUAGE = "ko"
LOCALES = {"ko": "ko_KR", "en": "en_US"}
CATALOG_DIRECTORY = Path(__file__).parent / "locales"


def read_catalog(language: str) -> dict[str, str]:
    """Message id to translation, for the translated messages of ``language``'s catalog."""
    with (CATALOG_DIRECTORY / f"{language}.po").open("rb") as po_file:
        catalog = read_po(po_file, locale=LOCALES[language])
    return {
        str(message.id): str(message.string)
        for message in catalog
        if message.id and isinstance(message.string, str) and message.string
    }


CATALOGS = {language: read_catalog(language) for language in LANGUAGES}


@dataclass(frozen=True)
class Speaker:
    """The page's language: its words, its amounts and its times."""

    language: str

    def gettext(self, message_id: str, **values: Any) -> str:
        """The translation (the id itself if a catalog lacks it, which the catalog test
        forbids), with ``%(name)s`` placeholders filled in from ``values``."""
        text = CATALOGS[self.language].get(message_id, message_id)
        return text % values if values else text

    def knows(self, message_id: str) -> bool:
        return message_id in CATALOGS[self.language]

    def won(self, amount_won: int) -> str:
        return format_currency(amount_won, "KRW", locale=LOCALES[self.language])

    def percent(self, basis_points: int) -> str:
        """``6000`` basis points as ``60%``, ``1250`` as ``12.5%``."""
        return f"{basis_points / 100:g}%"

    def when(self, moment: datetime) -> str:
        return format_datetime(
            moment, "yyyy-MM-dd HH:mm", tzinfo=SEOUL, locale=LOCALES[self.language]
        )

    def day(self, moment: datetime) -> str:
        return format_datetime(moment, "yyyy-MM-dd", tzinfo=SEOUL, locale=LOCALES[self.language])

    def clock(self, moment: datetime) -> str:
        """The time of day alone, for lists of one day whose date is said once above them."""
        return format_datetime(moment, "HH:mm:ss", tzinfo=SEOUL, locale=LOCALES[self.language])


def speaker_for(language: str | None) -> Speaker:
    return Speaker(language if language in LANGUAGES else DEFAULT_LANGUAGE)
