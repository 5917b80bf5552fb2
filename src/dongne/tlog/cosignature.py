"""C2SP tlog-cosignature/v1 (c2sp.org/tlog-cosignature): a witness's timestamped signature.

A cosignature is a note signature line on a checkpoint, made with signature type 0x04:

- key id = SHA-256(name || "\\n" || 0x04 || 32-byte Ed25519 public key)[:4], and the verifier
  key string is ``name+<hex id>+base64(0x04 || public key)``;
- the signature is ``timestamp (u64, big-endian) || Ed25519 signature (64 bytes)``, so the
  line carries base64(key id || timestamp || signature), 76 bytes;
- the signed message is ``cosignature/v1\\ntime <timestamp>\\n`` followed by the whole
  checkpoint text (with its final newline, without any signature line). The timestamp is
  POSIX seconds in decimal without leading zeroes and must not exceed 2^63 - 1.

Only well-formed checkpoints are cosigned or accepted, as Go's torchwood does: the message is
a statement about a tree head, never about arbitrary text. ``CosignatureVerifier`` is a
``NoteVerifier``, so ``open_note`` can check a checkpoint's cosignatures directly; the spec
suggests exactly that for reading a witness's response. The caller supplies the time: this
module reads no clock.

The signer key string mirrors Go's note format with the cosignature type byte:
``PRIVATE+KEY+name+<hex id>+base64(0x04 || 32-byte seed)``.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dongne.tlog.checkpoint import parse_checkpoint
from dongne.tlog.errors import MalformedLogData, SignatureInvalid, VerificationFailed
from dongne.tlog.note import (
    ED25519_SIGNATURE_SIZE,
    SigningKey,
    VerifyingKey,
    format_signature_line,
    parse_note,
    parse_signature_line,
    raw_seed,
    signer_key_from_seed,
    split_note,
    verify_ed25519,
)

COSIGNATURE_ED25519 = 0x04
"""The signature type byte of an Ed25519 cosignature/v1 key."""

MAX_TIMESTAMP = 2**63 - 1
_TIMESTAMP_SIZE = 8
_SIGNATURE_SIZE = _TIMESTAMP_SIZE + ED25519_SIGNATURE_SIZE


def cosigned_message(checkpoint_body: str, timestamp: int) -> bytes:
    """The bytes a cosigner signs for ``checkpoint_body`` at ``timestamp``."""
    _check_timestamp(timestamp)
    # Parsing is strict, so a body that parses is exactly the body() it parses to.
    parse_checkpoint(checkpoint_body)
    return f"cosignature/v1\ntime {timestamp}\n{checkpoint_body}".encode()


def _check_timestamp(timestamp: int) -> None:
    if isinstance(timestamp, bool) or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise ValueError(f"a cosignature timestamp must be in 0..2^63-1, not {timestamp!r}")


def cosigner_key_from_seed(name: str, seed: bytes) -> str:
    """The cosigner's signer key string for an Ed25519 seed (32 bytes)."""
    return signer_key_from_seed(name, seed, COSIGNATURE_ED25519)


def generate_cosigner_key(name: str) -> tuple[str, str]:
    """A new witness key: (signer key string, verifier key string), both of type 0x04."""
    signer_key = cosigner_key_from_seed(name, raw_seed(Ed25519PrivateKey.generate()))
    return signer_key, Cosigner.from_key(signer_key).verifier_key


class Cosigner(SigningKey):
    """A witness's signing key: produces cosignature/v1 lines on checkpoints."""

    __slots__ = ()
    signature_type = COSIGNATURE_ED25519

    def cosign(self, checkpoint_body: str, timestamp: int) -> str:
        """The signature line ``— name base64(key id || timestamp || signature)\\n``."""
        signature = self._key.sign(cosigned_message(checkpoint_body, timestamp))
        payload = timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + signature
        return format_signature_line(self.name, self.key_id, payload)


class CosignatureVerifier(VerifyingKey):
    """Checks one witness's cosignature/v1 lines; a ``NoteVerifier`` for ``open_note``."""

    __slots__ = ()
    signature_type = COSIGNATURE_ED25519

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (timestamp || Ed25519) cosigns the checkpoint ``message``."""
        if len(signature) != _SIGNATURE_SIZE:
            return False
        timestamp = int.from_bytes(signature[:_TIMESTAMP_SIZE], "big")
        if timestamp > MAX_TIMESTAMP:
            return False
        try:
            signed = cosigned_message(message.decode("utf-8"), timestamp)
        except (UnicodeDecodeError, MalformedLogData):
            return False
        return verify_ed25519(self._key, signed, signature[_TIMESTAMP_SIZE:])

    def verify_line(self, checkpoint_body: str, line: str) -> int | None:
        """The timestamp of this witness's valid cosignature ``line`` on ``checkpoint_body``.

        None if the line is another key's; ``SignatureInvalid`` if it is this key's but does
        not verify; ``MalformedLogData`` if it is not a signature line.
        """
        parsed = parse_signature_line(line)
        if (parsed.name, parsed.key_id) != (self.name, self.key_id):
            return None
        if not self.verify(checkpoint_body.encode("utf-8"), parsed.signature):
            raise SignatureInvalid(
                f"the cosignature of {self.name}+{self.key_id:08x} does not verify",
                witness=self.name,
            )
        return int.from_bytes(parsed.signature[:_TIMESTAMP_SIZE], "big")


def cosignature_timestamp(line: str) -> int:
    """The timestamp a cosignature line claims, unverified (verify it with its key first)."""
    parsed = parse_signature_line(line)
    if len(parsed.signature) != _SIGNATURE_SIZE:
        raise MalformedLogData(f"{parsed.name}'s line is not an Ed25519 cosignature")
    timestamp = int.from_bytes(parsed.signature[:_TIMESTAMP_SIZE], "big")
    if timestamp > MAX_TIMESTAMP:
        raise MalformedLogData(f"{parsed.name}'s cosignature timestamp exceeds 2^63-1")
    return timestamp


def count_cosignatures(
    note: str, checkpoint_body: str, verifiers: Sequence[CosignatureVerifier]
) -> list[str]:
    """Names of the trusted witnesses that validly cosigned ``checkpoint_body`` in ``note``.

    ``note`` is the signed checkpoint with its signature lines; lines from unknown keys are
    ignored. A trusted witness's line that does not verify raises ``SignatureInvalid`` (the
    spec: a failed known-key signature should reject the whole note). Each name counts once,
    so a k-of-n policy is ``len(count_cosignatures(...)) >= k``.
    """
    text, lines = parse_note(note)
    if text != checkpoint_body:
        raise VerificationFailed("the note's text is not the checkpoint being counted")
    names: list[str] = []
    for line in lines:
        for verifier in verifiers:
            if verifier.verify_line(checkpoint_body, line.line) is not None:
                if verifier.name not in names:
                    names.append(verifier.name)
                break
    return names


def witnessed_by(note: str, verifiers: Sequence[CosignatureVerifier]) -> list[str]:
    """Names of the witnesses whose valid cosignature the note carries, in ``verifiers``'
    order. Unlike ``count_cosignatures`` a line that fails is skipped, not fatal: a served
    note or a receipt is still judged by the cosignatures that do verify."""
    body, lines = split_note(note)
    names = []
    for verifier in verifiers:
        for line in lines:
            try:
                if verifier.verify_line(body, line) is not None:
                    names.append(verifier.name)
                    break
            except (VerificationFailed, MalformedLogData):
                continue
    return names
