"""The witness protocol: the add-checkpoint body, and every answer the witness can give."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dongne.tlog.checkpoint import EMPTY_ROOT, Checkpoint
from dongne.tlog.cosignature import CosignatureVerifier, Cosigner, cosigner_key_from_seed
from dongne.tlog.errors import MalformedLogData
from dongne.tlog.note import (
    Signer,
    Verifier,
    add_signature_lines,
    generate_key,
    open_note,
    sign_note,
    signer_key_from_seed,
)
from dongne.tlog.witness import (
    SIZE_CONTENT_TYPE,
    TEXT_CONTENT_TYPE,
    AddCheckpointRequest,
    Outcome,
    WitnessedCheckpoint,
    decide_add_checkpoint,
    parse_add_checkpoint,
)

VECTOR = json.loads((Path(__file__).parent / "data" / "signed-note.json").read_text("utf-8"))
ORIGIN: str = VECTOR["name"]
LOG = Signer.from_key(signer_key_from_seed(ORIGIN, bytes.fromhex(VECTOR["ed25519_seed_hex"])))
LOG_VERIFIER = Verifier.from_key(VECTOR["verifier_key"])
WITNESS = Cosigner.from_key(cosigner_key_from_seed("witness.example/w1", bytes(range(32, 64))))
WITNESS_VERIFIER = CosignatureVerifier.from_key(WITNESS.verifier_key)
NOW = 1_780_000_000

# The RFC 6962 reference leaves; the tree is built here with plain SHA-256 as RFC 9162 says,
# independently of dongne.tlog.merkle, so the witness is checked against a second opinion.
LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]


def _mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def _subproof(m: int, leaves: list[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [_mth(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*_subproof(m, leaves[:k], whole), _mth(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), _mth(leaves[:k])]


def root(size: int) -> bytes:
    return _mth(LEAVES[:size])


def proof(old: int, new: int) -> tuple[bytes, ...]:
    return tuple(_subproof(old, LEAVES[:new], True))


def signed(size: int, *, root_hash: bytes | None = None, signer: Signer = LOG) -> str:
    body = Checkpoint(ORIGIN, size, root(size) if root_hash is None else root_hash).body()
    return sign_note(body, [signer])


def state(size: int) -> WitnessedCheckpoint:
    return WitnessedCheckpoint(size, root(size))


def decide(
    request: AddCheckpointRequest,
    latest: WitnessedCheckpoint | None,
    *,
    log_verifier: Verifier | list[Verifier] = LOG_VERIFIER,
    origin: str = ORIGIN,
) -> Outcome:
    return decide_add_checkpoint(
        request,
        log_verifier=log_verifier,
        origin=origin,
        latest=latest,
        cosigner=WITNESS,
        now_unix=NOW,
    )


def assert_refused(outcome: Outcome, status: int) -> None:
    assert (outcome.status, outcome.content_type) == (status, TEXT_CONTENT_TYPE)
    assert outcome.new_state is None
    assert not outcome.accepted
    assert outcome.body.endswith(b"\n")


def assert_cosigned(outcome: Outcome, size: int) -> None:
    assert (outcome.status, outcome.content_type) == (200, TEXT_CONTENT_TYPE)
    assert outcome.new_state == state(size)
    assert outcome.accepted
    body = Checkpoint(ORIGIN, size, root(size)).body()
    assert WITNESS_VERIFIER.verify_line(body, outcome.body.decode()) == NOW


def test_the_test_tree_has_the_well_known_root_of_the_eight_reference_leaves() -> None:
    assert signed(8) == VECTOR["signed_checkpoint"]


# -- the request body --------------------------------------------------------------------------


def test_a_request_is_the_old_size_the_proof_lines_an_empty_line_and_the_note() -> None:
    hashes = proof(3, 8)
    request = AddCheckpointRequest(3, hashes, signed(8))
    lines = "".join(base64.b64encode(h).decode() + "\n" for h in hashes)
    assert request.encode() == f"old 3\n{lines}\n{signed(8)}".encode()


def test_a_first_request_has_old_size_zero_and_no_proof_lines() -> None:
    assert AddCheckpointRequest(0, (), signed(8)).encode() == b"old 0\n\n" + signed(8).encode()


@given(
    old_size=st.integers(0, 2**63 - 1),
    hashes=st.lists(st.binary(min_size=32, max_size=32), max_size=63).map(tuple),
    size=st.integers(0, 8),
)
def test_every_request_parses_back_from_its_encoding(
    old_size: int, hashes: tuple[bytes, ...], size: int
) -> None:
    request = AddCheckpointRequest(old_size, hashes, signed(size))
    assert parse_add_checkpoint(request.encode()) == request


def test_the_request_names_its_checkpoint() -> None:
    request = parse_add_checkpoint(AddCheckpointRequest(0, (), signed(8)).encode())
    assert request.checkpoint() == Checkpoint(ORIGIN, 8, root(8))


HASH = base64.b64encode(bytes(32)).decode()
SHORT_HASH = base64.b64encode(bytes(31)).decode()
NOTE = signed(8)
MALFORMED_BODIES = {
    "empty": b"",
    "without the empty line": f"old 0\n{NOTE}".encode(),
    "without the old line": f"\n{NOTE}".encode(),
    "with a capital Old": f"Old 0\n\n{NOTE}".encode(),
    "with two spaces": f"old  0\n\n{NOTE}".encode(),
    "with a trailing space": f"old 0 \n\n{NOTE}".encode(),
    "with a leading zero": f"old 03\n{HASH}\n\n{NOTE}".encode(),
    "with a negative size": f"old -1\n\n{NOTE}".encode(),
    "with a size over 2^63-1": f"old {2**63}\n\n{NOTE}".encode(),
    "with a proof line not in base64": f"old 3\nnot base64!\n\n{NOTE}".encode(),
    "with a 31-byte proof hash": f"old 3\n{SHORT_HASH}\n\n{NOTE}".encode(),
    "with 64 proof lines": ("old 3\n" + f"{HASH}\n" * 64 + f"\n{NOTE}").encode(),
    "with CRLF line ends": f"old 0\r\n\r\n{NOTE}".encode(),
    "not in UTF-8": b"old 0\n\n\xff" + NOTE.encode(),
    "with an unsigned checkpoint": f"old 0\n\n{NOTE[: NOTE.index(chr(0x2014))]}".encode(),
    "with a note that is not a checkpoint": b"old 0\n\n" + sign_note("hello\n", [LOG]).encode(),
}


@pytest.mark.parametrize("body", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
def test_a_malformed_body_is_refused(body: bytes) -> None:
    with pytest.raises(MalformedLogData):
        parse_add_checkpoint(body)


def test_a_request_may_carry_63_proof_lines() -> None:
    body = ("old 3\n" + f"{HASH}\n" * 63 + f"\n{NOTE}").encode()
    assert len(parse_add_checkpoint(body).consistency_proof) == 63


@pytest.mark.parametrize(
    ("old_size", "hashes"),
    [(-1, ()), (True, ()), (3, (bytes(31),)), (3, (bytes(32),) * 64)],
)
def test_a_request_that_could_not_be_sent_cannot_be_made(
    old_size: int, hashes: tuple[bytes, ...]
) -> None:
    with pytest.raises(MalformedLogData):
        AddCheckpointRequest(old_size, hashes, NOTE)


# -- the decision --------------------------------------------------------------------------------


def test_the_first_checkpoint_of_a_log_is_cosigned_without_a_proof() -> None:
    assert_cosigned(decide(AddCheckpointRequest(0, (), signed(8)), None), 8)


@pytest.mark.parametrize(
    ("old", "new"), [(old, new) for new in range(1, 9) for old in range(1, new)]
)
def test_a_grown_log_with_a_valid_proof_is_cosigned(old: int, new: int) -> None:
    assert_cosigned(
        decide(AddCheckpointRequest(old, proof(old, new), signed(new)), state(old)), new
    )


def test_a_client_appends_the_answer_to_the_checkpoint_and_opens_it_with_the_witness_key() -> None:
    outcome = decide(AddCheckpointRequest(3, proof(3, 8), signed(8)), state(3))
    note = add_signature_lines(signed(8), [outcome.body.decode()])
    opened = open_note(note, [WITNESS_VERIFIER])
    assert opened.verified == [("witness.example/w1", WITNESS.key_id)]


def test_the_latest_checkpoint_is_cosigned_again_with_a_fresh_timestamp() -> None:
    assert_cosigned(decide(AddCheckpointRequest(8, (), signed(8)), state(8)), 8)


def test_a_stale_old_size_is_answered_with_the_latest_cosigned_size() -> None:
    outcome = decide(AddCheckpointRequest(3, proof(3, 8), signed(8)), state(5))
    assert outcome == Outcome(409, SIZE_CONTENT_TYPE, b"5\n", None)


def test_a_client_without_state_learns_the_latest_size_by_sending_old_size_zero() -> None:
    outcome = decide(AddCheckpointRequest(0, (), signed(8)), state(5))
    assert (outcome.status, outcome.content_type, outcome.body) == (409, SIZE_CONTENT_TYPE, b"5\n")


def test_a_proof_from_a_size_the_witness_never_cosigned_is_a_conflict_at_zero() -> None:
    outcome = decide(AddCheckpointRequest(3, proof(3, 8), signed(8)), None)
    assert (outcome.status, outcome.content_type, outcome.body) == (409, SIZE_CONTENT_TYPE, b"0\n")


def test_a_proof_that_does_not_verify_is_unprocessable() -> None:
    hashes = list(proof(3, 8))
    hashes[1] = bytes(b ^ 1 for b in hashes[1])
    assert_refused(decide(AddCheckpointRequest(3, tuple(hashes), signed(8)), state(3)), 422)


@pytest.mark.parametrize(
    "hashes",
    [proof(3, 8)[:-1], (*proof(3, 8), bytes(32)), proof(4, 8), ()],
    ids=["too short", "too long", "from another size", "empty"],
)
def test_a_proof_of_the_wrong_shape_is_unprocessable(hashes: tuple[bytes, ...]) -> None:
    assert_refused(decide(AddCheckpointRequest(3, hashes, signed(8)), state(3)), 422)


def test_a_proof_from_a_different_tree_of_the_old_size_is_unprocessable() -> None:
    forked = WitnessedCheckpoint(3, hashlib.sha256(b"another tree").digest())
    assert_refused(decide(AddCheckpointRequest(3, proof(3, 8), signed(8)), forked), 422)


def test_a_proof_from_size_zero_must_be_empty() -> None:
    assert_refused(decide(AddCheckpointRequest(0, proof(3, 8), signed(8)), None), 422)


def test_a_proof_between_equal_sizes_must_be_empty() -> None:
    assert_refused(decide(AddCheckpointRequest(8, proof(3, 8), signed(8)), state(8)), 422)


def test_a_fork_with_the_same_size_and_another_root_is_a_conflict() -> None:
    fork = signed(8, root_hash=root(7))
    outcome = decide(AddCheckpointRequest(8, (), fork), state(8))
    assert_refused(outcome, 409)
    assert b"different root hash" in outcome.body


def test_a_rollback_sent_from_the_latest_size_is_a_bad_request() -> None:
    outcome = decide(AddCheckpointRequest(8, (), signed(5)), state(8))
    assert_refused(outcome, 400)
    assert b"larger than the checkpoint's size" in outcome.body


def test_a_rollback_sent_from_its_own_size_is_a_conflict_at_the_latest_size() -> None:
    outcome = decide(AddCheckpointRequest(5, (), signed(5)), state(8))
    assert (outcome.status, outcome.body, outcome.new_state) == (409, b"8\n", None)


def test_a_checkpoint_signed_by_another_key_of_the_same_name_is_forbidden() -> None:
    impostor = Signer.from_key(generate_key(ORIGIN)[0])
    outcome = decide(AddCheckpointRequest(0, (), signed(8, signer=impostor)), None)
    assert_refused(outcome, 403)
    assert b"example.com/log+d455c521" in outcome.body


def test_a_checkpoint_whose_log_signature_does_not_verify_is_forbidden() -> None:
    tampered = signed(8).replace("\n8\n", "\n9\n", 1)
    assert_refused(decide(AddCheckpointRequest(0, (), tampered), None), 403)


def test_a_checkpoint_from_an_unknown_origin_is_not_found() -> None:
    other = Signer.from_key(generate_key("other.example/log")[0])
    note = sign_note(Checkpoint("other.example/log", 8, root(8)).body(), [other])
    outcome = decide(AddCheckpointRequest(0, (), note), None)
    assert_refused(outcome, 404)
    assert b"other.example/log" in outcome.body


def test_a_request_built_around_a_malformed_note_is_a_bad_request() -> None:
    assert_refused(decide(AddCheckpointRequest(0, (), "not a note\n"), None), 400)


def test_a_log_with_several_trusted_keys_is_cosigned_under_any_of_them() -> None:
    new_key = Signer.from_key(generate_key(ORIGIN)[0])
    keys = [LOG_VERIFIER, Verifier.from_key(new_key.verifier_key)]
    outcome = decide(
        AddCheckpointRequest(0, (), signed(8, signer=new_key)), None, log_verifier=keys
    )
    assert_cosigned(outcome, 8)


def test_the_empty_tree_is_cosigned_only_with_the_empty_root() -> None:
    empty = AddCheckpointRequest(0, (), signed(0, root_hash=EMPTY_ROOT))
    assert decide(empty, None).new_state == WitnessedCheckpoint(0, EMPTY_ROOT)
    assert_refused(decide(AddCheckpointRequest(0, (), signed(0, root_hash=root(1))), None), 409)


def test_a_checkpoint_with_cosignatures_of_other_witnesses_is_still_cosigned() -> None:
    other = Cosigner.from_key(cosigner_key_from_seed("witness.example/w2", bytes(32)))
    note = add_signature_lines(signed(8), [other.cosign(signed(8).split("\n\n")[0] + "\n", 1)])
    assert_cosigned(decide(AddCheckpointRequest(0, (), note), None), 8)
