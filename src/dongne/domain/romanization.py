"""Hangul in Latin letters, by the Revised Romanization of Korean (국어의 로마자 표기법, 2000).

A merchant's QR must name it in tag 59 in the EMV common character set (printable ASCII), so a
merchant registered only by its Korean name, and without a Latin name of its own, is shown
romanized there: 행복빵집 is "Haengbokppangjip", as a road sign would write it.

Each precomposed syllable (U+AC00-U+D7A3) splits into its initial, vowel and final jamo. The
rules that change how a jamo is written by its neighbour are the ones a reader notices most:

- a final before a syllable starting with the silent ㅇ moves over (한국어: hangugeo);
- ㄹ after ㄴ or ㄹ, and ㄴ after ㄹ, is "ll" (신라: Silla, 설날: Seollal); ㄹ after another
  consonant is "n" (종로: Jongno);
- a final k, t or p before ㄴ or ㅁ is nasalised (국물: gungmul, 밥물: bammul).

Less common assimilations (ㅎ aspiration, palatalisation) are left out: the result is still
the name a Korean reads back, and the Korean itself is kept beside it (QR tag 64).
"""

from __future__ import annotations

_FIRST_SYLLABLE = 0xAC00
_LAST_SYLLABLE = 0xD7A3
_VOWELS_COUNT = 21
_FINALS_COUNT = 28


def _letters(table: str) -> tuple[str, ...]:
    """A jamo table in Unicode's order, "-" standing for the letterless ones."""
    return tuple("" if letters == "-" else letters for letters in table.split())


_INITIALS = _letters("g kk n d tt r m b pp s ss - j jj ch k t p h")
_VOWELS = _letters("a ae ya yae eo e yeo ye o wa wae oe yo u wo we wi yu eu ui i")
_FINALS = _letters("- k k k n n n t l k m l l l p l m p p t t ng t t k t p t")
_FINAL_MOVING_OVER = {1: "g", 2: "kk", 4: "n", 7: "d", 8: "r", 16: "m", 17: "b", 19: "s"}
_FINAL_MOVING_OVER |= {20: "ss", 22: "j", 23: "ch", 24: "k", 25: "t", 26: "p"}
"""Finals that become the next syllable's initial before a silent ㅇ (index: its letters).
Clusters keep their first consonant and move their second (닭이: dalgi)."""
_CLUSTER_MOVING_OVER = {3: ("k", "s"), 5: ("n", "j"), 6: ("n", ""), 9: ("l", "g")}
_CLUSTER_MOVING_OVER |= {10: ("l", "m"), 11: ("l", "b"), 12: ("l", "s"), 13: ("l", "t")}
_CLUSTER_MOVING_OVER |= {14: ("l", "p"), 15: ("l", ""), 18: ("p", "s")}
_SILENT_INITIAL = 11
_RIEUL_INITIAL = 5
_NIEUN_INITIAL = 2
_MIEUM_INITIAL = 6
_NASALISED = {"k": "ng", "t": "n", "p": "m"}


def _jamo(character: str) -> tuple[int, int, int] | None:
    point = ord(character)
    if not _FIRST_SYLLABLE <= point <= _LAST_SYLLABLE:
        return None
    offset = point - _FIRST_SYLLABLE
    initial, rest = divmod(offset, _VOWELS_COUNT * _FINALS_COUNT)
    vowel, final = divmod(rest, _FINALS_COUNT)
    return initial, vowel, final


def _syllable_letters(
    jamo: tuple[int, int, int], following: tuple[int, int, int] | None
) -> tuple[str, str | None]:
    """The letters of one syllable, and the initial the next syllable takes instead of its
    own (None: its own)."""
    initial, vowel, final = jamo
    head = _INITIALS[initial] + _VOWELS[vowel]
    if following is None:
        return head + _FINALS[final], None
    if following[0] == _SILENT_INITIAL and final:
        return _moving_over(head, final)
    return _assimilated(head, _FINALS[final], following[0])


def _moving_over(head: str, final: int) -> tuple[str, str | None]:
    """A final before a silent ㅇ: it (or a cluster's second consonant) starts the next
    syllable; ㅇ stays, ㅎ goes quiet."""
    if final in _CLUSTER_MOVING_OVER:
        kept, moved = _CLUSTER_MOVING_OVER[final]
        return head + kept, moved
    if final in _FINAL_MOVING_OVER:
        return head, _FINAL_MOVING_OVER[final]
    return head + ("ng" if _FINALS[final] == "ng" else ""), None


def _assimilated(head: str, final_letters: str, next_initial: int) -> tuple[str, str | None]:
    """A final before a consonant: the ㄹ and nasal assimilations readers hear."""
    if next_initial == _RIEUL_INITIAL and final_letters:
        if final_letters in {"n", "l"}:
            return head + "l", "l"
        return head + _NASALISED.get(final_letters, final_letters), "n"
    if next_initial == _NIEUN_INITIAL and final_letters == "l":
        return head + "l", "l"
    if next_initial in {_NIEUN_INITIAL, _MIEUM_INITIAL}:
        return head + _NASALISED.get(final_letters, final_letters), None
    return head + final_letters, None


def romanize(text: str) -> str:
    """``text`` with its Hangul syllables romanized, each word's first letter capitalised;
    anything else is kept as it is."""
    words = []
    for word in text.split():
        pieces: list[str] = []
        carried: str | None = None
        for position, character in enumerate(word):
            jamo = _jamo(character)
            if jamo is None:
                pieces.append(character)
                carried = None
                continue
            following = _jamo(word[position + 1]) if position + 1 < len(word) else None
            letters, next_carried = _syllable_letters(jamo, following)
            if carried is not None:
                letters = carried + letters[len(_INITIALS[jamo[0]]) :]
            pieces.append(letters)
            carried = next_carried
        romanized = "".join(pieces)
        words.append(romanized[:1].upper() + romanized[1:])
    return " ".join(words)
