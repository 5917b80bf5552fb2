"""A server worker freezes what it made at start-up, so the cyclic garbage collector's full
collections (a pause for every request in flight) no longer walk the app and its modules."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from dongne.bootstrap import bootstrap
from dongne.config import Settings
from dongne.entrypoints.api.app import create_app
from dongne.entrypoints.api.serving import freeze_start_up
from tests.conftest import migrated_sqlite_url


@pytest.fixture
def unfrozen_afterwards() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # this test process makes apps by the thousand: none may stay frozen


def test_a_workers_start_up_objects_leave_the_collectors_walk(
    unfrozen_afterwards: None, tmp_path: Path
) -> None:
    database_url = migrated_sqlite_url(tmp_path / "dongne.db")
    app = create_app(bootstrap(Settings(database_url=database_url)), publish=False)
    walked_before = len(gc.get_objects())

    assert freeze_start_up(app) is app

    assert gc.get_freeze_count() >= walked_before // 2
    assert len(gc.get_objects()) < walked_before // 10
