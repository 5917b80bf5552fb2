"""Signed notes: Go's vector byte for byte, and every way a note or a key can be wrong."""

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

from dongne.tlog.errors import MalformedLogData, SignatureInvalid
from dongne.tlog.note import (
    MAX_SIGNATURES,
    Signer,
    Verifier,
    add_signature_lines,
    format_signature_line,
    generate_key,
    open_note,
    parse_signature_line,
    sign_note,
    signer_key_from_seed,
    split_note,
)

VECTOR = json.loads((Path(__file__).parent / "data" / "signed-note.json").read_text("utf-8"))
SEED = bytes.fromhex(VECTOR["ed25519_seed_hex"])
NAME: str = VECTOR["name"]
SIGNED: str = VECTOR["signed_checkpoint"]
VERIFIER_KEY: str = VECTOR["verifier_key"]
TEXT = SIGNED[: SIGNED.rindex("\n\n") + 1]
SIGNATURE_LINE = SIGNED[len(TEXT) + 1 :]
KEY_ID = 0xD455C521

LOG_SIGNER = Signer.from_key(signer_key_from_seed(NAME, SEED))
LOG_VERIFIER = Verifier.from_key(VERIFIER_KEY)
OTHER_SIGNER = Signer.from_key(generate_key("other.example/log")[0])


def test_the_vector_is_a_checkpoint_with_one_signature_line() -> None:
    assert TEXT == "example.com/log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
    assert SIGNATURE_LINE.startswith("\u2014 example.com/log ")
    assert SIGNATURE_LINE.count("\n") == 1


def test_the_key_id_is_the_first_four_bytes_of_sha256_of_name_newline_type_and_key() -> None:
    public_key = (
        Ed25519PrivateKey.from_private_bytes(SEED)
        .public_key()
        .public_bytes(Encoding.Raw, PublicFormat.Raw)
    )
    digest = hashlib.sha256(NAME.encode() + b"\n" + b"\x01" + public_key).digest()
    assert int.from_bytes(digest[:4], "big") == KEY_ID == LOG_SIGNER.key_id
    assert LOG_VERIFIER.key_id == KEY_ID


def test_the_verifier_key_is_derived_from_the_seed_exactly_as_go_derives_it() -> None:
    assert LOG_SIGNER.verifier_key == VERIFIER_KEY
    assert LOG_SIGNER.name == LOG_VERIFIER.name == NAME


def test_the_signer_key_string_follows_gos_private_key_format() -> None:
    encoded = base64.b64encode(b"\x01" + SEED).decode()
    assert signer_key_from_seed(NAME, SEED) == f"PRIVATE+KEY+{NAME}+d455c521+{encoded}"


def test_our_signer_reproduces_gos_signed_checkpoint_byte_for_byte() -> None:
    assert sign_note(TEXT, [LOG_SIGNER]) == SIGNED


def test_the_go_vector_opens_with_its_verifier_key() -> None:
    opened = open_note(SIGNED, [LOG_VERIFIER])
    assert opened.text == TEXT
    assert opened.verified == [(NAME, KEY_ID)]
    assert opened.verified_lines == [SIGNATURE_LINE]
    assert opened.unverified == []


def test_the_vector_opens_from_its_utf8_bytes_too() -> None:
    assert open_note(SIGNED.encode(), [LOG_VERIFIER]).text == TEXT


@pytest.mark.parametrize("flip", [0x01, 0x02, 0x40])
def test_changing_any_single_byte_of_the_note_is_refused(flip: int) -> None:
    original = SIGNED.encode()
    for position in range(len(original)):
        changed = bytearray(original)
        changed[position] ^= flip
        with pytest.raises((MalformedLogData, SignatureInvalid)):
            open_note(bytes(changed), [LOG_VERIFIER])


