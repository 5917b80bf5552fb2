"""Alembic environment: migrations run on the connection dongne hands in (see engine.migrate)."""

from alembic import context

from dongne.adapters.db.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
