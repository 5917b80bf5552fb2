"""The database, on SQLite (embedded) and PostgreSQL through one code path.

``tables`` and the ``*_tables`` modules describe the schema the migrations create; ``engine``
makes engines; the stores read and write it for the unit of work: ``ledger_store`` (accounts,
sharded balances, balanced transactions, idempotency keys), ``log_store`` (the verifiable log)
and a records module per subject. Invariants are enforced here a second time: CHECK
constraints, append-only ledger triggers and, on PostgreSQL, a deferred check that each
ledger transaction sums to zero.
"""
