"""The identity HMAC with its key set up once is the HMAC-SHA256 every list and sign-up
before it produced: the stored digests of people who signed up must keep matching."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from dongne.adapters.secrets import KeyedSha256, Secrets


@given(key=st.binary(max_size=200), message=st.binary(max_size=300))
def test_the_keyed_sha256_is_hmac_sha256_for_any_key_and_message(
    key: bytes, message: bytes
) -> None:
    # Keys longer than SHA-256's 64-byte block are hashed first: both sides of that edge.
    assert KeyedSha256(key).hexdigest(message) == hmac.new(key, message, hashlib.sha256).hexdigest()


def test_the_keyed_sha256_gives_each_message_its_own_digest() -> None:
    keyed = KeyedSha256(b"k" * 64)
    first = keyed.hexdigest(b"9001011234567")
    assert keyed.hexdigest(b"9001011234568") != first
    assert keyed.hexdigest(b"9001011234567") == first


def test_an_identity_digest_is_the_hmac_of_the_number_without_its_hyphen() -> None:
    secrets = Secrets(pin_key=b"p", identity_key=b"identity-key")
    expected = hmac.new(b"identity-key", b"9001011234567", hashlib.sha256).hexdigest()
    assert secrets.identity_digest("900101-1234567") == expected
    assert secrets.identity_digest(" 9001011234567 ") == expected
    assert "_identity_hmac" not in repr(secrets)
