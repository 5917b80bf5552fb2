"""I/O behind small interfaces: what the services and the composition root plug in.

``db`` holds the schema (SQLAlchemy Core), the engines, the stores the unit of work hands to
services, and the Alembic migrations. Beside it: the secrets' hashing (``secrets``), the log's
signing key on disk (``log_keys``), HTTP clients for webhooks and witnesses, a witness's own
state, the CLI's token file, and the settlement and recipient files.
"""
