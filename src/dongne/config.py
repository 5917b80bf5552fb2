"""Settings, read once from the environment (``DONGNE_*``): the only place env vars are read."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///dongne.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DONGNE_", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL; SQLite in the working directory unless set",
    )
    database_pool_size: int = Field(default=10, ge=1, le=200)
