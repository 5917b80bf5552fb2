"""A network partition under load: on the formation of `make ha-netns` (each node in a network
namespace of its own), the primary is cut off from the monitor, the standby and the server.
A writer inside the primary's namespace still reaches it, and its write is never acknowledged:
with synchronous replication the commit waits for the standby, until the primary's keeper,
alone for 5 s, demotes it. The monitor promotes the standby, the clients keep going on it, and
when the network is back the old primary rejoins as the standby without the write: no write
was acknowledged by two primaries. Then the chaos tests' checks: every acknowledged payment in
the ledger once, none twice, the log whole, the audit passed.

Skipped, with the reason, unless `make ha-netns` is up and the test runs as root.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dongne.adapters.db.engine import make_engine
from tests.chaos.formation import NAMESPACES, server_port
from tests.chaos.harness import Load, Server, check_nothing_lost_or_doubled, seeded_world

DATABASE = "dongne_partition"
PAYMENTS = 80
RECOVERY_TIMEOUT_S = 120.0
PROBE_TIMEOUT_S = 60
ADDRESS_OF = {"node1": ("10.77.0.11", 55441), "node2": ("10.77.0.12", 55442)}


@pytest.fixture
def netns_database() -> Iterator[str]:
    problem = NAMESPACES.problem()
    if problem:
        pytest.skip(problem)
    with NAMESPACES.database(DATABASE) as url:
        yield url


def libpq(node: str) -> str:
    host, port = ADDRESS_OF[node]
    return f"postgresql://postgres@{host}:{port}/{DATABASE}?connect_timeout=3"


def write_from_inside(node: str) -> subprocess.Popen[str]:
    """An insert sent to ``node`` from within its own namespace, which the partition spares."""
    command = ["ip", "netns", "exec", f"dongne-{node}", "timeout", str(PROBE_TIMEOUT_S)]
    command += ["psql", "-X", libpq(node), "-c", "insert into partition_probe values (42)"]
    return subprocess.Popen(  # noqa: S603 - fixed arguments
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def probe_rows(node: str) -> int:
    with psycopg.connect(libpq(node)) as connection:
        found = connection.execute("select count(*) from partition_probe").fetchone()
    return int(found[0]) if found else -1


def test_a_partitioned_primary_acknowledges_nothing_and_payments_go_on(
    netns_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = seeded_world(netns_database)
    engine = make_engine(netns_database, pool_size=2)
    with engine.begin() as connection:
        connection.exec_driver_sql("create table partition_probe (value integer)")
    old_primary = server_port(engine)
    server = Server(netns_database, tmp_path)
    load = Load(server.base_url, world)
    cut = ""
    try:
        server.start()
        load.start()
        assert load.wait_for_payments(PAYMENTS, since=0, timeout_s=RECOVERY_TIMEOUT_S)
        cut_at = time.monotonic()
        cut = NAMESPACES.ha("partition")
        probe = write_from_inside(cut)
        resumed = load.wait_for_payments(PAYMENTS, since=cut_at + 0.5, timeout_s=RECOVERY_TIMEOUT_S)
        load.stop()
        ended_at = time.monotonic()
        probe_output, _ = probe.communicate(timeout=PROBE_TIMEOUT_S + 5)
        assert resumed, "payments did not resume after the partition"
        assert server_port(engine) != old_primary, "the standby was not promoted"
        assert probe.returncode != 0, f"the cut-off primary acknowledged a write: {probe_output}"
        assert "INSERT 0 1" not in probe_output
        NAMESPACES.ha("heal", cut)
        NAMESPACES.ha("wait")
        healed = cut
        cut = ""
        assert probe_rows(healed) == probe_rows("node2" if healed == "node1" else "node1") == 0
        facts = check_nothing_lost_or_doubled(engine, load, server)
        gap = load.longest_gap_s(cut_at, ended_at)
    finally:
        load.stop()
        server.stop()
        engine.dispose()
        if cut:
            NAMESPACES.ha("heal", cut)
            NAMESPACES.ha("wait")
    with capsys.disabled():
        print(
            f"\npartition: {len(load.paid)} payments acknowledged, {facts.leaves} leaves,"
            f" retried {dict(load.failures)}; {gap:.1f} s without a successful payment;"
            f" the cut-off primary's write: {probe_output.strip().splitlines()[-1:]}"
        )
