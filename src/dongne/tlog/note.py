"""C2SP signed-note (c2sp.org/signed-note) with Ed25519 keys, byte for byte.

A note is a text that ends in a newline, a blank line, and one or more signature lines
``— <key name> <base64(4-byte key id || signature)>\\n``. The key id is the first four bytes of
SHA-256(key name || 0x0A || signature type || public key), big-endian; the signature type of a
plain Ed25519 note key is 0x01. Keys travel as Go's strings (golang.org/x/mod/sumdb/note): the
verifier key ``<name>+<8 hex id>+<base64(type || public key)>`` and the signer key
``PRIVATE+KEY+<name>+<8 hex id>+<base64(type || 32-byte seed)>``.

Design:

- Opening follows the spec's rules: lines from unknown keys (name and id not both known) are
  kept but ignored; a line from a known key must verify or the whole note is refused
  (``SignatureInvalid``); a note with no verified signature is refused. Unlike Go, which
  skips a known key's second line unchecked, every known-key line is verified, as the spec
  says ("If the key name and ID match a known key, verifiers MUST verify the signature").
- Base64 must be canonical (the encoding of the bytes it decodes to), so one note has one
  spelling and a changed byte never decodes to the same signature.
- Anything that checks a signature over a note text fits ``NoteVerifier``: the witness
  cosignature verifier (type 0x04) plugs into ``open_note`` unchanged.
- Malformed data raises ``MalformedLogData``; a caller's mistake (no signers) ``ValueError``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, Self

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from dongne.tlog.errors import MalformedLogData, SignatureInvalid

ED25519 = 0x01
"""The signature type byte of an Ed25519 note key."""

MAX_SIGNATURES = 100
"""Go's limit on signature lines; the spec asks verifiers to accept at least 16."""

SIGNATURE_PREFIX = "— "
"""Em dash (U+2014) and a space: how every signature line starts."""

ED25519_KEY_SIZE = 32
ED25519_SIGNATURE_SIZE = 64
_PRIVATE_PREFIX = "PRIVATE+KEY+"
_HEX_KEY_ID = re.compile(r"[0-9a-fA-F]{8}")


class NoteVerifier(Protocol):
    """Checks one key's signatures over a note text."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def verify(self, message: bytes, signature: bytes) -> bool: ...


# -- encodings shared with the cosignature module --------------------------------------------


def compute_key_id(name: str, signature_type: int, public_key: bytes) -> int:
    """SHA-256(name || 0x0A || type || public key)[:4] as a big-endian uint32."""
    material = name.encode("utf-8") + b"\n" + bytes([signature_type]) + public_key
    return int.from_bytes(hashlib.sha256(material).digest()[:4], "big")


def check_key_name(name: str) -> str:
    """Return ``name`` if it is a valid key name, else raise ``MalformedLogData``.

    The spec: non-empty, no Unicode spaces, no '+'. Control characters are refused as well,
    because a note that carried them could not be opened.
    """
    if not name or "+" in name or any(ch.isspace() or ch < " " for ch in name):
        raise MalformedLogData(
            f"key name {name!r} must be non-empty, without spaces, control characters or '+'",
            name=name,
        )
    _check_encodable(name, "key name")
    return name


def decode_base64(text: str, what: str) -> bytes:
    """Decode standard base64 (RFC 4648 section 4), refusing any non-canonical spelling."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedLogData(f"{what} is not valid base64: {text!r}") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise MalformedLogData(f"{what} is not canonical base64: {text!r}")
    return raw


def encode_base64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def check_note_text(text: str) -> str:
    """Return ``text`` if it can be the text of a signed note, else raise ``MalformedLogData``."""
    if not text.endswith("\n"):
        raise MalformedLogData("a note's text must be non-empty and end with a newline")
    _check_characters(text, "note text")
    return text


