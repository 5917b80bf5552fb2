"""The log's key history, pure: which key was in force at a size, and breaks in the chain of
handover statements."""

from __future__ import annotations

from dataclasses import replace

from dongne.tlog.key_rotation import KeyHistory, rotation_problem, sign_rotation, statement_text
from dongne.tlog.note import Signer, Verifier, generate_key, sign_note

ORIGIN = "history.example/log"


def _key() -> Signer:
    return Signer.from_key(generate_key(ORIGIN)[0])


def _verifier(signer: Signer) -> Verifier:
    return Verifier.from_key(signer.verifier_key)


def test_each_size_has_the_key_in_force_then_and_the_boundary_is_the_old_key_s() -> None:
    first, second, third = _key(), _key(), _key()
    history = KeyHistory(
        _verifier(third), [sign_rotation(second, third, 20), sign_rotation(first, second, 10)]
    )
    assert history.problems() == []
    in_force = {size: history.key_for(size).key_id for size in (1, 10, 11, 20, 21, 10**6)}
    assert in_force == {
        1: first.key_id,
        10: first.key_id,
        11: second.key_id,
        20: second.key_id,
        21: third.key_id,
        10**6: third.key_id,
    }
    assert [key.key_id for key in history.verifiers()] == [k.key_id for k in (first, second, third)]


def test_a_chain_that_does_not_end_at_the_configured_key_is_named() -> None:
    old, new, configured = _key(), _key(), _key()
    history = KeyHistory(_verifier(configured), [sign_rotation(old, new, 5)])
    assert history.problems() == [
        "key rotation after size 5: its new key is not the key that signs after it"
    ]


def test_a_statement_signed_by_one_key_only_or_about_other_keys_fails() -> None:
    old, new, other = _key(), _key(), _key()
    rotation = sign_rotation(old, new, 5)
    text = statement_text(ORIGIN, old.verifier_key, new.verifier_key)
    assert rotation_problem(rotation, ORIGIN) == ""
    assert rotation_problem(replace(rotation, statement=sign_note(text, [old])), ORIGIN) == (
        "its statement is not signed by both the old and the new key"
    )
    assert rotation_problem(replace(rotation, new_key=other.verifier_key), ORIGIN) == (
        "its statement names other keys or another origin than the record"
    )
    forged = sign_note(text, [old, other])  # "new" is other's name too: a wrong key id
    assert rotation_problem(replace(rotation, statement=forged), ORIGIN) == (
        "its statement is not signed by both the old and the new key"
    )
    assert rotation_problem(rotation, "another.example/log") == (
        "its statement names other keys or another origin than the record"
    )
