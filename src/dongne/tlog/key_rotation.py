"""Rotating the log's signing key: which key signed which checkpoint, and the handover.

A log keeps one origin for life (witnesses and clients know it by that line), but its key may
change: a new key pair with the same name. A rotation is recorded as

- the tree size after which the new key signs: every checkpoint of that size or smaller was
  signed by the old key, every larger one by the new key (checkpoint sizes only grow);
- a *statement*, a signed note naming both verifier keys::

      dongne log key rotation
      origin <origin>
      old <old verifier key>
      new <new verifier key>

  signed by the old key (it hands over) and by the new key (it accepts). The audit starts from
  the key configured now and walks the statements back: nobody can graft a key into the
  history without both private keys of the link.

``KeyHistory`` answers "which key was in force for a checkpoint of size N" and lists what is
wrong with the chain. Pure: no storage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dongne.tlog.errors import MalformedLogData, SignatureInvalid
from dongne.tlog.note import Signer, Verifier, open_note, sign_note

STATEMENT_HEADER = "dongne log key rotation"


@dataclass(frozen=True)
class KeyRotation:
    """One recorded rotation: checkpoints up to ``after_tree_size`` are the old key's."""

    after_tree_size: int
    old_key: str
    new_key: str
    statement: str


def statement_text(origin: str, old_key: str, new_key: str) -> str:
    return f"{STATEMENT_HEADER}\norigin {origin}\nold {old_key}\nnew {new_key}\n"


def sign_rotation(old: Signer, new: Signer, after_tree_size: int) -> KeyRotation:
    """The rotation from ``old`` to ``new``, its statement signed by both."""
    text = statement_text(old.name, old.verifier_key, new.verifier_key)
    statement = sign_note(text, [old, new])
    return KeyRotation(after_tree_size, old.verifier_key, new.verifier_key, statement)


def rotation_problem(rotation: KeyRotation, origin: str) -> str:
    """What is wrong with one rotation's statement; empty when it holds."""
    expected = statement_text(origin, rotation.old_key, rotation.new_key)
    try:
        keys = [Verifier.from_key(rotation.old_key), Verifier.from_key(rotation.new_key)]
        opened = open_note(rotation.statement, keys)
    except (MalformedLogData, SignatureInvalid) as error:
        return f"its statement does not verify ({error.message})"
    if opened.text != expected:
        return "its statement names other keys or another origin than the record"
    if len(opened.verified) != len(keys):
        return "its statement is not signed by both the old and the new key"
    return ""


class KeyHistory:
    """The log's keys over time: the rotations in order, then the key configured now."""

    def __init__(self, current: Verifier, rotations: Sequence[KeyRotation]) -> None:
        self.current = current
        self.rotations = sorted(rotations, key=lambda r: r.after_tree_size)
        self._parsed: dict[str, Verifier] = {}

    def key_for(self, tree_size: int) -> Verifier:
        """The key in force for a checkpoint of ``tree_size`` leaves; ``MalformedLogData``
        if the record's key does not parse."""
        for rotation in self.rotations:
            if tree_size <= rotation.after_tree_size:
                return self._verifier(rotation.old_key)
        return self.current

    def verifiers(self) -> list[Verifier]:
        """Every key the log has signed with, oldest first."""
        return [self._verifier(r.old_key) for r in self.rotations] + [self.current]

    def _verifier(self, key: str) -> Verifier:
        """Parsed once: the audit asks for a key per checkpoint."""
        if key not in self._parsed:
            self._parsed[key] = Verifier.from_key(key)
        return self._parsed[key]

    def problems(self) -> list[str]:
        """Breaks in the chain from the first key to the configured one."""
        found = []
        for index, rotation in enumerate(self.rotations):
            label = f"key rotation after size {rotation.after_tree_size}"
            if problem := rotation_problem(rotation, self.current.name):
                found.append(f"{label}: {problem}")
            following = self.rotations[index + 1 :]
            successor = following[0].old_key if following else self.current.verifier_key
            if rotation.new_key != successor:
                found.append(f"{label}: its new key is not the key that signs after it")
        return found
