"""The composition root: settings -> engine (migrated) -> unit of work."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from dongne.adapters.db.engine import make_engine, migrate
from dongne.config import Settings
from dongne.services.unit_of_work import UnitOfWork


@dataclass
class App:
    settings: Settings
    engine: Engine
    uow: UnitOfWork

    def reader(self) -> UnitOfWork:
        return UnitOfWork(self.engine, read_only=True)


def bootstrap(settings: Settings | None = None, *, database_url: str | None = None) -> App:
    """Build the app; the schema is brought up to date by running the migrations."""
    settings = settings or Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    engine = make_engine(settings.database_url, pool_size=settings.database_pool_size)
    migrate(engine)
    return App(settings, engine, UnitOfWork(engine))
