"""Fixtures that connect the integration tests to a running Cassandra or ScyllaDB.

Start a local node with ``integration-tests/cluster up``, or point the tests at
other nodes with ``COODIE_HOSTS`` (comma-separated ``host`` or ``host:port``).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator

import pytest
from cassandra.cluster import (
    EXEC_PROFILE_DEFAULT,
    Cluster,
    ExecutionProfile,
    NoHostAvailable,
    OperationTimedOut,
    Session,
)
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

DEFAULT_HOSTS = "127.0.0.1"
DEFAULT_CQL_PORT = 9042
CONNECT_TIMEOUT_S = 5.0
REQUEST_TIMEOUT_S = 30.0
MAX_KEYSPACE_NAME_LENGTH = 48


def parse_hosts(hosts_setting: str) -> list[tuple[str, int]]:
    """Turn ``"a,b:9043,[::1]:9042"`` into ``(host, port)`` pairs."""
    contact_points = []
    for entry in hosts_setting.split(","):
        entry = entry.strip()
        if not entry:
            continue
        bracketed = re.fullmatch(r"\[(?P<host>[^\]]+)\](?::(?P<port>\d+))?", entry)
        if bracketed:
            host, port = bracketed["host"], bracketed["port"]
        elif entry.count(":") == 1:
            host, port = entry.split(":")
        else:
            host, port = entry, None
        contact_points.append((host, int(port) if port else DEFAULT_CQL_PORT))
    return contact_points


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every async test runs twice: on asyncio and on trio."""
    return str(request.param)


@pytest.fixture(scope="session")
def cassandra_hosts() -> list[tuple[str, int]]:
    """The ``(host, port)`` contact points from ``COODIE_HOSTS``, or 127.0.0.1:9042."""
    hosts_setting = os.environ.get("COODIE_HOSTS") or DEFAULT_HOSTS
    contact_points = parse_hosts(hosts_setting)
    if not contact_points:
        pytest.fail(f"COODIE_HOSTS={hosts_setting!r} names no host", pytrace=False)
    return contact_points


@pytest.fixture(scope="session")
def cql_session(cassandra_hosts: list[tuple[str, int]]) -> Iterator[Session]:
    """A cassandra-driver session for the whole run; fails if no node answers."""
    default_profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy()),
        request_timeout=REQUEST_TIMEOUT_S,
    )
    cluster = Cluster(
        contact_points=cassandra_hosts,
        execution_profiles={EXEC_PROFILE_DEFAULT: default_profile},
        connect_timeout=CONNECT_TIMEOUT_S,
        control_connection_timeout=CONNECT_TIMEOUT_S,
    )
    connect_error: Exception | None = None
    try:
        session = cluster.connect()
    except (NoHostAvailable, OperationTimedOut) as error:
        connect_error = error
    if connect_error is not None:
        cluster.shutdown()
        hosts = ", ".join(f"{host}:{port}" for host, port in cassandra_hosts)
        pytest.fail(
            f"no Cassandra node answers at {hosts} ({connect_error}). Start one with "
            "`integration-tests/cluster up`, or set COODIE_HOSTS to reachable nodes.",
            pytrace=False,
        )

    yield session
    cluster.shutdown()


def _keyspace_name(module_name: str) -> str:
    """Build a valid, unique keyspace name from a test module's name."""
    suffix = secrets.token_hex(3)
    base = re.sub(r"[^a-z0-9_]", "_", module_name.rsplit(".", 1)[-1].lower())
    if not base[:1].isalpha():
        base = f"ks_{base}"
    return f"{base[: MAX_KEYSPACE_NAME_LENGTH - len(suffix) - 1]}_{suffix}"


@pytest.fixture(scope="module")
def keyspace(cql_session: Session, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh keyspace (SimpleStrategy, RF 1) for one test module; dropped after it."""
    name = _keyspace_name(request.module.__name__)
    cql_session.execute(
        f"CREATE KEYSPACE {name} WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    )
    yield name
    cql_session.execute(f"DROP KEYSPACE IF EXISTS {name}")
