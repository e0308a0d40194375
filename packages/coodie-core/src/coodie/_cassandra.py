"""What both driver adapters share about the ``cassandra`` package.

cassandra-driver and scylla-driver both install the ``cassandra`` package with this
API. The module is imported only by :mod:`coodie.sync` and :mod:`coodie.aio`, which
depend on one of the two drivers; it does no IO itself: it builds the cluster
object, binds statements and translates the driver's exceptions.
"""

from __future__ import annotations

import concurrent.futures
import logging
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cassandra import (
    AuthenticationFailed,
    ConsistencyLevel,
    DriverException,
    ReadTimeout,
    RequestExecutionException,
    Unavailable,
    WriteTimeout,
)
from cassandra import (
    OperationTimedOut as DriverTimedOut,
)
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import (
    EXEC_PROFILE_DEFAULT,
    Cluster,
    ExecutionProfile,
    NoHostAvailable,
    Session,
)
from cassandra.policies import DCAwareRoundRobinPolicy, RetryPolicy, TokenAwarePolicy
from cassandra.protocol import ConfigurationException, InvalidRequest, SyntaxException
from cassandra.query import BatchStatement, BatchType, PreparedStatement, tuple_factory

from coodie.exceptions import (
    AuthenticationError,
    ClusterConnectionError,
    CoodieError,
    InvalidQueryError,
    OperationTimedOut,
    SchemaMismatchError,
    ServerError,
    UnavailableError,
)
from coodie.results import ResultPage
from coodie.schema_diff import LiveTable
from coodie.statements import Statement, consistency_level

__all__ = [
    "BATCH_TYPES",
    "PROFILE",
    "Preparer",
    "bind",
    "blocking_executor",
    "build_cluster",
    "fresh_table_metadata",
    "fresh_user_types",
    "install_profile",
    "make_batch",
    "prepare_timed_out",
    "profile_timeout",
    "result_page",
    "translate_error",
    "unbuilt_indexes",
]

logger = logging.getLogger("coodie.driver")

PROFILE = "coodie"
BATCH_TYPES = {
    "LOGGED": BatchType.LOGGED,
    "UNLOGGED": BatchType.UNLOGGED,
    "COUNTER": BatchType.COUNTER,
}


# Cluster options that belong to an execution profile when profiles are in use.
PROFILE_OPTIONS = (
    "load_balancing_policy",
    "retry_policy",
    "speculative_execution_policy",
)


def _profile(
    consistency: str | int | None,
    request_timeout: float,
    load_balancing_policy: Any = None,
    **policies: Any,
) -> ExecutionProfile:
    level = consistency_level(consistency)
    policies.setdefault("retry_policy", _IdempotentOnlyRetryPolicy())
    return ExecutionProfile(
        load_balancing_policy=load_balancing_policy
        or TokenAwarePolicy(DCAwareRoundRobinPolicy()),
        **policies,
        row_factory=tuple_factory,
        consistency_level=ConsistencyLevel.LOCAL_ONE if level is None else level,
        request_timeout=request_timeout,
    )


def build_cluster(
    hosts: Sequence[str],
    *,
    port: int,
    username: str | None,
    password: str | None,
    ssl_context: ssl.SSLContext | None,
    consistency: str | int | None,
    request_timeout: float,
    connect_timeout: float,
    protocol_version: int | None,
    cluster_options: Mapping[str, Any],
) -> Cluster:
    """Build (not connect) a driver ``Cluster`` with coodie's execution profile."""
    options: dict[str, Any] = dict(cluster_options)
    if username is not None or password is not None:
        options["auth_provider"] = PlainTextAuthProvider(
            username=username or "", password=password or ""
        )
    if ssl_context is not None:
        options["ssl_context"] = ssl_context
    if protocol_version is not None:
        options["protocol_version"] = protocol_version
    policies = {name: options.pop(name) for name in PROFILE_OPTIONS if name in options}
    profile = _profile(consistency, request_timeout, **policies)
    return Cluster(
        contact_points=list(hosts),
        port=port,
        connect_timeout=connect_timeout,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile, PROFILE: profile},
        **options,
    )


