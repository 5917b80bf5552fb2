"""Opening the app on a schema already at the newest revision reads one row, not Alembic's
scripts: the newest revision the files' names say must be the one Alembic would reach."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from dongne.adapters.db.engine import (
    MIGRATIONS,
    make_engine,
    migrate,
    newest_revision,
    schema_revision,
)


def test_the_newest_revision_by_file_name_is_alembics_only_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(config)
    assert scripts.get_heads() == [newest_revision()]
    for script in scripts.walk_revisions():
        assert Path(script.path).name.startswith(f"{script.revision}_")


def test_an_older_schema_is_still_brought_to_the_newest_revision(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        assert schema_revision(engine) is None
        migrate(engine, "0027")
        assert schema_revision(engine) == "0027"
        migrate(engine)
        assert schema_revision(engine) == newest_revision()
        migrate(engine)  # at the newest already: nothing to do, nothing refused
        assert schema_revision(engine) == newest_revision()
    finally:
        engine.dispose()
