"""The operator's signing key on disk.

A key file holds one signed-note private key string (Go's ``PRIVATE+KEY+name+id+data``); the
verifier key string is written beside it as ``<file>.pub``. On the embedded default (SQLite in
a file) a key is created on first use beside the database, so ``dongne demo`` signs without set-
up; any other database needs ``DONGNE_LOG_SIGNER_KEY_PATH``, because a production key must be
made on purpose and kept safe, not appear by accident.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url

from dongne.config import Settings
from dongne.domain.errors import Conflict, InvalidInput, NotFound
from dongne.tlog.note import Signer, generate_key

PRIVATE_KEY_MODE = 0o600


class LogKeyMissing(NotFound):
    """No signing key is configured for a log that is not the embedded default."""

    code = "LOG_KEY_MISSING"


class LogKeyMismatch(InvalidInput):
    """The key file's key name is not the log's origin."""

    code = "LOG_KEY_MISMATCH"


def signer_key_path(settings: Settings) -> tuple[Path, bool]:
    """Where the key lives, and whether it may be created there on first use."""
    if settings.log_signer_key_path:
        return Path(settings.log_signer_key_path), False
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(f"{url.database}.log-key"), True
    raise LogKeyMissing(
        "no log signing key is configured: run `dongne log keygen FILE` and set"
        " DONGNE_LOG_SIGNER_KEY_PATH=FILE"
    )


def load_signer(settings: Settings) -> Signer:
    path, create = signer_key_path(settings)
    if create and not path.exists():
        write_key_pair(path, settings.log_origin)
    return read_signer(path, settings.log_origin)


def read_signer(path: Path, origin: str) -> Signer:
    """The key in ``path``, which must be named for the log's origin."""
    if not path.exists():
        raise LogKeyMissing(f"the log signing key file {path} does not exist")
    signer = Signer.from_key(path.read_text(encoding="utf-8").strip())
    if signer.name != origin:
        raise LogKeyMismatch(
            f"the key in {path} is named {signer.name!r} but the log's origin is"
            f" {origin!r}; a checkpoint's key name is its origin"
        )
    return signer


def write_key_pair(path: Path, name: str, *, overwrite: bool = False) -> str:
    """Write a new private key (mode 0600) and ``<path>.pub``; return the verifier key."""
    if path.exists() and not overwrite:
        raise Conflict(f"{path} already exists; a log's key is never replaced silently")
    signer_key, verifier_key = generate_key(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_KEY_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as key_file:
        key_file.write(signer_key + "\n")
    Path(f"{path}.pub").write_text(verifier_key + "\n", encoding="utf-8")
    return verifier_key