def test_changing_any_character_of_the_text_breaks_the_signature() -> None:
    for position, char in enumerate(TEXT):
        if char == "\n":
            continue
        changed = TEXT[:position] + ("x" if char != "x" else "y") + TEXT[position + 1 :]
        with pytest.raises(SignatureInvalid, match="does not verify"):
            open_note(changed + "\n" + SIGNATURE_LINE, [LOG_VERIFIER])


def test_a_note_signed_by_an_unknown_key_is_refused_naming_the_trusted_keys() -> None:
    note = sign_note(TEXT, [OTHER_SIGNER])
    with pytest.raises(SignatureInvalid, match=r"example\.com/log\+d455c521") as refused:
        open_note(note, [LOG_VERIFIER])
    assert refused.value.details["trusted"] == ["example.com/log+d455c521"]


def test_a_note_is_refused_when_no_key_is_trusted() -> None:
    with pytest.raises(SignatureInvalid, match="trusted keys: none"):
        open_note(SIGNED, [])


def test_signatures_from_unknown_keys_are_kept_but_ignored() -> None:
    note = sign_note(TEXT, [OTHER_SIGNER, LOG_SIGNER])
    opened = open_note(note, [LOG_VERIFIER])
    other_line = split_note(note)[1][0]
    assert opened.verified == [(NAME, KEY_ID)]
    assert opened.unverified == [other_line]


def test_a_key_sharing_only_the_name_of_a_trusted_key_is_an_unknown_key() -> None:
    impostor = Signer.from_key(generate_key(NAME)[0])
    with pytest.raises(SignatureInvalid, match="no signature from a trusted key"):
        open_note(sign_note(TEXT, [impostor]), [LOG_VERIFIER])
    opened = open_note(sign_note(TEXT, [impostor, LOG_SIGNER]), [LOG_VERIFIER])
    assert len(opened.unverified) == 1


def test_a_bad_signature_from_a_trusted_key_refuses_the_whole_note_even_beside_a_good_one() -> None:
    forged = format_signature_line(NAME, KEY_ID, LOG_SIGNER.sign(b"some other text\n"))
    with pytest.raises(SignatureInvalid, match=r"example\.com/log\+d455c521 does not verify"):
        open_note(add_signature_lines(SIGNED, [forged]), [LOG_VERIFIER])


def test_every_trusted_signer_of_a_note_is_reported_once() -> None:
    other_verifier = Verifier.from_key(OTHER_SIGNER.verifier_key)
    note = sign_note(TEXT, [LOG_SIGNER, OTHER_SIGNER])
    doubled = add_signature_lines(note, [SIGNATURE_LINE])
    opened = open_note(doubled, [LOG_VERIFIER, other_verifier])
    assert opened.verified == [(NAME, KEY_ID), (OTHER_SIGNER.name, OTHER_SIGNER.key_id)]


def test_two_trusted_keys_with_the_same_name_and_id_are_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="share the name and id"):
        open_note(SIGNED, [LOG_VERIFIER, Verifier.from_key(VERIFIER_KEY)])


def _non_canonical(encoded: str) -> str:
    # The last character before the padding carries unused low bits: setting one changes the
    # spelling but not the bytes.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    data = encoded.rstrip("=")
    changed = alphabet[alphabet.index(data[-1]) | 1]
    return data[:-1] + changed + encoded[len(data) :]


SIGNATURE_B64 = SIGNATURE_LINE.split(" ")[2].rstrip("\n")
MALFORMED_NOTES = {
    "without the blank line": TEXT + SIGNATURE_LINE,
    "without signature lines": TEXT + "\n",
    "without the final newline": SIGNED[:-1],
    "with a blank line after the signatures": SIGNED + "\n",
    "with a hyphen for the em dash": SIGNED.replace("\u2014 ", "-- "),
    "with the em dash but no space": SIGNED.replace("\u2014 ", "\u2014"),
    "without a key name": TEXT + "\n\u2014  " + SIGNATURE_B64 + "\n",
    "without a signature": TEXT + "\n\u2014 " + NAME + "\n",
    "with an empty signature": TEXT + "\n\u2014 " + NAME + " \n",
    "with invalid base64": SIGNED.replace(SIGNATURE_B64, SIGNATURE_B64[:-1] + "!"),
    "with non-canonical base64": SIGNED.replace(SIGNATURE_B64, _non_canonical(SIGNATURE_B64)),
    "with a signature of only a key id": TEXT + "\n\u2014 " + NAME + " 1FXFIQ==\n",
    "with a tab in the text": SIGNED.replace("\n8\n", "\n8\t\n"),
    "with a NUL in the text": "\x00" + SIGNED,
    "with CRLF line ends": SIGNED.replace("\n", "\r\n"),
    "with a surrogate": "\udc80" + SIGNED,
}


