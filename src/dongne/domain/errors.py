"""The one error tree of dongne.

::

    DongneError                       code: a stable machine-readable string
    ├── InvalidInput                  a malformed argument (INVALID_INPUT, INVALID_AMOUNT, ...)
    │   ├── IdempotencyKeyRequired, InvalidAmount, InvalidPurchaseUnit, InvalidBusinessNumber
    │   ├── InvalidProgramSettings, InvalidCursor, WebhookSignatureInvalid
    │   ├── WebhookUrlNotAllowed      a webhook aimed at a private address (production)
    │   ├── QrInvalid
    │   │   └── QrCrcMismatch
    │   ├── InvalidAllowanceProgram                       [domain.allowances]
    │   ├── RecipientFileInvalid                          [domain.allowances]
    │   │   └── RecipientFileTooLarge                     [domain.allowances]
    │   ├── InvalidBankAccount, RejectionReasonRequired   [domain.merchant_applications]
    │   ├── InvalidFeeTiers                               [domain.settlement]
    │   ├── InvalidWalkingSettings, InvalidStepCount      [domain.walking]
    │   ├── G2pEnvelopeInvalid                            [domain.g2p]
    │   ├── StepReportDateOutOfRange                      [domain.walking]
    │   ├── ApprovalKindUnavailable                       [domain.approvals]
    │   ├── MalformedLeaf                                 [domain.leaf]
    │   ├── InvalidCardNumber                             [domain.cards]
    │   ├── ClearingFileInvalid                           [domain.card_clearing]
    │   ├── CardMessageInvalid                            [domain.cards]
    │   ├── PaperSerialMalformed, PaperCheckDigitWrong    [domain.paper]
    │   ├── PaperRangeInvalid                             [domain.paper]
    │   ├── MalformedLogData                              [tlog.errors]
    │   ├── BackupToolMissing                             [adapters.backups]
    │   ├── LogKeyMismatch                                [adapters.log_keys]
    │   └── LogKeyUnchanged                               [services.log_key_rotation]
    ├── NotFound                      REGION_NOT_FOUND, WALLET_NOT_FOUND, ...
    │   ├── RegionNotFound, ProgramNotFound, CitizenNotFound, WalletNotFound, MerchantNotFound
    │   ├── PurchaseNotFound, PaymentNotFound, TransactionNotFound, RecipientNotFound
    │   ├── PaymentIntentNotFound, PaymentCodeNotFound, PaymentRequestNotFound
    │   ├── DynamicQrNotFound
    │   ├── AllowanceProgramNotFound, RecipientUploadNotFound  [domain.allowances]
    │   ├── FraudAlertNotFound                            [domain.fraud]
    │   ├── MerchantApplicationNotFound                   [domain.merchant_applications]
    │   ├── SettlementNotFound                            [domain.settlement]
    │   ├── WalkingProgramNotFound, WalkerNotFound        [domain.walking]
    │   ├── CardNotFound                                  [domain.cards]
    │   ├── ApprovalRequestNotFound                       [domain.approvals]
    │   ├── ProgramChangeNotFound                         [domain.program_timeline]
    │   ├── ReportNotFound                                [domain.reports]
    │   ├── PaperPrintOrderNotFound, PaperAgentNotFound   [domain.paper]
    │   ├── PaperVouchersNotFound                         [domain.paper]
    │   └── LogKeyMissing                                 [adapters.log_keys]
    ├── Conflict                      ALREADY_EXISTS, IDEMPOTENCY_KEY_REUSED, ...
    │   ├── AlreadyExists, IdempotencyKeyReused, DuplicateOrderReference
    │   ├── PaymentCodeUsed, PaymentRequestClosed, DynamicQrPaid
    │   ├── PaymentIntentUnexpectedState
    │   │   └── PaymentIntentAlreadyCaptured
    │   ├── FraudAlertResolved                            [domain.fraud]
    │   ├── MerchantApplicationDecided                    [domain.merchant_applications]
    │   ├── MerchantApplicationPending                    [domain.merchant_applications]
    │   ├── MerchantStatusChangeNotAllowed                [domain.merchant_applications]
    │   ├── SettlementAlreadyRun                          [domain.settlement]
    │   ├── CardStatusChangeNotAllowed                    [domain.cards]
    │   ├── ApprovalRequired, ApprovalAlreadyDecided      [domain.approvals]
    │   ├── G2pMessageIdReused                            [domain.g2p]
    │   ├── PaperVoucherAlreadyRedeemed                   [domain.paper]
    │   ├── PaperVoucherAlreadyExchanged                  [domain.paper]
    │   ├── PaperRangeUnavailable                         [domain.paper]
    │   ├── BackupBehindCheckpoint, RestoredLogDiverges   [domain.backups]
    │   ├── NotYetInLog               a transaction not yet sequenced   [services.log]
    │   └── LogKeyRetired, LogKeyRotationPending          [services.log_key_rotation]
    ├── RuleViolation                 a money rule refused the operation
    │   ├── MonthlyLimitExceeded, AnnualLimitExceeded, HoldingLimitExceeded, NotAResident
    │   ├── BudgetExhausted, InsufficientBalance, MerchantNotEligible, PaymentLimitExceeded
    │   ├── CancellationWindowClosed, PurchaseAlreadyUsed, PurchaseAlreadyCancelled
    │   ├── CancellationExceedsPayment, GiftSendLimitExceeded, GiftReceiveLimitExceeded
    │   ├── GiftNotAllowed, RefundThresholdNotMet, NothingToRefund, MerchantBanned
    │   ├── CaptureExceedsAmount, RefundExceedsCaptured, PaymentIntentExpired
    │   ├── PaymentCodeExpired, PaymentRequestExpired, DynamicQrExpired
    │   ├── AllowanceBudgetShort, AllowanceNotValidNow    [domain.allowances]
    │   ├── AllowanceProgramStillValid                    [domain.allowances]
    │   ├── SettlementOutOfOrder, SettlementDayNotOver    [domain.settlement]
    │   ├── WalkingProgramInactive                        [domain.walking]
    │   ├── ApprovalExpired                               [domain.approvals]
    │   ├── ProgramChangeInThePast                        [domain.program_timeline]
    │   ├── PaperSecurityCodeWrong, PaperVoucherNotSold   [domain.paper]
    │   ├── PaperVoucherDestroyed, PaperVoucherOtherRegion  [domain.paper]
    │   └── PaperVoucherExpired, PaperBuyerLimitExceeded  [domain.paper]
    ├── LedgerUnbalanced              an internal invariant: a transaction did not sum to zero
    ├── SaleQueueWaiting              not a refusal: the wallet's place in the sale's line
    ├── CardDeclined                  a card network request refused   [domain.cards]
    ├── DatabaseUnavailable           the database out of reach for longer than a failover
    ├── Unauthenticated               AUTHENTICATION_REQUIRED   [domain.access]
    │   └── InvalidCredentials                            [domain.access]
    ├── LoginThrottled                                    [domain.access]
    ├── RateLimited                                       [domain.rate_limits]
    ├── Forbidden                                         [domain.access]
    │   └── OwnApprovalRequest                            [domain.approvals]
    ├── PinIncorrect, PinLocked, PinNotSet                [domain.access]
    └── VerificationFailed            a signature or proof that does not hold   [tlog.errors]
        └── SignatureInvalid, ProofInvalid                [tlog.errors]

A class marked ``[module]`` is defined in ``dongne.<module>``, beside the rules that raise it;
the others are defined here. ``tests/unit/test_errors.py`` imports every module of the package
and fails when a ``DongneError`` subclass is missing from this drawing or drawn under another
parent than its base, so a new error class is drawn here in the same commit.

Each error carries its ``code``, a human ``message`` and ``details`` (the numbers that explain
it). Entry points map codes to exit statuses and HTTP problems; nothing in here knows of them.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DongneError(Exception):
    """Root of every error dongne raises on purpose."""

    code: ClassVar[str] = "DONGNE_ERROR"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}


class InvalidInput(DongneError):
    """An argument is malformed: a negative amount, an unknown category, a bad setting."""

    code = "INVALID_INPUT"


class IdempotencyKeyRequired(InvalidInput):
    """A request that moves money came without an Idempotency-Key."""

    code = "IDEMPOTENCY_KEY_REQUIRED"


class InvalidAmount(InvalidInput):
    """An amount is not a positive whole number of won."""

    code = "INVALID_AMOUNT"


class InvalidPurchaseUnit(InvalidInput):
    """A purchase's face value is not a multiple of the program's purchase unit."""

    code = "INVALID_PURCHASE_UNIT"


class InvalidBusinessNumber(InvalidInput):
    """A business registration number is not 10 digits with a valid check digit."""

    code = "INVALID_BUSINESS_NUMBER"


class InvalidProgramSettings(InvalidInput):
    """A voucher program setting is outside what the guideline allows."""

    code = "INVALID_PROGRAM_SETTINGS"


class NotFound(DongneError):
    """The thing asked for does not exist (or is not visible to the caller)."""

    code = "NOT_FOUND"


class RegionNotFound(NotFound):
    code = "REGION_NOT_FOUND"


class ProgramNotFound(NotFound):
    code = "PROGRAM_NOT_FOUND"


class CitizenNotFound(NotFound):
    code = "CITIZEN_NOT_FOUND"


class WalletNotFound(NotFound):
    code = "WALLET_NOT_FOUND"


class MerchantNotFound(NotFound):
    code = "MERCHANT_NOT_FOUND"


class PurchaseNotFound(NotFound):
    code = "PURCHASE_NOT_FOUND"


class PaymentNotFound(NotFound):
    code = "PAYMENT_NOT_FOUND"


class TransactionNotFound(NotFound):
    code = "TRANSACTION_NOT_FOUND"


class Conflict(DongneError):
    """The request contradicts what is already stored."""

    code = "CONFLICT"


class AlreadyExists(Conflict):
    """A region code, a program, a wallet or a merchant registration already exists."""

    code = "ALREADY_EXISTS"


class IdempotencyKeyReused(Conflict):
    """The idempotency key was first used for a different request."""

    code = "IDEMPOTENCY_KEY_REUSED"


class RuleViolation(DongneError):
    """A money rule refused the operation; nothing was changed."""

    code = "RULE_VIOLATION"


class MonthlyLimitExceeded(RuleViolation):
    """The purchase would take the wallet past the program's monthly purchase limit."""

    code = "MONTHLY_LIMIT_EXCEEDED"


