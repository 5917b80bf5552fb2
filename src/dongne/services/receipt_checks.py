"""A citizen's payment receipt, and its "recorded on the public ledger" check.

The check is the one anyone can run with ``dongne log verify-receipt`` or the transparency
page: the payment's ledger transaction is a leaf of the verifiable log; its inclusion proof
(``log.prove_transaction``) is taken against the latest checkpoint that the configured
witnesses cosigned (their quorum), and checked (``transparency.check_receipt``) with the
operator's key: the checkpoint's signature, the leaf's hash, the path of hashes up to the
checkpoint's root, and which witnesses' cosignatures verify. The page shows what was checked,
so a citizen can compare the root with what the witnesses publish.

A payment is sequenced and covered by a checkpoint some seconds after it commits (the
publisher's cadence), and cosigned when the witnesses answer: until then the check is
``pending``, which is the normal state of a fresh payment, not a failure.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass

from dongne.adapters.db.holding_rows import PaymentRecord
from dongne.domain.access import Principal
from dongne.services import resources, transparency
from dongne.services.unit_of_work import UnitOfWork
from dongne.tlog.cosignature import CosignatureVerifier
from dongne.tlog.errors import MalformedLogData, VerificationFailed
from dongne.tlog.note import Verifier


class LedgerState(enum.Enum):
    VERIFIED = "verified"
    """The inclusion proof and the checkpoint's signatures checked out."""
    PENDING = "pending"
    """Not yet in a checkpoint the witnesses cosigned (or not yet sequenced)."""
    FAILED = "failed"
    """The log's own proof did not verify: the log is broken or lying; say so."""


@dataclass(frozen=True)
class LedgerCheck:
    state: LedgerState
    transaction_id: int
    log_index: int | None
    """The leaf's index once sequenced."""
    leaf_hash: str | None = None
    """Base64, as the receipt writes it; set once a witnessed checkpoint covers the leaf."""
    tree_size: int | None = None
    root_hash: str | None = None
    cosigned_by: tuple[str, ...] = ()
    quorum: int = 0
    witnesses: int = 0
    """How many witnesses are configured (the quorum is out of these)."""
    receipt: str | None = None
    """The receipt (JSON, as ``dongne log prove`` prints it), to check elsewhere."""
    problem: str | None = None


@dataclass(frozen=True)
class PaymentReceipt:
    payment: PaymentRecord
    merchant_name: str
    ledger: LedgerCheck


def payment_receipt(
    uow: UnitOfWork,
    caller: Principal,
    payment_id: int,
    *,
    log_key: Verifier,
    witnesses: Sequence[CosignatureVerifier],
    quorum: int,
) -> PaymentReceipt:
    """The payment (the caller's, as ``resources.payment_of_caller`` decides) and its check."""
    payment = resources.payment_of_caller(uow, caller, payment_id)
    merchant = resources.merchant_row(uow, payment.merchant_id)
    ledger = ledger_check(
        uow, payment.transaction_id, log_key=log_key, witnesses=witnesses, quorum=quorum
    )
    return PaymentReceipt(payment, merchant.name, ledger)


def ledger_check(
    uow: UnitOfWork,
    transaction_id: int,
    *,
    log_key: Verifier,
    witnesses: Sequence[CosignatureVerifier],
    quorum: int,
) -> LedgerCheck:
    standing = resources.log_standing(uow, transaction_id, witnesses=witnesses, quorum=quorum)
    if standing.proof is None:
        return LedgerCheck(
            LedgerState.PENDING,
            transaction_id,
            standing.log_index,
            quorum=quorum,
            witnesses=len(witnesses),
        )
    receipt = json.dumps(standing.proof, indent=2)
    try:
        checked = transparency.check_receipt(
            receipt, log_key=log_key, witnesses=witnesses, quorum=quorum
        )
    except (VerificationFailed, MalformedLogData) as failed:
        return LedgerCheck(
            LedgerState.FAILED,
            transaction_id,
            standing.log_index,
            quorum=quorum,
            witnesses=len(witnesses),
            problem=failed.message,
        )
    return LedgerCheck(
        LedgerState.VERIFIED if checked.witnessed else LedgerState.PENDING,
        transaction_id,
        checked.log_index,
        leaf_hash=standing.proof["leaf_hash"],
        tree_size=checked.tree_size,
        root_hash=standing.proof["root_hash"],
        cosigned_by=checked.cosigned_by,
        quorum=quorum,
        witnesses=len(witnesses),
        receipt=receipt,
    )
