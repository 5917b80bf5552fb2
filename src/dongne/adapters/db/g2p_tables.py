"""G2P Connect: messages from welfare systems, their disbursements, and the callbacks owed.

``g2p_messages`` keeps one row per message a partner sent (UNIQUE per partner and
``message_id``, so a resent message is answered, not run again) with the acknowledgement it
got and, once processed, the answer (a ``DisburseResponse``, ``SearchResponse`` or
``TxnStatusResponse``). ``g2p_disbursements`` keeps one row per instruction that was accepted
(UNIQUE per partner and ``reference_id``: idempotent per reference); its money moves as a row
of an allowance upload (``upload_id``, ``row_number``), so the grant, its ledger transaction
and its later claim are the allowance program's own. ``g2p_callbacks`` is the outbox of
``/on-disburse``-style callbacks: written in the transaction that decided their content, sent
after commit, retried with backoff. No identity number is stored: a ``rrn:`` address is kept
as the ``token:`` form of its HMAC.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from dongne.adapters.db.tables import Id, Timestamp, Won, id_column, metadata, region_column

g2p_messages = Table(
    "g2p_messages",
    metadata,
    id_column(),
    region_column(),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=False),
    Column("message_id", String(100), nullable=False, comment="the sender's header.message_id"),
    Column("request_digest", String(64), nullable=False, comment="SHA-256 of the request"),
    Column("transaction_id", String(100), nullable=False, comment="the sender's transaction_id"),
    Column("correlation_id", String(40), nullable=False, unique=True, comment="ours, in the ack"),
    Column("action", String(20), nullable=False, comment="disburse, search, txn_status"),
    Column("mode", String(10), nullable=False, comment="async (callback) or sync"),
    Column("sender_id", String(100), nullable=False),
    Column("callback_url", String(500), nullable=True, comment="async: where the answer goes"),
    Column("status", String(20), nullable=False, comment="rcvd, processing, done"),
    Column("ack", JSON, nullable=False, comment="the acknowledgement, answered to a resend"),
    Column("response", JSON, nullable=True, comment="the answer's message, once done"),
    Column("received_at", Timestamp, nullable=False),
    Column("completed_at", Timestamp, nullable=True),
    UniqueConstraint("partner_id", "message_id", name="uq_g2p_messages_partner_message"),
    Index("ix_g2p_messages_status", "status"),
)

g2p_disbursements = Table(
    "g2p_disbursements",
    metadata,
    id_column(),
    region_column(),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=False),
    Column("message_row_id", Id, ForeignKey("g2p_messages.id"), nullable=False, index=True),
    Column("reference_id", String(100), nullable=False),
    Column("transaction_id", String(100), nullable=False),
    Column("payer_fa", String(200), nullable=False),
    Column("payee_fa", String(200), nullable=False, comment="normalized; rrn: kept as token:"),
    Column("program_id", Id, ForeignKey("allowance_programs.id"), nullable=False),
    Column("identity_hmac", String(64), nullable=True, comment="null until resolved"),
    Column("amount_won", Won, nullable=False),
    Column("status", String(10), nullable=False, comment="rcvd, pdng, succ, rjct"),
    Column("reason_code", String(40), nullable=True),
    Column("reason_message", String(300), nullable=True),
    Column("upload_id", Id, ForeignKey("recipient_uploads.id"), nullable=True),
    Column("row_number", Integer, nullable=True),
    Column("received_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("partner_id", "reference_id", name="uq_g2p_disbursements_reference"),
    Index("ix_g2p_disbursements_transaction", "partner_id", "transaction_id"),
    Index("ix_g2p_disbursements_payee", "partner_id", "payee_fa"),
)

g2p_callbacks = Table(
    "g2p_callbacks",
    metadata,
    id_column(),
    region_column(),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=False),
    Column("message_row_id", Id, ForeignKey("g2p_messages.id"), nullable=False),
    Column("url", String(500), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Timestamp, nullable=False),
    Column("delivered_at", Timestamp, nullable=True),
    Column("last_error", String(500), nullable=True),
    Index("ix_g2p_callbacks_due", "delivered_at", "next_attempt_at"),
)