class AnnualLimitExceeded(RuleViolation):
    """The purchase would take the wallet past the program's annual purchase limit."""

    code = "ANNUAL_LIMIT_EXCEEDED"


class HoldingLimitExceeded(RuleViolation):
    """The wallet would hold more purchased value than the program's holding limit."""

    code = "HOLDING_LIMIT_EXCEEDED"


class NotAResident(RuleViolation):
    """The program sells to residents only and the citizen lives elsewhere."""

    code = "NOT_A_RESIDENT"


class BudgetExhausted(RuleViolation):
    """The month's discount budget is spent and the program stops selling when that happens."""

    code = "BUDGET_EXHAUSTED"


class InsufficientBalance(RuleViolation):
    """The wallet does not hold enough value usable at this merchant."""

    code = "INSUFFICIENT_BALANCE"


class MerchantNotEligible(RuleViolation):
    """The merchant cannot take these vouchers: other region, inactive, excluded, too large."""

    code = "MERCHANT_NOT_ELIGIBLE"


class PaymentLimitExceeded(RuleViolation):
    """The payment is larger than the program's maximum single payment."""

    code = "PAYMENT_LIMIT_EXCEEDED"


class CancellationWindowClosed(RuleViolation):
    """The purchase is older than the program's cancellation window."""

    code = "CANCELLATION_WINDOW_CLOSED"


