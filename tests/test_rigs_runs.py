"""The real parts behind the runs tests work: PostgreSQL (tests/pgrig.py) and a Dask
cluster of separate processes (tests/daskrig.py)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from tests.daskrig import worker_pids
from tests.pgrig import PostgresServer

# one worker runs the whole module: one cluster, and the tests below that build on each other
pytestmark = pytest.mark.xdist_group("rigs_runs")


def _listening_addresses(port: int) -> set[str]:
    """The local addresses with a TCP socket listening on ``port`` (from /proc/net)."""
    found: set[str] = set()
    for table in ("tcp", "tcp6"):
        path = Path("/proc/net") / table
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, state = fields[1], fields[3]
            address, _, port_hex = local.partition(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                found.add(f"{table}:{address}")
    return found


def _connect_refused(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        try:
            sock.connect((host, port))
        except OSError:
            return True
    return False


# -- PostgreSQL ----------------------------------------------------------------------


def test_postgres_accepts_a_connection(postgres: PostgresServer) -> None:
    with postgres.connect() as conn:
        row = conn.execute("SELECT current_user, version()").fetchone()
    assert row is not None
    assert row[0] == postgres.user
    assert str(row[1]).startswith("PostgreSQL ")


def test_postgres_urls_are_distinct_empty_databases(
    postgres: PostgresServer, postgres_url: str
) -> None:
    import sqlalchemy as sa

    other_name = postgres.create_database()
    try:
        other_url = postgres.url(other_name)
        assert postgres_url != other_url
        assert postgres_url.startswith(f"postgresql+psycopg://{postgres.user}@127.0.0.1:")
        engine = sa.create_engine(postgres_url)
        try:
            with engine.begin() as conn:
                assert sa.inspect(conn).get_table_names() == []
                conn.execute(sa.text("CREATE TABLE only_here (x int)"))
                name = conn.execute(sa.text("SELECT current_database()")).scalar_one()
            assert name == sa.make_url(postgres_url).database
        finally:
            engine.dispose()
        other = sa.create_engine(other_url)
        try:
            with other.connect() as conn:
                assert sa.inspect(conn).get_table_names() == []
        finally:
            other.dispose()
    finally:
        postgres.drop_database(other_name)


def test_postgres_url_names_a_fresh_database(postgres_url: str) -> None:
    import sqlalchemy as sa

    name = sa.make_url(postgres_url).database
    assert name is not None
    assert name.startswith("t_")


def test_a_dropped_database_is_gone_with_its_connections(postgres: PostgresServer) -> None:
    """What ``postgres_url`` does at teardown: the database goes, even while connected."""
    name = postgres.create_database()
    held = postgres.connect(name)
    postgres.drop_database(name)
    held.close()
    with postgres.connect() as conn:
        left = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
    assert name not in left


def test_postgres_listens_on_127_0_0_1_only(postgres: PostgresServer) -> None:
    with postgres.connect() as conn:
        row = conn.execute("SHOW listen_addresses").fetchone()
    assert row == ("127.0.0.1",)
    # 0100007F is 127.0.0.1 in /proc/net/tcp's byte order; nothing on IPv6 or 0.0.0.0
    assert _listening_addresses(postgres.port) == {"tcp:0100007F"}
    # the rest of 127.0.0.0/8 is local too, but nothing listens there
    assert _connect_refused("127.0.0.2", postgres.port)
    assert (postgres.root / f".s.PGSQL.{postgres.port}").exists()


def test_postgres_runs_unprivileged(postgres: PostgresServer) -> None:
    with postgres.connect() as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        # Read while connected: the backend process ends with its connection.
        status = Path(f"/proc/{row[0]}/status").read_text()
    uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
    assert uid != 0


# -- Dask ----------------------------------------------------------------------------


def test_dask_cluster_has_two_workers_on_loopback(dask_scheduler_address: str) -> None:
    from distributed import Client

    assert dask_scheduler_address.startswith("tcp://127.0.0.1:")
    with Client(dask_scheduler_address, timeout=30) as client:
        workers = client.scheduler_info()["workers"]
        assert len(workers) == 2
        assert all(address.startswith("tcp://127.0.0.1:") for address in workers)
        assert client.scheduler_info()["address"] == dask_scheduler_address


def test_dask_runs_a_function_in_another_process(dask_scheduler_address: str) -> None:
    from distributed import Client

    with Client(dask_scheduler_address, timeout=30) as client:
        pid = client.submit(os.getpid, pure=False).result(timeout=30)
        # a function of this module: the workers import tests/ (PYTHONPATH)
        doubled = client.submit(_double, 21).result(timeout=30)
    assert isinstance(pid, int)
    assert pid != os.getpid()
    assert doubled == 42


def _double(value: int) -> int:
    return value * 2


def test_dask_workers_see_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.daskrig import DaskCluster

    monkeypatch.setenv("BOOKSTORE_RIG_PROBE", "from-os-environ")
    with DaskCluster(n_workers=1, env={"BOOKSTORE_RIG_EXTRA": "from-env"}) as cluster:
        from distributed import Client

        with Client(cluster.address, timeout=30) as client:
            seen = client.submit(_probe_environment, pure=False).result(timeout=30)
    assert seen == ("from-os-environ", "from-env")


def _probe_environment() -> tuple[str | None, str | None]:
    return os.environ.get("BOOKSTORE_RIG_PROBE"), os.environ.get("BOOKSTORE_RIG_EXTRA")


def test_worker_pids_are_two_worker_processes(dask_scheduler_address: str) -> None:
    pids = worker_pids(dask_scheduler_address)
    assert len(pids) == 2
    assert len(set(pids)) == 2
    assert os.getpid() not in pids
    for pid in pids:
        os.kill(pid, 0)  # alive, and ours to signal