@pytest.mark.parametrize("note", MALFORMED_NOTES.values(), ids=MALFORMED_NOTES.keys())
def test_a_malformed_note_is_refused_before_any_signature_is_checked(note: str) -> None:
    with pytest.raises(MalformedLogData):
        open_note(note, [LOG_VERIFIER])


def test_a_note_that_is_not_utf8_is_malformed() -> None:
    with pytest.raises(MalformedLogData, match="UTF-8"):
        open_note(b"\xff" + SIGNED.encode(), [LOG_VERIFIER])


def test_a_note_may_carry_up_to_100_signatures_but_not_more() -> None:
    unknown = format_signature_line("someone.example", 1, b"\x00" * 64)
    lines = [
        format_signature_line("someone.example", n, b"\x00" * 64) for n in range(2, MAX_SIGNATURES)
    ]
    full = SIGNED + unknown + "".join(lines)
    assert len(split_note(full)[1]) == MAX_SIGNATURES
    assert open_note(full, [LOG_VERIFIER]).verified == [(NAME, KEY_ID)]
    with pytest.raises(MalformedLogData, match="at most 100"):
        open_note(full + format_signature_line("someone.example", 0, b"\x00"), [LOG_VERIFIER])


def test_the_text_may_hold_blank_lines_because_the_last_one_separates_the_signatures() -> None:
    text = "first\n\nthird\n\n"
    note = sign_note(text, [LOG_SIGNER])
    assert open_note(note, [LOG_VERIFIER]).text == text


@given(
    st.text(st.one_of(st.characters(codec="utf-8", min_codepoint=0x20), st.just("\n")), max_size=80)
)
def test_any_text_without_control_characters_signs_and_opens_unchanged(body: str) -> None:
    text = body + "\n"
    assert open_note(sign_note(text, [LOG_SIGNER]), [LOG_VERIFIER]).text == text


@pytest.mark.parametrize(
    "text", ["", "no final newline", "a tab\there\n", "a bell\x07\n", "a surrogate \ud800\n"]
)
def test_a_text_that_could_not_be_opened_is_not_signed(text: str) -> None:
    with pytest.raises(MalformedLogData):
        sign_note(text, [LOG_SIGNER])


def test_a_note_needs_at_least_one_signer() -> None:
    with pytest.raises(ValueError, match="at least one signer"):
        sign_note(TEXT, [])


def test_split_note_gives_the_text_and_the_raw_signature_lines() -> None:
    assert split_note(SIGNED) == (TEXT, [SIGNATURE_LINE])


def test_signature_lines_are_appended_to_a_signed_note_once() -> None:
    other_line = split_note(sign_note(TEXT, [OTHER_SIGNER]))[1][0]
    note = add_signature_lines(SIGNED, [other_line, other_line, SIGNATURE_LINE])
    assert note == SIGNED + other_line


@pytest.mark.parametrize("line", ["not a signature line\n", SIGNATURE_LINE.rstrip("\n")])
def test_only_well_formed_signature_lines_are_appended(line: str) -> None:
    with pytest.raises(MalformedLogData):
        add_signature_lines(SIGNED, [line])


def test_a_signature_line_parses_into_name_key_id_and_signature() -> None:
    parsed = parse_signature_line(SIGNATURE_LINE)
    assert (parsed.name, parsed.key_id, len(parsed.signature)) == (NAME, KEY_ID, 64)
    assert parsed.line == SIGNATURE_LINE