class PurchaseAlreadyUsed(RuleViolation):
    """Part of the purchase was spent, gifted or expired: only untouched purchases cancel."""

    code = "PURCHASE_ALREADY_USED"


class PurchaseAlreadyCancelled(RuleViolation):
    code = "PURCHASE_ALREADY_CANCELLED"


class CancellationExceedsPayment(RuleViolation):
    """The amount to cancel is more than what is left of the payment."""

    code = "CANCELLATION_EXCEEDS_PAYMENT"


class GiftSendLimitExceeded(RuleViolation):
    code = "GIFT_SEND_LIMIT_EXCEEDED"


class GiftReceiveLimitExceeded(RuleViolation):
    code = "GIFT_RECEIVE_LIMIT_EXCEEDED"


class GiftNotAllowed(RuleViolation):
    """A gift to oneself, or between wallets of different regions."""

    code = "GIFT_NOT_ALLOWED"


class RefundThresholdNotMet(RuleViolation):
    """No lot has had enough of its face value spent to refund the rest."""

    code = "REFUND_THRESHOLD_NOT_MET"


class NothingToRefund(RuleViolation):
    """The wallet holds no refundable (purchased or gifted) value."""

    code = "NOTHING_TO_REFUND"


class MerchantBanned(RuleViolation):
    """The business was cancelled for cash-out fraud less than a year ago."""

    code = "MERCHANT_BANNED"


class LedgerUnbalanced(DongneError):
    """A ledger transaction's postings did not sum to zero: a bug, never user input."""

    code = "LEDGER_UNBALANCED"


class PaymentIntentNotFound(NotFound):
    """No such payment intent, or one another partner (or citizen) created or approved."""

    code = "PAYMENT_INTENT_NOT_FOUND"


