"""Hangul in Latin letters, as the Revised Romanization writes the names on road signs."""

from __future__ import annotations

import pytest

from dongne.domain.romanization import romanize


@pytest.mark.parametrize(
    ("hangul", "latin"),
    [
        ("서울", "Seoul"),
        ("부산", "Busan"),
        ("시흥", "Siheung"),
        ("여의도", "Yeouido"),
        ("김치찌개", "Gimchijjigae"),
        ("행복빵집", "Haengbokppangjip"),
        ("한국어", "Hangugeo"),
        ("닭이", "Dalgi"),
        ("좋아", "Joa"),
        ("신라", "Silla"),
        ("설날", "Seollal"),
        ("종로", "Jongno"),
        ("독립문", "Dongnimmun"),
        ("왕십리", "Wangsimni"),
        ("국물", "Gungmul"),
        ("백마", "Baengma"),
        ("라면", "Ramyeon"),
    ],
)
def test_a_word_is_written_as_the_revised_romanization_writes_it(hangul: str, latin: str) -> None:
    assert romanize(hangul) == latin


def test_each_word_is_capitalised_and_what_is_not_hangul_is_kept() -> None:
    assert romanize("가나시 가게0") == "Ganasi Gage0"
    assert romanize("동네 Bakery 2호점") == "Dongne Bakery 2hojeom"
    assert romanize("  ") == ""
