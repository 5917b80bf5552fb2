"""Where ``dongne login`` keeps its bearer token for the commands that need one.

The file is the user's alone (mode 0600) and names the database the token belongs to, so a
token from one database is never offered to another. Its place: ``DONGNE_TOKEN_FILE`` if set;
beside a SQLite database (``<database>.token``, like the log key); otherwise
``$XDG_CONFIG_HOME/dongne/token`` (``~/.config/dongne/token``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy.engine import make_url

from dongne.config import Settings


def token_file_path(settings: Settings) -> Path:
    if settings.token_file:
        return Path(settings.token_file)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(f"{url.database}.token")
    config_home = Path(settings.xdg_config_home or Path.home() / ".config")
    return config_home / "dongne" / "token"


def save_token(path: Path, *, database_url: str, token: str) -> None:
    """Write the token readable by its owner only, replacing any earlier one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # a fresh file gets the mode below, whatever the old one had
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump({"database_url": database_url, "token": token}, file)


def load_token(path: Path, *, database_url: str) -> str | None:
    """The saved token if it belongs to this database."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get("database_url") != database_url:
        return None
    token = saved.get("token")
    return token if isinstance(token, str) else None


def forget_token(path: Path) -> None:
    path.unlink(missing_ok=True)