class DuplicateOrderReference(Conflict):
    """The partner already created a payment intent for this order reference."""

    code = "DUPLICATE_ORDER_REFERENCE"


class PaymentIntentUnexpectedState(Conflict):
    """The payment intent's status does not allow this step (``details['status']`` says which)."""

    code = "PAYMENT_INTENT_UNEXPECTED_STATE"


class PaymentIntentAlreadyCaptured(PaymentIntentUnexpectedState):
    """A capture of a payment intent that was already captured: a payment is captured once."""

    code = "PAYMENT_INTENT_ALREADY_CAPTURED"


class PaymentIntentExpired(RuleViolation):
    """An approval of a payment intent at or after its ``expires_at``: the citizen took too
    long, and the partner creates a new intent (``details['expired_at']`` says when)."""

    code = "PAYMENT_INTENT_EXPIRED"


class CaptureExceedsAmount(RuleViolation):
    """A capture of more than the payment intent's amount (the citizen approved no more)."""

    code = "CAPTURE_EXCEEDS_AMOUNT"


class RefundExceedsCaptured(RuleViolation):
    """A refund of more than what is captured and not yet refunded."""

    code = "REFUND_EXCEEDS_CAPTURED"


class WebhookSignatureInvalid(InvalidInput):
    """A webhook's ``Dongne-Signature`` header is malformed, does not match, or is too old."""

    code = "WEBHOOK_SIGNATURE_INVALID"


class WebhookUrlNotAllowed(InvalidInput):
    """A webhook URL that points at a loopback, private, link-local, multicast or reserved
    address, refused in production so a partner cannot aim dongne at its own network
    (``details['reason']`` says which)."""

    code = "WEBHOOK_URL_NOT_ALLOWED"


class InvalidCursor(InvalidInput):
    """A pagination cursor that this API did not hand out (or that was altered)."""

    code = "INVALID_CURSOR"


class RecipientNotFound(NotFound):
    """No citizen with that phone number has a wallet in the sender's region."""

    code = "RECIPIENT_NOT_FOUND"


class QrInvalid(InvalidInput):
    """A scanned QR payload is not a well-formed dongne merchant code (EMVCo MPM)."""

    code = "QR_INVALID"


class QrCrcMismatch(QrInvalid):
    """A scanned QR payload's CRC (tag 63) does not match: misread or altered."""

    code = "QR_CRC_MISMATCH"


class PaymentCodeNotFound(NotFound):
    """No payment code matches what the merchant scanned."""

    code = "PAYMENT_CODE_NOT_FOUND"


class PaymentCodeUsed(Conflict):
    """A one-time payment code has already paid once."""

    code = "PAYMENT_CODE_USED"


class PaymentCodeExpired(RuleViolation):
    """A one-time payment code is past its expiry; the citizen shows a fresh one."""

    code = "PAYMENT_CODE_EXPIRED"


class PaymentRequestNotFound(NotFound):
    """No remote payment request with this id is visible to the caller."""

    code = "PAYMENT_REQUEST_NOT_FOUND"


class PaymentRequestClosed(Conflict):
    """A remote payment request was already paid or declined."""

    code = "PAYMENT_REQUEST_CLOSED"


class PaymentRequestExpired(RuleViolation):
    """A remote payment request is past its expiry and can no longer be approved."""

    code = "PAYMENT_REQUEST_EXPIRED"


class DynamicQrNotFound(NotFound):
    """No dynamic QR code (one sale's) is the caller's, or matches the scanned payload."""

    code = "DYNAMIC_QR_NOT_FOUND"


class DynamicQrPaid(Conflict):
    """A dynamic QR code has already been paid: it pays one sale, once."""

    code = "DYNAMIC_QR_PAID"


class DynamicQrExpired(RuleViolation):
    """A dynamic QR code is past its expiry; the merchant shows a new one."""

    code = "DYNAMIC_QR_EXPIRED"


class SaleQueueWaiting(DongneError):
    """A purchase during a sale from a wallet not yet admitted by the sale queue; the wallet
    now holds a place in line (``details``: position, estimated_wait_seconds,
    retry_after_seconds). Not a refusal: retrying after ``retry_after_seconds`` keeps the place.
    """

    code = "SALE_QUEUE_WAITING"


class DatabaseUnavailable(DongneError):
    """The database could not be reached, or took no writes, for longer than a failover takes
    (``details``: retry_after_seconds). Not the request's fault: sent again under the same
    idempotency key, it is done once. ``details['outcome_unknown']`` is true when the
    connection broke during the commit of a request that claimed no idempotency key, so it may
    have been done."""

    code = "DATABASE_UNAVAILABLE"