def install_profile(
    session: Session, consistency: str | int | None, request_timeout: float
) -> None:
    """Give a session coodie's profile (plain tuple rows) without touching others."""
    cluster = session.cluster
    if PROFILE not in cluster.profile_manager.profiles:
        # A copy of the session's own default profile, with coodie's row format:
        # its load balancing, retry and speculative execution policies stay.
        level = consistency_level(consistency)
        changes: dict[str, Any] = {
            "row_factory": tuple_factory,
            "request_timeout": request_timeout,
        }
        if level is not None:
            changes["consistency_level"] = level
        profile = session.execution_profile_clone_update(
            EXEC_PROFILE_DEFAULT, **changes
        )
        cluster.add_execution_profile(PROFILE, profile)


def profile_timeout(session: Session) -> float:
    """The request timeout of coodie's profile, in seconds.

    ``Session.prepare()`` waits the driver's own default (10 s), which cannot be
    changed while execution profiles are in use; the doors bound the wait by this
    instead, so that the first request of a new statement shape ends within the
    same timeout as every other.
    """
    timeout = session.get_execution_profile(PROFILE).request_timeout
    return 10.0 if timeout is None else float(timeout)


class Preparer:
    """Prepares each statement text once, in a helper thread, for one driver.

    Callers that need a text being prepared share the one request in flight and
    may each wait for it as long as they like: the blocking door with a timeout,
    the async door without blocking its loop.
    """

    def __init__(self) -> None:
        self.prepared: dict[str, PreparedStatement] = {}
        self._pending: dict[str, concurrent.futures.Future[PreparedStatement]] = {}
        self._lock = threading.Lock()
        # Made on first use, so that a driver made after a fork has threads.
        self._threads: concurrent.futures.ThreadPoolExecutor | None = None

    def start(
        self, session: Session, cql: str
    ) -> concurrent.futures.Future[PreparedStatement]:
        """The preparation of ``cql``: the one in flight, or a new one."""
        with self._lock:
            pending = self._pending.get(cql)
            started = pending is None
            if pending is None:
                if self._threads is None:
                    # A statement text is prepared once: these are seldom busy.
                    self._threads = concurrent.futures.ThreadPoolExecutor(
                        max_workers=2, thread_name_prefix="coodie-prepare"
                    )
                pending = self._threads.submit(session.prepare, cql)
                self._pending[cql] = pending
        if started:
            # Outside the lock: a request already done runs the callback here.
            pending.add_done_callback(lambda done: self._finished(cql, done))
        return pending

    def close(self) -> None:
        """Forget every prepared statement and let the helper threads end."""
        self.prepared.clear()
        with self._lock:
            threads, self._threads = self._threads, None
        if threads is not None:
            threads.shutdown(wait=False)

    def _finished(
        self, cql: str, done: concurrent.futures.Future[PreparedStatement]
    ) -> None:
        if done.exception() is None:
            self.prepared[cql] = done.result()
        with self._lock:
            self._pending.pop(cql, None)


def prepare_timed_out(cql: str, timeout: float) -> OperationTimedOut:
    """The error for a ``PREPARE`` that got no answer within ``timeout``."""
    return OperationTimedOut(
        f"Preparing the statement got no answer within {timeout:g} s "
        f"(while running: {cql})"
    )


def bind(prepared: PreparedStatement, statement: Statement) -> Any:
    """Bind a statement's values and flags to its prepared form.

    :raises InvalidQueryError: the number of values differs from the number of
        ``?`` markers, or a value does not fit its column (named in the message).
    """
    markers = len(prepared.column_metadata)
    if len(statement.values) != markers:
        which = "many" if len(statement.values) > markers else "few"
        raise InvalidQueryError(
            f"Too {which} arguments: the statement has {markers} ? markers but "
            f"{len(statement.values)} values were given: {statement.cql}"
        )
    try:
        bound = prepared.bind(statement.values)
    except Exception as error:
        raise _binding_error(prepared, statement, error) from error
    bound.is_idempotent = statement.idempotent
    if statement.consistency is not None:
        bound.consistency_level = statement.consistency
    if statement.serial_consistency is not None:
        bound.serial_consistency_level = statement.serial_consistency
    if statement.fetch_size is not None:
        bound.fetch_size = statement.fetch_size
    return bound


