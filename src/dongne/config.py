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

    log_origin: str = Field(
        default="dongne.localhost/log",
        description="the log's origin line (C2SP tlog-checkpoint); also the signing key's name",
        pattern=r"^[^\s+]+$",
    )
    log_signer_key_path: str | None = Field(
        default=None,
        description="the operator's signed-note private key file; on SQLite, <database>.log-key"
        " beside the database (created on first use) unless set",
    )
    log_checkpoint_interval_seconds: float = Field(
        default=1.0,
        ge=0.0,
        description="a new checkpoint at most this often while leaves are waiting",
    )
    log_witnesses: list[str] = Field(
        default_factory=list,
        description="witnesses the log pushes checkpoints to, each '<url> <verifier key>'",
    )
    log_witness_quorum: int = Field(
        default=0, ge=0, description="cosignatures a checkpoint needs to count as witnessed"
    )
    log_auditor_token_sha256: list[str] = Field(
        default_factory=list,
        description="SHA-256 (hex) of the bearer tokens that may read entry bundles",
    )