def _check_encodable(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedLogData(f"{what} is not valid UTF-8") from None


def _check_characters(text: str, what: str) -> None:
    # The spec forbids every ASCII control character but the newline anywhere in a note.
    for ch in text:
        if ch < " " and ch != "\n":
            raise MalformedLogData(f"{what} contains the control character {ch!r}")
    _check_encodable(text, what)


def format_key(name: str, key_id: int, signature_type: int, key_material: bytes) -> str:
    """``<name>+<8 hex id>+<base64(type || key material)>``."""
    return f"{name}+{key_id:08x}+{encode_base64(bytes([signature_type]) + key_material)}"


def parse_key(key: str, signature_type: int, what: str) -> tuple[str, int, bytes]:
    """Split a ``name+id+base64`` key string into (name, key id, 32 bytes of key material)."""
    name, _, rest = key.partition("+")
    hex_id, _, encoded = rest.partition("+")
    check_key_name(name)
    if not _HEX_KEY_ID.fullmatch(hex_id):
        raise MalformedLogData(f"{what} for {name!r} has no 8-digit hex key id", name=name)
    material = decode_base64(encoded, what)
    if len(material) != 1 + ED25519_KEY_SIZE:
        raise MalformedLogData(f"{what} for {name!r} is not 1 + 32 bytes long", name=name)
    if material[0] != signature_type:
        raise MalformedLogData(
            f"{what} for {name!r} has signature type 0x{material[0]:02x},"
            f" expected 0x{signature_type:02x}",
            name=name,
        )
    return name, int(hex_id, 16), material[1:]


def load_private_key(
    signer_key: str, signature_type: int
) -> tuple[str, int, Ed25519PrivateKey, bytes]:
    """Parse a ``PRIVATE+KEY+...`` string: (name, key id, private key, raw public key)."""
    if not signer_key.startswith(_PRIVATE_PREFIX):
        raise MalformedLogData("a signer key must start with PRIVATE+KEY+")
    name, key_id, seed = parse_key(signer_key[len(_PRIVATE_PREFIX) :], signature_type, "signer key")
    private_key = Ed25519PrivateKey.from_private_bytes(seed)
    public_key = raw_public_key(private_key)
    if compute_key_id(name, signature_type, public_key) != key_id:
        raise MalformedLogData(
            f"the signer key's id for {name!r} does not match its key", name=name
        )
    return name, key_id, private_key, public_key


def load_public_key(verifier_key: str, signature_type: int) -> tuple[str, int, Ed25519PublicKey]:
    """Parse a verifier key string: (name, key id, public key)."""
    name, key_id, public_key = parse_key(verifier_key, signature_type, "verifier key")
    if compute_key_id(name, signature_type, public_key) != key_id:
        raise MalformedLogData(f"the verifier key's id for {name!r} does not match its key")
    try:
        return name, key_id, Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError:
        raise MalformedLogData(f"the verifier key for {name!r} is not an Ed25519 key") from None


def raw_public_key(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def raw_seed(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def verify_ed25519(public_key: Ed25519PublicKey, message: bytes, signature: bytes) -> bool:
    if len(signature) != ED25519_SIGNATURE_SIZE:
        return False
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


# -- keys ------------------------------------------------------------------------------------


def signer_key_from_seed(name: str, seed: bytes, signature_type: int = ED25519) -> str:
    """The signer key string for an Ed25519 seed (32 bytes)."""
    check_key_name(name)
    if len(seed) != ED25519_KEY_SIZE:
        raise MalformedLogData("an Ed25519 seed is 32 bytes")
    public_key = raw_public_key(Ed25519PrivateKey.from_private_bytes(seed))
    key_id = compute_key_id(name, signature_type, public_key)
    return _PRIVATE_PREFIX + format_key(name, key_id, signature_type, seed)


def generate_key(name: str) -> tuple[str, str]:
    """A new Ed25519 note key: (signer key string, verifier key string)."""
    signer_key = signer_key_from_seed(name, raw_seed(Ed25519PrivateKey.generate()))
    return signer_key, Signer.from_key(signer_key).verifier_key


class SigningKey:
    """An Ed25519 signing key of one signature type, with its name, id and verifier key."""

    __slots__ = ("_key", "key_id", "name", "verifier_key")
    signature_type: ClassVar[int] = ED25519

    def __init__(self, name: str, key_id: int, key: Ed25519PrivateKey, verifier_key: str) -> None:
        self.name = name
        self.key_id = key_id
        self.verifier_key = verifier_key
        self._key = key

    @classmethod
    def from_key(cls, signer_key: str) -> Self:
        name, key_id, key, public_key = load_private_key(signer_key, cls.signature_type)
        return cls(name, key_id, key, format_key(name, key_id, cls.signature_type, public_key))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name}+{self.key_id:08x})"


class VerifyingKey:
    """An Ed25519 public key of one signature type, read from its verifier key string."""

    __slots__ = ("_key", "key_id", "name", "verifier_key")
    signature_type: ClassVar[int] = ED25519

    def __init__(self, name: str, key_id: int, key: Ed25519PublicKey, verifier_key: str) -> None:
        self.name = name
        self.key_id = key_id
        self.verifier_key = verifier_key
        self._key = key

    @classmethod
    def from_key(cls, verifier_key: str) -> Self:
        name, key_id, key = load_public_key(verifier_key, cls.signature_type)
        return cls(name, key_id, key, verifier_key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.verifier_key})"


class Signer(SigningKey):
    """Signs note texts with an Ed25519 key (signature type 0x01)."""

    __slots__ = ()

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


class Verifier(VerifyingKey):
    """Checks Ed25519 note signatures (signature type 0x01) of one key."""

    __slots__ = ()

    def verify(self, message: bytes, signature: bytes) -> bool:
        return verify_ed25519(self._key, message, signature)


# -- notes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignatureLine:
    """One parsed signature line; ``line`` is the raw line with its newline."""

    name: str
    key_id: int
    signature: bytes
    line: str


@dataclass(frozen=True)
class OpenedNote:
    """A note whose text a trusted key signed."""

    text: str
    verified: list[tuple[str, int]]
    """(key name, key id) of each trusted key whose signature verified, once each."""
    unverified: list[str]
    """Raw signature lines from keys the caller does not know, each once."""
    verified_lines: list[str] = field(default_factory=list)
    """Raw signature lines that verified, to carry over to another copy of the note."""