def _binding_error(
    prepared: PreparedStatement, statement: Statement, error: Exception
) -> InvalidQueryError:
    """Say which column a value did not fit, and whose field it is."""
    version = prepared.protocol_version
    for column, value in zip(prepared.column_metadata, statement.values, strict=False):
        if value is None:
            continue
        try:
            column.type.serialize(value, version)
        except Exception as cause:
            where = (
                f"{statement.origin}.{column.name}"
                if statement.origin
                else f'column "{column.name}"'
            )
            return InvalidQueryError(
                f"{where}: {value!r} does not fit a "
                f"{column.type.cql_parameterized_type()} column ({cause}); pass a "
                "value of the field's type"
            )
    return InvalidQueryError(
        f"the values do not fit the statement: {error} ({statement.cql})"
    )


class _IdempotentOnlyRetryPolicy(RetryPolicy):  # type: ignore[misc]
    """The driver's default retries, except that a request which cannot safely be
    repeated (``is_idempotent`` false) is never sent again after a request error."""

    def on_request_error(
        self, query: Any, consistency: Any, error: Any, retry_num: int
    ) -> Any:
        if query is not None and not query.is_idempotent:
            return self.RETHROW, None
        return super().on_request_error(query, consistency, error, retry_num)


def make_batch(
    kind: str, consistency: int | None, serial_consistency: int | None
) -> BatchStatement:
    """An empty driver batch of ``kind`` (``LOGGED``, ``UNLOGGED``, ``COUNTER``)."""
    batch = BatchStatement(batch_type=BATCH_TYPES[kind])
    if consistency is not None:
        batch.consistency_level = consistency
    if serial_consistency is not None:
        batch.serial_consistency_level = serial_consistency
    return batch


def result_page(
    column_names: Sequence[str] | None,
    rows: Sequence[tuple[Any, ...]] | None,
    paging_state: bytes | None,
) -> ResultPage:
    """Wrap what the driver returned as a :class:`ResultPage`."""
    return ResultPage(tuple(column_names or ()), rows or [], paging_state)


def unbuilt_indexes(
    session: Session, keyspace: str, table: str, timeout: float
) -> set[str]:
    """Wait up to ``timeout`` seconds until every index of a table is built.

    Returns the names of those still building then. Build state is kept by each
    node: this asks whichever node answers.
    """
    declared = {
        row[0]
        for row in session.execute(
            "SELECT index_name FROM system_schema.indexes "
            "WHERE keyspace_name = %s AND table_name = %s",
            (keyspace, table),
            execution_profile=PROFILE,
        )
    }
    deadline = time.monotonic() + timeout
    while True:
        # IndexInfo's partition key column is named table_name but holds the
        # keyspace name.
        built = {
            row[0]
            for row in session.execute(
                'SELECT index_name FROM system."IndexInfo" WHERE table_name = %s',
                (keyspace,),
                execution_profile=PROFILE,
            )
        }
        building = (declared - built) | _unqueryable_sai_indexes(session, keyspace)
        building &= declared
        if not building or time.monotonic() >= deadline:
            return building
        time.sleep(0.05)


def _unqueryable_sai_indexes(session: Session, keyspace: str) -> set[str]:
    """SAI indexes of a keyspace that do not answer queries yet, where the node
    says (the virtual table is new in Cassandra 5.0)."""
    try:
        rows = session.execute(
            "SELECT index_name, is_queryable FROM system_views.sai_column_indexes "
            "WHERE keyspace_name = %s",
            (keyspace,),
            execution_profile=PROFILE,
        )
    except DriverException:
        return set()
    return {name for name, queryable in rows if not queryable}


def fresh_table_metadata(
    cluster: Cluster, keyspace: str, table: str
) -> LiveTable | None:
    """Ask the cluster how a table looks now; ``None`` if it does not exist."""
    try:
        cluster.refresh_table_metadata(keyspace, table)
    except DriverException:
        return None
    keyspace_metadata = cluster.metadata.keyspaces.get(keyspace)
    if keyspace_metadata is None:
        return None
    metadata = keyspace_metadata.tables.get(table)
    if metadata is None:
        return None
    return LiveTable(
        columns={name: column.cql_type for name, column in metadata.columns.items()},
        partition_key=tuple(column.name for column in metadata.partition_key),
        clustering_key=tuple(
            (column.name, "DESC" if column.is_reversed else "ASC")
            for column in metadata.clustering_key
        ),
        indexes={
            name: str(index.index_options.get("target", ""))
            for name, index in metadata.indexes.items()
        },
        options=dict(metadata.options),
    )


