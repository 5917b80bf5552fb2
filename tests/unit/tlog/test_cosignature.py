"""Cosignatures: a witness's timestamped Ed25519 signature over a checkpoint, type 0x04."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given
from hypothesis import strategies as st

from dongne.tlog.cosignature import (
    MAX_TIMESTAMP,
    CosignatureVerifier,
    Cosigner,
    cosignature_timestamp,
    cosigned_message,
    cosigner_key_from_seed,
    count_cosignatures,
    generate_cosigner_key,
)
from dongne.tlog.errors import MalformedLogData, SignatureInvalid, VerificationFailed
from dongne.tlog.note import (
    Verifier,
    add_signature_lines,
    format_signature_line,
    open_note,
    parse_signature_line,
    signer_key_from_seed,
)

VECTOR = json.loads((Path(__file__).parent / "data" / "signed-note.json").read_text("utf-8"))
SIGNED: str = VECTOR["signed_checkpoint"]
BODY = SIGNED[: SIGNED.rindex("\n\n") + 1]
LOG_VERIFIER = Verifier.from_key(VECTOR["verifier_key"])
OTHER_BODY = BODY.replace("\n8\n", "\n9\n")

WITNESS_SEED = bytes(range(32, 64))
WITNESS_NAME = "witness.example/w1"
WITNESS = Cosigner.from_key(cosigner_key_from_seed(WITNESS_NAME, WITNESS_SEED))
WITNESS_VERIFIER = CosignatureVerifier.from_key(WITNESS.verifier_key)
TIME = 1679315147


def _public_key(seed: bytes) -> bytes:
    key = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _witness(name: str) -> tuple[Cosigner, CosignatureVerifier]:
    signer_key, verifier_key = generate_cosigner_key(name)
    return Cosigner.from_key(signer_key), CosignatureVerifier.from_key(verifier_key)


def test_a_witness_key_id_hashes_the_name_a_newline_type_4_and_the_public_key() -> None:
    digest = hashlib.sha256(
        WITNESS_NAME.encode() + b"\n" + b"\x04" + _public_key(WITNESS_SEED)
    ).digest()
    assert WITNESS.key_id == WITNESS_VERIFIER.key_id == int.from_bytes(digest[:4], "big")


def test_a_witness_verifier_key_carries_type_4_and_the_public_key() -> None:
    name, key_id, material = WITNESS.verifier_key.split("+")
    assert (name, key_id) == (WITNESS_NAME, f"{WITNESS.key_id:08x}")
    assert base64.b64decode(material) == b"\x04" + _public_key(WITNESS_SEED)


def test_a_witness_signer_key_carries_type_4_and_the_seed() -> None:
    encoded = base64.b64encode(b"\x04" + WITNESS_SEED).decode()
    assert cosigner_key_from_seed(WITNESS_NAME, WITNESS_SEED).endswith("+" + encoded)


def test_witness_keys_and_log_keys_do_not_mix() -> None:
    with pytest.raises(MalformedLogData, match="signature type 0x04, expected 0x01"):
        Verifier.from_key(WITNESS.verifier_key)
    with pytest.raises(MalformedLogData, match="signature type 0x01, expected 0x04"):
        CosignatureVerifier.from_key(VECTOR["verifier_key"])
    with pytest.raises(MalformedLogData):
        Cosigner.from_key(signer_key_from_seed(WITNESS_NAME, WITNESS_SEED))


def test_the_signed_message_is_the_header_the_time_line_and_the_checkpoint() -> None:
    expected = f"cosignature/v1\ntime {TIME}\n{BODY}".encode()
    assert cosigned_message(BODY, TIME) == expected


def test_a_cosignature_line_holds_key_id_big_endian_timestamp_and_an_ed25519_signature() -> None:
    line = WITNESS.cosign(BODY, TIME)
    assert line.startswith(f"\u2014 {WITNESS_NAME} ")
    assert line.endswith("\n")
    payload = base64.b64decode(line.split(" ")[2])
    assert len(payload) == 4 + 8 + 64
    assert payload[:4] == WITNESS.key_id.to_bytes(4, "big")
    assert payload[4:12] == TIME.to_bytes(8, "big")
    # Checked with the raw key, not our verifier: the message layout is the spec's.
    public_key = Ed25519PrivateKey.from_private_bytes(WITNESS_SEED).public_key()
    public_key.verify(payload[12:], f"cosignature/v1\ntime {TIME}\n{BODY}".encode())


def test_cosigning_is_deterministic_for_the_same_key_body_and_time() -> None:
    assert WITNESS.cosign(BODY, TIME) == WITNESS.cosign(BODY, TIME)
    assert WITNESS.cosign(BODY, TIME) != WITNESS.cosign(BODY, TIME + 1)


@given(st.integers(0, MAX_TIMESTAMP))
def test_a_cosignature_verifies_and_tells_its_timestamp(timestamp: int) -> None:
    line = WITNESS.cosign(BODY, timestamp)
    assert WITNESS_VERIFIER.verify_line(BODY, line) == timestamp
    assert cosignature_timestamp(line) == timestamp


@pytest.mark.parametrize("timestamp", [-1, 2**63, True])
def test_a_timestamp_outside_zero_to_two_to_the_63_minus_one_is_refused(timestamp: int) -> None:
    with pytest.raises(ValueError, match="timestamp"):
        WITNESS.cosign(BODY, timestamp)


def test_another_witnesss_line_is_not_this_witnesss_business() -> None:
    other, _ = _witness("witness.example/w2")
    assert WITNESS_VERIFIER.verify_line(BODY, other.cosign(BODY, TIME)) is None


def test_a_key_with_the_same_name_but_another_key_id_is_another_witness() -> None:
    impostor, _ = _witness(WITNESS_NAME)
    assert WITNESS_VERIFIER.verify_line(BODY, impostor.cosign(BODY, TIME)) is None


def test_a_log_signature_line_is_not_a_cosignature() -> None:
    assert WITNESS_VERIFIER.verify_line(BODY, SIGNED[len(BODY) + 1 :]) is None


def test_a_cosignature_of_another_checkpoint_does_not_verify() -> None:
    with pytest.raises(SignatureInvalid, match="does not verify"):
        WITNESS_VERIFIER.verify_line(BODY, WITNESS.cosign(OTHER_BODY, TIME))


def test_a_cosignature_with_a_changed_timestamp_does_not_verify() -> None:
    payload = bytearray(base64.b64decode(WITNESS.cosign(BODY, TIME).split(" ")[2]))
    payload[11] ^= 1
    line = format_signature_line(WITNESS_NAME, WITNESS.key_id, bytes(payload[4:]))
    with pytest.raises(SignatureInvalid):
        WITNESS_VERIFIER.verify_line(BODY, line)


@pytest.mark.parametrize(
    "signature",
    [
        b"",
        bytes(8 + 63),
        bytes(8 + 65),
        (2**63).to_bytes(8, "big") + bytes(64),
    ],
    ids=["empty", "short", "long", "timestamp over 2^63-1"],
)
def test_a_cosignature_of_the_wrong_shape_from_a_known_key_does_not_verify(
    signature: bytes,
) -> None:
    assert not WITNESS_VERIFIER.verify(BODY.encode(), signature)


def test_only_checkpoints_are_cosigned() -> None:
    with pytest.raises(MalformedLogData):
        WITNESS.cosign("just some text\n", TIME)
    assert not WITNESS_VERIFIER.verify(b"just some text\n", bytes(72))
    assert not WITNESS_VERIFIER.verify(b"\xff", bytes(72))


def test_a_malformed_line_is_malformed_even_for_the_verifier() -> None:
    with pytest.raises(MalformedLogData):
        WITNESS_VERIFIER.verify_line(BODY, "— witness.example/w1 !!!\n")


def test_a_cosigned_checkpoint_opens_with_the_log_key_and_the_witness_key() -> None:
    note = add_signature_lines(SIGNED, [WITNESS.cosign(BODY, TIME)])
    opened = open_note(note, [LOG_VERIFIER, WITNESS_VERIFIER])
    assert opened.verified == [
        (LOG_VERIFIER.name, LOG_VERIFIER.key_id),
        (WITNESS_NAME, WITNESS.key_id),
    ]


def test_a_log_key_alone_ignores_the_cosignatures() -> None:
    note = add_signature_lines(SIGNED, [WITNESS.cosign(BODY, TIME)])
    assert len(open_note(note, [LOG_VERIFIER]).unverified) == 1


def test_count_cosignatures_names_each_trusted_witness_that_cosigned_once() -> None:
    second, second_verifier = _witness("witness.example/w2")
    _, silent_verifier = _witness("witness.example/w3")
    stranger, _ = _witness("stranger.example/w")
    lines = [
        WITNESS.cosign(BODY, TIME),
        stranger.cosign(BODY, TIME),
        second.cosign(BODY, TIME),
        WITNESS.cosign(BODY, TIME + 60),
    ]
    note = add_signature_lines(SIGNED, lines)
    trusted = [WITNESS_VERIFIER, second_verifier, silent_verifier]
    names = count_cosignatures(note, BODY, trusted)
    assert names == [WITNESS_NAME, "witness.example/w2"]
    assert len(names) >= 2  # a 2-of-3 policy is met
    assert count_cosignatures(SIGNED, BODY, trusted) == []


def test_a_bad_cosignature_from_a_trusted_witness_fails_the_count() -> None:
    note = add_signature_lines(SIGNED, [WITNESS.cosign(OTHER_BODY, TIME)])
    with pytest.raises(SignatureInvalid):
        count_cosignatures(note, BODY, [WITNESS_VERIFIER])


def test_cosignatures_are_only_counted_on_the_checkpoint_they_are_about() -> None:
    note = add_signature_lines(SIGNED, [WITNESS.cosign(BODY, TIME)])
    with pytest.raises(VerificationFailed, match="not the checkpoint"):
        count_cosignatures(note, OTHER_BODY, [WITNESS_VERIFIER])


def test_a_cosignature_timestamp_is_read_only_from_a_cosignature_shaped_line() -> None:
    with pytest.raises(MalformedLogData):
        cosignature_timestamp(SIGNED[len(BODY) + 1 :])
    too_late = format_signature_line(WITNESS_NAME, 1, (2**63).to_bytes(8, "big") + bytes(64))
    with pytest.raises(MalformedLogData):
        cosignature_timestamp(too_late)
    assert parse_signature_line(too_late).key_id == 1