def format_signature_line(name: str, key_id: int, signature: bytes) -> str:
    payload = key_id.to_bytes(4, "big") + signature
    return f"{SIGNATURE_PREFIX}{name} {encode_base64(payload)}\n"


def parse_signature_line(line: str) -> SignatureLine:
    """Parse ``— <name> <base64(key id || signature)>\\n``."""
    if not line.endswith("\n") or "\n" in line[:-1]:
        raise MalformedLogData(f"a signature line is one line ending in a newline: {line!r}")
    return _parse_signature_line(line[:-1])


def _parse_signature_line(body: str) -> SignatureLine:
    if not body.startswith(SIGNATURE_PREFIX):
        raise MalformedLogData(f"a signature line must start with an em dash and a space: {body!r}")
    name, space, encoded = body[len(SIGNATURE_PREFIX) :].partition(" ")
    if not space or not encoded:
        raise MalformedLogData(f"a signature line needs a key name and a signature: {body!r}")
    _check_characters(body, "signature line")
    check_key_name(name)
    payload = decode_base64(encoded, "signature")
    # Go's rule: a key id and at least one byte of signature.
    if len(payload) < 5:
        raise MalformedLogData(f"the signature of {name!r} is too short", name=name)
    return SignatureLine(name, int.from_bytes(payload[:4], "big"), payload[4:], body + "\n")


def parse_note(note: str | bytes) -> tuple[str, list[SignatureLine]]:
    """Split a signed note into its text and parsed signature lines, checking the format."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedLogData("a signed note must be valid UTF-8") from None
    _check_characters(note, "signed note")
    # The last blank line separates text from signatures: the text may hold blank lines.
    split = note.rfind("\n\n")
    if split < 0:
        raise MalformedLogData("a signed note needs a blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        raise MalformedLogData("a signed note must end with a signature line and a newline")
    bodies = block[:-1].split("\n")
    if len(bodies) > MAX_SIGNATURES:
        raise MalformedLogData(
            f"a signed note may carry at most {MAX_SIGNATURES} signatures, not {len(bodies)}"
        )
    return text, [_parse_signature_line(body) for body in bodies]


def split_note(note: str | bytes) -> tuple[str, list[str]]:
    """Split a signed note into its text and raw signature lines (each with its newline)."""
    text, lines = parse_note(note)
    return text, [line.line for line in lines]


def sign_note(text: str, signers: Sequence[Signer]) -> str:
    """Sign ``text`` with every signer: the text, a blank line, one signature line each."""
    check_note_text(text)
    if not signers:
        raise ValueError("a signed note needs at least one signer")
    if len(signers) > MAX_SIGNATURES:
        raise ValueError(f"a signed note may carry at most {MAX_SIGNATURES} signatures")
    message = text.encode("utf-8")
    lines = [
        format_signature_line(check_key_name(s.name), s.key_id, s.sign(message)) for s in signers
    ]
    return text + "\n" + "".join(lines)


def add_signature_lines(note: str, lines: Iterable[str]) -> str:
    """Append signature lines (say, cosignatures) to a signed note, skipping exact repeats."""
    text, existing = split_note(note)
    for line in lines:
        parse_signature_line(line)
        if line not in existing:
            existing.append(line)
    if len(existing) > MAX_SIGNATURES:
        raise MalformedLogData(f"a signed note may carry at most {MAX_SIGNATURES} signatures")
    return text + "\n" + "".join(existing)


def open_note(note: str | bytes, verifiers: Sequence[NoteVerifier]) -> OpenedNote:
    """Check a signed note against the trusted keys; return its text and who signed it.

    Raises ``MalformedLogData`` if the note does not parse and ``SignatureInvalid`` if a
    trusted key's line does not verify or no trusted key signed it.
    """
    text, lines = parse_note(note)
    known: dict[tuple[str, int], NoteVerifier] = {}
    for trusted in verifiers:
        ident = (trusted.name, trusted.key_id)
        if ident in known:
            raise ValueError(f"two trusted keys share the name and id {_label(*ident)}")
        known[ident] = trusted
    message = text.encode("utf-8")
    verified: list[tuple[str, int]] = []
    verified_lines: list[str] = []
    unverified: list[str] = []
    for line in lines:
        ident = (line.name, line.key_id)
        verifier = known.get(ident)
        if verifier is None:
            if line.line not in unverified:
                unverified.append(line.line)
            continue
        if not verifier.verify(message, line.signature):
            raise SignatureInvalid(
                f"the signature of the trusted key {_label(*ident)} does not verify",
                key=_label(*ident),
            )
        if ident not in verified:
            verified.append(ident)
        if line.line not in verified_lines:
            verified_lines.append(line.line)
    if not verified:
        labels = [_label(*ident) for ident in known]
        raise SignatureInvalid(
            "the note carries no signature from a trusted key; trusted keys: "
            + (", ".join(labels) if labels else "none"),
            trusted=labels,
        )
    return OpenedNote(text, verified, unverified, verified_lines)


def _label(name: str, key_id: int) -> str:
    return f"{name}+{key_id:08x}"