def blocking_executor(
    session: Session,
) -> Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]:
    """A blocking ``execute(cql, values) -> rows`` over a session (for migrations).

    Statements with values are prepared once; rows come back as plain tuples.
    Safe to call from any thread but an event loop's.
    """
    prepared: dict[str, PreparedStatement] = {}

    def execute(cql: str, values: Sequence[Any]) -> list[tuple[Any, ...]]:
        try:
            if values:
                statement = prepared.get(cql)
                if statement is None:
                    statement = prepared[cql] = session.prepare(cql)
                result = session.execute(
                    statement, list(values), execution_profile=PROFILE
                )
            else:
                result = session.execute(cql, execution_profile=PROFILE)
        except Exception as error:
            raise translate_error(error, cql) from error
        return list(result)

    return execute


def fresh_user_types(
    cluster: Cluster, keyspace: str, names: Sequence[str]
) -> dict[str, dict[str, str] | None]:
    """The live fields of user types (``None`` for a type that does not exist)."""
    found: dict[str, dict[str, str] | None] = {}
    for name in names:
        try:
            cluster.refresh_user_type_metadata(keyspace, name)
        except DriverException:
            found[name] = None
            continue
        keyspace_metadata = cluster.metadata.keyspaces.get(keyspace)
        user_type = (
            keyspace_metadata.user_types.get(name) if keyspace_metadata else None
        )
        found[name] = (
            None
            if user_type is None
            else dict(zip(user_type.field_names, user_type.field_types, strict=True))
        )
    return found


def translate_error(error: BaseException, statement: Statement | str) -> CoodieError:
    """Turn a driver exception into the coodie exception a user can handle.

    The driver's exception becomes the ``__cause__``; the message names the
    statement's text, never its values.
    """
    cql = statement if isinstance(statement, str) else statement.cql
    if isinstance(error, CoodieError):
        return error
    if isinstance(error, (Unavailable,)):
        return UnavailableError(f"{error} (while running: {cql})")
    if isinstance(error, (DriverTimedOut, ReadTimeout, WriteTimeout)):
        return OperationTimedOut(f"{error} (while running: {cql})")
    if isinstance(error, AuthenticationFailed):
        return AuthenticationError(str(error))
    if isinstance(error, NoHostAvailable):
        inner = list(getattr(error, "errors", {}).values())
        if any(isinstance(cause, Unavailable) for cause in inner):
            return UnavailableError(
                f"too few replicas are alive for the consistency level: {error} "
                f"(while running: {cql})"
            )
        if any(isinstance(cause, AuthenticationFailed) for cause in inner):
            return AuthenticationError(f"the cluster refused the credentials: {error}")
        if any(
            isinstance(cause, ssl.SSLError)
            or "CERTIFICATE_VERIFY_FAILED" in str(cause)
            or "SSL" in type(cause).__name__
            for cause in inner
        ):
            return AuthenticationError(f"the TLS handshake failed: {error}")
        return ClusterConnectionError(
            f"no node could be reached: {error}; check the hosts and that the "
            "cluster is up"
        )
    if isinstance(error, (InvalidRequest, SyntaxException, ConfigurationException)):
        message = str(error)
        if "Undefined column name" in message or "unconfigured table" in message:
            return SchemaMismatchError(
                f"{message} (while running: {cql}); the table lacks what the model "
                "declares: run sync_table() or a migration (schema_diff() shows "
                "the gap)"
            )
        if "ALLOW FILTERING" in message:
            message += (
                "; add .allow_filtering() to the query if scanning is acceptable, "
                "or index the field with Indexed()"
            )
        return InvalidQueryError(f"{message} (while running: {cql})")
    if isinstance(error, (RequestExecutionException, DriverException)):
        return ServerError(f"{error} (while running: {cql})")
    if isinstance(error, (TypeError, ValueError, KeyError, AttributeError)):
        return InvalidQueryError(
            f"the values do not fit the statement: {error} ({cql})"
        )
    if isinstance(error, ConnectionError | OSError):
        return ClusterConnectionError(f"{error} (while running: {cql})")
    return ServerError(f"{error!r} (while running: {cql})")
