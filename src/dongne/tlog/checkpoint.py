"""C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): the text of a signed tree head.

::

    <origin>\\n
    <tree size in decimal>\\n
    <base64 of the 32-byte RFC 6962 root hash>\\n
    [extension lines, each non-empty]\\n

Parsing is strict so that one tree head has exactly one spelling, and ``body()`` of a parsed
checkpoint gives back the very bytes that were signed: a size without sign or leading zeroes
(``0`` for the empty tree), canonical base64, no empty line. The size is capped at 2^63 - 1,
what Go's tlog (int64) and the cosignature timestamp field can hold. The origin is any
non-empty line (the spec recommends, but lets no one assume, a schema-less URL); like all note
text it may hold no control characters.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from dongne.tlog.errors import MalformedLogData
from dongne.tlog.note import (
    NoteVerifier,
    OpenedNote,
    check_note_text,
    decode_base64,
    encode_base64,
    open_note,
)

HASH_SIZE = 32
MAX_TREE_SIZE = 2**63 - 1
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""RFC 6962's root hash of the empty tree."""

_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: who (origin), how many leaves (size), which tree (root hash)."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "a checkpoint's origin")
        if isinstance(self.size, bool) or not 0 <= self.size <= MAX_TREE_SIZE:
            raise MalformedLogData(f"a tree size must be in 0..2^63-1, not {self.size!r}")
        if len(self.root_hash) != HASH_SIZE:
            raise MalformedLogData(f"a root hash is {HASH_SIZE} bytes, not {len(self.root_hash)}")
        for extension in self.extensions:
            _check_line(extension, "a checkpoint's extension line")

    def body(self) -> str:
        """The note text: origin, size and root hash lines, then the extension lines."""
        lines = [self.origin, str(self.size), encode_base64(self.root_hash), *self.extensions]
        return "\n".join(lines) + "\n"


def _check_line(line: str, what: str) -> None:
    if not line or "\n" in line:
        raise MalformedLogData(f"{what} must be one non-empty line: {line!r}")
    check_note_text(line + "\n")


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint's note text; raise ``MalformedLogData`` if it breaks the format."""
    check_note_text(text)
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise MalformedLogData("a checkpoint has at least three lines: origin, size, root hash")
    origin, size, root, *extensions = lines
    if not _DECIMAL.fullmatch(size):
        raise MalformedLogData(f"a tree size is a decimal without leading zeroes: {size!r}")
    return Checkpoint(
        origin=origin,
        size=int(size),
        root_hash=decode_base64(root, "root hash"),
        extensions=tuple(extensions),
    )


def open_checkpoint(
    note: str | bytes, verifiers: Sequence[NoteVerifier]
) -> tuple[Checkpoint, OpenedNote]:
    """Verify a signed checkpoint against trusted keys and parse its text."""
    opened = open_note(note, verifiers)
    return parse_checkpoint(opened.text), opened
