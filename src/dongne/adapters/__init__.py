"""I/O behind small interfaces. ``db`` holds the SQLAlchemy tables, the engine factory, the
repository the services use, and the Alembic migrations that create the schema."""
