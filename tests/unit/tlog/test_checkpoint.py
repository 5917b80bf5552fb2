"""Checkpoints: one tree head, one spelling, and the body is exactly what the log signs."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dongne.tlog.checkpoint import (
    EMPTY_ROOT,
    MAX_TREE_SIZE,
    Checkpoint,
    open_checkpoint,
    parse_checkpoint,
)
from dongne.tlog.errors import MalformedLogData, SignatureInvalid
from dongne.tlog.note import Verifier

VECTOR = json.loads((Path(__file__).parent / "data" / "signed-note.json").read_text("utf-8"))
SIGNED: str = VECTOR["signed_checkpoint"]
BODY = SIGNED[: SIGNED.rindex("\n\n") + 1]
ROOT_8 = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
ROOT_B64 = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="


def test_the_body_of_a_checkpoint_is_origin_size_and_root_lines() -> None:
    assert Checkpoint("example.com/log", 8, ROOT_8).body() == BODY
    assert f"example.com/log\n8\n{ROOT_B64}\n" == BODY


def test_the_vectors_checkpoint_parses_into_its_three_fields() -> None:
    assert parse_checkpoint(BODY) == Checkpoint("example.com/log", 8, ROOT_8)


def test_extension_lines_follow_the_root_hash_and_survive_a_round_trip() -> None:
    checkpoint = Checkpoint("example.com/log", 8, ROOT_8, ("ext one", "ext two"))
    assert checkpoint.body() == BODY + "ext one\next two\n"
    assert parse_checkpoint(checkpoint.body()) == checkpoint


def test_the_empty_tree_has_size_zero_and_the_hash_of_nothing() -> None:
    body = Checkpoint("example.com/log", 0, EMPTY_ROOT).body()
    assert body.split("\n")[1:3] == ["0", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="]


def test_a_signed_checkpoint_is_opened_and_parsed_with_the_logs_key() -> None:
    checkpoint, opened = open_checkpoint(SIGNED, [Verifier.from_key(VECTOR["verifier_key"])])
    assert checkpoint == Checkpoint("example.com/log", 8, ROOT_8)
    assert opened.text == BODY


def test_a_signed_checkpoint_without_a_trusted_signature_is_not_opened() -> None:
    with pytest.raises(SignatureInvalid):
        open_checkpoint(SIGNED, [])


LINE = st.text(st.characters(codec="utf-8", min_codepoint=0x20), min_size=1, max_size=40)


@given(
    origin=LINE,
    size=st.integers(0, MAX_TREE_SIZE),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(LINE, max_size=3).map(tuple),
)
def test_every_checkpoint_parses_back_from_its_body(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> None:
    checkpoint = Checkpoint(origin, size, root, extensions)
    assert parse_checkpoint(checkpoint.body()) == checkpoint
    assert parse_checkpoint(checkpoint.body()).body() == checkpoint.body()


def _with_line(index: int, value: str) -> str:
    lines = BODY.split("\n")
    lines[index] = value
    return "\n".join(lines)


MALFORMED = {
    "empty": "",
    "without the final newline": BODY[:-1],
    "with two lines": "example.com/log\n8\n",
    "with an empty origin": _with_line(0, ""),
    "with a tab in the origin": _with_line(0, "example.com\tlog"),
    "with a leading zero": _with_line(1, "08"),
    "with a lone leading zero": _with_line(1, "00"),
    "with a sign": _with_line(1, "+8"),
    "with a negative size": _with_line(1, "-1"),
    "with a space before the size": _with_line(1, " 8"),
    "with a space after the size": _with_line(1, "8 "),
    "with an empty size": _with_line(1, ""),
    "with an Arabic-Indic digit": _with_line(1, "\u0668"),
    "with a size in hex": _with_line(1, "0x8"),
    "with an underscore": _with_line(1, "1_000"),
    "with a size of 2^63": _with_line(1, str(2**63)),
    "with a size of 20 digits": _with_line(1, "1" * 20),
    "with a 31-byte root": _with_line(2, base64.b64encode(bytes(31)).decode()),
    "with a 33-byte root": _with_line(2, base64.b64encode(bytes(33)).decode()),
    "with a root not in base64": _with_line(2, "not base64!"),
    "with a root in url-safe base64": _with_line(2, ROOT_B64.replace("/", "_").replace("+", "-")),
    "with a non-canonical root": _with_line(2, ROOT_B64[:-2] + "h="),
    "with an empty extension line": BODY + "\nextension\n",
    "with a trailing empty line": BODY + "\n",
    "with CRLF line ends": BODY.replace("\n", "\r\n"),
}


@pytest.mark.parametrize("text", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_checkpoint_is_refused(text: str) -> None:
    with pytest.raises(MalformedLogData):
        parse_checkpoint(text)


def test_the_largest_tree_size_is_two_to_the_63_minus_one() -> None:
    assert parse_checkpoint(_with_line(1, str(2**63 - 1))).size == MAX_TREE_SIZE


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions"),
    [
        ("", 8, ROOT_8, ()),
        ("two\nlines", 8, ROOT_8, ()),
        ("example.com/log", -1, ROOT_8, ()),
        ("example.com/log", 2**63, ROOT_8, ()),
        ("example.com/log", True, ROOT_8, ()),
        ("example.com/log", 8, ROOT_8[:31], ()),
        ("example.com/log", 8, ROOT_8, ("",)),
        ("example.com/log", 8, ROOT_8, ("bell\x07",)),
    ],
)
def test_a_checkpoint_that_could_not_be_written_cannot_be_made(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> None:
    with pytest.raises(MalformedLogData):
        Checkpoint(origin, size, root, extensions)
