"""Errors of the verifiable log.

::

    DongneError
    ├── InvalidInput
    │   └── MalformedLogData          MALFORMED_LOG_DATA: a note, checkpoint, key, proof or tile
    │                                 path that does not parse (the message says which and why)
    └── VerificationFailed            VERIFICATION_FAILED: well-formed data that does not check out
        ├── SignatureInvalid          SIGNATURE_INVALID: no trusted key signed the note
        └── ProofInvalid              PROOF_INVALID: an inclusion or consistency proof fails

They sit under dongne's one error tree so the CLI and the API map them like any other error.
"""

from __future__ import annotations

from dongne.domain.errors import DongneError, InvalidInput


class MalformedLogData(InvalidInput):
    """A note, checkpoint, key string, proof or tile path does not follow its format."""

    code = "MALFORMED_LOG_DATA"


class VerificationFailed(DongneError):
    """Well-formed log data that does not verify: the log or a witness may be lying."""

    code = "VERIFICATION_FAILED"


class SignatureInvalid(VerificationFailed):
    """A signed note carries no valid signature from a key the verifier trusts."""

    code = "SIGNATURE_INVALID"


class ProofInvalid(VerificationFailed):
    """An inclusion or consistency proof does not lead to the claimed root."""

    code = "PROOF_INVALID"
