"""A CSV row whose fields are already normal is read by a quick path; every other row by the
careful one, which gives each malformed field its reason. The two must never disagree: on
any row the quick path reads, it reads what the careful path would, and a whole file reads
the same with or without it."""

from __future__ import annotations

import csv
import io

from hypothesis import example, given
from hypothesis import strategies as st

from dongne.adapters.recipient_files import _quick_row, _recipient_rows, _row

COLUMNS = {"identity": 0, "name": 1, "phone": 2, "amount": 3}


def digest(identity: str) -> str:
    return f"hmac({identity})"


def resident_numbers() -> st.SearchStrategy[str]:
    birth = st.tuples(
        st.integers(0, 99), st.integers(0, 13), st.integers(0, 32), st.sampled_from("0123456789")
    ).map(lambda t: f"{t[0]:02d}{t[1]:02d}{t[2]:02d}-{t[3]}")
    return st.tuples(birth, st.from_regex(r"[0-9]{6}", fullmatch=True)).map(lambda t: t[0] + t[1])


def messy(text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A value as people type it: spaces around, hyphens dropped or doubled, now and then."""
    return st.tuples(text, st.sampled_from(["", " ", "\t"]), st.booleans(), st.booleans()).map(
        lambda t: (
            t[1]
            + (t[0].replace("-", "") if t[2] else t[0]).replace("-", "--" if t[3] else "-")
            + t[1]
        )
    )


IDENTITIES = st.one_of(
    messy(resident_numbers()),
    st.from_regex(r"[A-Za-z0-9+/]{86}==", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9+/ ]{85,87}={0,3}", fullmatch=True),
    st.text(max_size=20),
)
NAMES = st.one_of(st.sampled_from(["홍길동", " 김 ", "", "  ", "가" * 100, "가" * 101]), st.text())
PHONES = st.one_of(
    messy(st.from_regex(r"01[0-9]-[0-9]{3,4}-[0-9]{4}", fullmatch=True)),
    st.from_regex(r"01[016789][ -]?[0-9]{3,4}[ -]?[0-9]{3,5}", fullmatch=True),
    st.text(max_size=15),
)
AMOUNTS = st.one_of(
    st.sampled_from(["", " ", "0", "007", "50,000", "1.5", "100000000", "100000001", "１２"]),
    st.integers(-5, 10**10).map(str),
    st.text(max_size=6),
)
ROWS = st.lists(st.one_of(IDENTITIES, NAMES, PHONES, AMOUNTS), max_size=2).flatmap(
    lambda extra: st.tuples(IDENTITIES, NAMES, PHONES, AMOUNTS).map(lambda cells: [*cells, *extra])
)


@given(cells=st.one_of(ROWS, ROWS.map(lambda cells: cells[:3]), ROWS.map(lambda c: c[:2])))
@example(cells=["900101-1234567", "홍길동", "010-1234-5678", ""])
@example(cells=["9001311234567", "홍길동", "010-1234-5678", ""])
@example(cells=["000229-3234567", "홍길동", "01012345678", "100000000"])
@example(cells=["010229-3234567", "홍길동", "01012345678", "1"])
@example(cells=["9001011234567", "홍길동", "01012345678", "100000001"])
@example(cells=["9001011234567", "홍길동", "01012345678", "0"])
@example(cells=["9001011234567", " 홍길동 ", " 01012345678", "50,000"])
def test_the_quick_path_reads_a_row_as_the_careful_one_or_leaves_it(cells: list[str]) -> None:
    quick = _quick_row(COLUMNS, digest)(7, cells)
    if quick is not None:
        assert quick == _row(7, cells, COLUMNS, digest)
        assert quick.problem is None


def test_the_quick_path_reads_rows_as_cities_export_them() -> None:
    quick = _quick_row(COLUMNS, digest)
    for cells in (
        ["900101-1234567", "홍길동", "010-1234-5678", ""],
        ["9001011234567", "김영희", "01098765432", "50000"],
        ["A" * 86 + "==", "Kim", "011 123 4567"],
    ):
        assert quick(2, cells) == _row(2, cells, COLUMNS, digest)


def csv_of(rows: list[list[str]], header: list[str]) -> list[list[str]]:
    """The rows written to CSV and read back, as ``read_recipients`` reads a file."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows([header, *rows])
    return list(csv.reader(io.StringIO(buffer.getvalue(), newline="")))


@given(
    rows=st.lists(st.one_of(ROWS, st.just([]), st.just(["", " "])), max_size=30),
    order=st.permutations(["주민등록번호", "이름", "전화번호", "금액"]),
)
def test_a_file_reads_the_same_with_and_without_the_quick_path(
    rows: list[list[str]], order: list[str]
) -> None:
    # The cells follow the header's order: a row's identity goes under 주민등록번호 wherever it is.
    names = ["주민등록번호", "이름", "전화번호", "금액"]
    placed = [
        [row[names.index(column)] for column in order] + row[4:] if len(row) >= 4 else row
        for row in rows
    ]
    table = csv_of(placed, order)
    quick = list(_recipient_rows(iter(table), digest, text_cells=True))
    careful = list(_recipient_rows(iter(table), digest, text_cells=False))
    assert quick == careful
