"""Connecting, the registry of named drivers, raw CQL and keyspaces."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Mapping, Sequence
from typing import Any

from cassandra.cluster import Cluster, Session

from coodie._cassandra import build_cluster, install_profile
from coodie.aio._driver import Driver, connect_cluster
from coodie.cql_builder import create_keyspace_cql, drop_keyspace_cql
from coodie.exceptions import ConfigurationError, InvalidQueryError
from coodie.schema import check_identifier
from coodie.statements import Statement, consistency_level

__all__ = [
    "close_coodie",
    "create_keyspace",
    "drop_keyspace",
    "execute_raw",
    "get_driver",
    "init_coodie",
]

logger = logging.getLogger("coodie.aio")

_drivers: dict[str, Driver] = {}


async def init_coodie(
    hosts: Sequence[str] | str | None = None,
    *,
    port: int = 9042,
    keyspace: str | None = None,
    username: str | None = None,
    password: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
    consistency: str | int | None = None,
    request_timeout: float = 10.0,
    connect_timeout: float = 5.0,
    protocol_version: int | None = None,
    session: Session | None = None,
    name: str = "default",
    max_in_flight: int | None = None,
    cluster_options: Mapping[str, Any] | None = None,
) -> Driver:
    """Connect to a cluster and register the driver under ``name``.

    Models use the driver named in their ``Settings.driver`` (``"default"`` when
    they name none). Calling it again with the same ``name`` replaces the driver
    and closes the old one.

    :param hosts: contact points, as a list or a comma-separated string.
    :param keyspace: the keyspace of models that do not name one.
    :param username: with ``password``, log in with PasswordAuthenticator.
    :param ssl_context: connect over TLS with this context.
    :param consistency: the default consistency level, by name or code.
    :param request_timeout: seconds a request may take before it fails.
    :param session: use an existing driver session instead of connecting; it is
        not shut down when the driver closes.
    :param max_in_flight: requests kept in flight at most (async door only).
    :param cluster_options: further keyword arguments for the driver's
        ``Cluster``; ``load_balancing_policy``, ``retry_policy`` and
        ``speculative_execution_policy`` go to coodie's execution profile.
    :raises ConfigurationError: neither hosts nor a session were given, hosts is
        not a list or a str, or request_timeout is not above 0.
    :raises InvalidQueryError: an unknown consistency level.
    :raises ClusterConnectionError: no node could be reached.
    :raises AuthenticationError: the credentials or certificate were refused.
    """
    if keyspace is not None:
        check_identifier("keyspace", keyspace)
    if not isinstance(request_timeout, (int, float)) or request_timeout <= 0:
        raise ConfigurationError(
            f"request_timeout must be a number of seconds above 0, not "
            f"{request_timeout!r}"
        )
    if hosts is not None and not isinstance(hosts, (str, list, tuple)):
        raise ConfigurationError(
            f"hosts must be a list of contact points or a comma-separated str, "
            f"not {hosts!r}"
        )
    if session is not None:
        install_profile(session, consistency, request_timeout)
        cluster: Cluster = session.cluster
        owns_cluster = False
    else:
        if not hosts:
            raise ConfigurationError(
                "init_coodie() needs hosts=[...] (contact points) or session=..."
            )
        contact_points = hosts.split(",") if isinstance(hosts, str) else list(hosts)
        cluster = build_cluster(
            [host.strip() for host in contact_points],
            port=port,
            username=username,
            password=password,
            ssl_context=ssl_context,
            consistency=consistency,
            request_timeout=request_timeout,
            connect_timeout=connect_timeout,
            protocol_version=protocol_version,
            cluster_options=cluster_options or {},
        )
        session = await connect_cluster(cluster)
        owns_cluster = True

    options = {} if max_in_flight is None else {"max_in_flight": max_in_flight}
    driver = Driver(
        cluster,
        session,
        name=name,
        keyspace=keyspace,
        owns_cluster=owns_cluster,
        **options,
    )
    if keyspace is not None and keyspace in cluster.metadata.keyspaces:
        await driver.set_keyspace(keyspace)

    previous = _drivers.get(name)
    _drivers[name] = driver
    if previous is not None and previous is not driver:
        await previous.close()
    logger.info("driver %r connected", name)
    return driver


def get_driver(name: str = "default") -> Driver:
    """Return the driver registered under ``name``.

    :raises ConfigurationError: no driver has that name.
    """
    try:
        return _drivers[name]
    except KeyError:
        known = ", ".join(sorted(_drivers)) or "none yet"
        raise ConfigurationError(
            f"no coodie.aio driver named {name!r} (registered: {known}); call "
            f"`await coodie.aio.init_coodie(..., name={name!r})` first"
        ) from None


async def close_coodie(name: str | None = None) -> None:
    """Close the driver ``name``, or every driver when no name is given."""
    names = list(_drivers) if name is None else [name]
    for driver_name in names:
        driver = _drivers.pop(driver_name, None)
        if driver is not None:
            await driver.close()


async def execute_raw(
    cql: str,
    params: Sequence[Any] | None = None,
    *,
    driver: str = "default",
    consistency: str | int | None = None,
    timeout: float | None = None,
) -> list[dict[str, Any]]:
    """Run a CQL statement with ``?`` parameters; return its rows as dicts.

    With parameters the statement is prepared once and bound, so values never
    become part of the text. Without them it is sent as it is (DDL, for one).

    :raises InvalidQueryError: the statement or its parameters are wrong.
    """
    if not isinstance(cql, str) or not cql.strip():
        raise InvalidQueryError("execute_raw() needs a CQL statement as a str")
    if params is not None and (isinstance(params, (str, bytes, Mapping))):
        raise InvalidQueryError(
            "execute_raw() takes its parameters as a list, in the order of the ? "
            "markers"
        )
    target = get_driver(driver)
    if params is None:
        page = await target.execute_text(cql, timeout=timeout)
    else:
        statement = Statement(
            cql,
            list(params),
            consistency=consistency_level(consistency),
            timeout=timeout,
        )
        page = await target.execute(statement)
    return [dict(zip(page.columns, row, strict=True)) for row in page.rows]


async def create_keyspace(
    name: str,
    replication_factor: int = 1,
    *,
    strategy: str = "SimpleStrategy",
    data_centers: Mapping[str, int] | None = None,
    durable_writes: bool = True,
    driver: str = "default",
) -> None:
    """Create a keyspace if it does not exist yet.

    :param strategy: ``"SimpleStrategy"`` (with ``replication_factor``) or
        ``"NetworkTopologyStrategy"`` (with ``data_centers={"dc1": 3}``).
    """
    target = get_driver(driver)
    cql = create_keyspace_cql(
        name,
        replication_factor,
        strategy=strategy,
        data_centers=data_centers,
        durable_writes=durable_writes,
    )
    await target.execute_text(cql)
    logger.info("keyspace %s created (if it did not exist)", name)
    if target.keyspace == name and target.session.keyspace != name:
        await target.set_keyspace(name)


async def drop_keyspace(name: str, *, driver: str = "default") -> None:
    """Drop a keyspace and every table in it, if it exists."""
    target = get_driver(driver)
    await target.execute_text(drop_keyspace_cql(name))
    logger.info("keyspace %s dropped", name)
