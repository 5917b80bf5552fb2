"""Throughput benchmarks for dongne's service layer (``make bench``; never run in CI).

Payments and purchases go through the same use cases the CLI calls, one database transaction
each, on SQLite and on PostgreSQL, sequentially and with parallel clients. Every PostgreSQL
figure is set against ``pgbench``'s TPC-B-like run on the same server in the same run.

The verifiable log (``bench.log``) is measured against raw ``hashlib`` in the same run: the
tree alone, the sequencer through each database, inclusion proofs and the audit.
``python -m bench --only log`` runs that part alone.

Payments over HTTP (``bench.http``, ``--only http``): a uvicorn server on PostgreSQL in a process
of its own, a load generator in another, 8 and 32 clients and an open loop at half the peak,
against pgbench with the same client counts; latency percentiles and the server's memory.
"""