def test_a_generated_key_pair_signs_and_verifies() -> None:
    signer_key, verifier_key = generate_key("witness.example/w1")
    signer = Signer.from_key(signer_key)
    verifier = Verifier.from_key(verifier_key)
    assert signer.verifier_key == verifier_key
    assert (signer.name, signer.key_id) == (verifier.name, verifier.key_id)
    assert verifier.verify(b"text\n", signer.sign(b"text\n"))
    assert not verifier.verify(b"text!\n", signer.sign(b"text\n"))
    assert not verifier.verify(b"text\n", signer.sign(b"text\n")[:-1])


def test_a_signers_repr_does_not_show_its_private_key() -> None:
    assert repr(LOG_SIGNER) == "Signer(example.com/log+d455c521)"


@pytest.mark.parametrize(
    "name", ["", "with space", "with+plus", "nbsp\u00a0inside", "ideographic\u3000space", "nul\x00"]
)
def test_a_key_name_must_be_non_empty_without_spaces_or_plus(name: str) -> None:
    with pytest.raises(MalformedLogData, match="key name"):
        generate_key(name)


def test_a_verifier_key_may_spell_its_key_id_in_upper_case_hex() -> None:
    assert Verifier.from_key(VERIFIER_KEY.replace("d455c521", "D455C521")).key_id == KEY_ID


_PUBLIC = VERIFIER_KEY.rsplit("+", 1)[1]
MALFORMED_VERIFIER_KEYS = {
    "empty": "",
    "only a name": NAME,
    "without key material": f"{NAME}+d455c521",
    "with a wrong key id": f"{NAME}+d455c522+{_PUBLIC}",
    "with a short key id": f"{NAME}+d455c52+{_PUBLIC}",
    "with a non-hex key id": f"{NAME}+d455c52g+{_PUBLIC}",
    "with another name": f"example.com/other+d455c521+{_PUBLIC}",
    "with a space in the name": f"example.com log+d455c521+{_PUBLIC}",
    "with the cosignature type": f"{NAME}+d455c521+"
    + base64.b64encode(b"\x04" + base64.b64decode(_PUBLIC)[1:]).decode(),
    "with a short key": f"{NAME}+d455c521+" + base64.b64encode(b"\x01" + bytes(31)).decode(),
    "with non-canonical base64": f"{NAME}+d455c521+{_non_canonical(_PUBLIC)}",
    "a signer key": signer_key_from_seed(NAME, SEED),
}


@pytest.mark.parametrize(
    "key", MALFORMED_VERIFIER_KEYS.values(), ids=MALFORMED_VERIFIER_KEYS.keys()
)
def test_a_malformed_verifier_key_is_refused(key: str) -> None:
    with pytest.raises(MalformedLogData):
        Verifier.from_key(key)


_SIGNER_KEY = signer_key_from_seed(NAME, SEED)
MALFORMED_SIGNER_KEYS = {
    "a verifier key": VERIFIER_KEY,
    "without the PRIVATE+KEY prefix": _SIGNER_KEY.removeprefix("PRIVATE+KEY+"),
    "with a key id not of its key": _SIGNER_KEY.replace("d455c521", "d455c522"),
    "with another name": _SIGNER_KEY.replace(NAME, "example.com/other"),
    "with the cosignature type": _SIGNER_KEY.rsplit("+", 1)[0]
    + "+"
    + base64.b64encode(b"\x04" + SEED).decode(),
    "with a short seed": _SIGNER_KEY.rsplit("+", 1)[0]
    + "+"
    + base64.b64encode(b"\x01" + SEED[:-1]).decode(),
}


@pytest.mark.parametrize("key", MALFORMED_SIGNER_KEYS.values(), ids=MALFORMED_SIGNER_KEYS.keys())
def test_a_malformed_signer_key_is_refused(key: str) -> None:
    with pytest.raises(MalformedLogData):
        Signer.from_key(key)
