"""A server worker freezes what it made at start-up, so the cyclic garbage collector's full
collections (a pause for every request in flight) no longer walk the app and its modules.

Checked in a fresh interpreter, as a worker starts: in the test process, whose heap holds the
whole suite's objects, the freeze's own full collection would take seconds, and what it froze
would stay frozen for the tests after it. The routes' handlers, which FastAPI builds on an
app's first request, are built before the freeze: that first request makes almost nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import migrated_sqlite_url

A_WORKER_STARTS = """
import gc, json, sys
from dongne.bootstrap import bootstrap
from dongne.config import Settings
from dongne.entrypoints.api.app import create_app
from dongne.entrypoints.api.serving import freeze_start_up

app = create_app(bootstrap(Settings(database_url=sys.argv[1])), publish=False)
walked_before = len(gc.get_objects())
same_app = freeze_start_up(app) is app
frozen, walked_after = gc.get_freeze_count(), len(gc.get_objects())
from starlette.testclient import TestClient
with TestClient(app) as client:
    gc.collect()
    before_first_request = len(gc.get_objects())
    client.get("/no/such/page")  # tried against every router: it would build every handler
    gc.collect()
    made_by_first_request = len(gc.get_objects()) - before_first_request
print(json.dumps([same_app, walked_before, frozen, walked_after, made_by_first_request]))
"""


def test_a_workers_start_up_objects_leave_the_collectors_walk(tmp_path: Path) -> None:
    database_url = migrated_sqlite_url(tmp_path / "dongne.db")
    ran = subprocess.run(  # noqa: S603 - this interpreter running the script above
        [sys.executable, "-c", A_WORKER_STARTS, database_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    same_app, walked_before, frozen, walked_after, made_by_first_request = json.loads(
        ran.stdout.splitlines()[-1]
    )

    assert same_app
    assert frozen >= walked_before // 2
    assert walked_after < walked_before // 10
    assert made_by_first_request < 5_000, "the handlers were built at start-up, and frozen"
