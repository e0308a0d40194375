"""The blocking driver adapter: cassandra-driver requests that wait in place."""

from __future__ import annotations

import concurrent.futures
import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from cassandra.cluster import _NOT_SET, Cluster, Session

from coodie._cassandra import (
    PROFILE,
    Preparer,
    bind,
    fresh_table_metadata,
    fresh_user_types,
    make_batch,
    prepare_timed_out,
    profile_timeout,
    result_page,
    translate_error,
)
from coodie._cassandra import (
    unbuilt_indexes as _unbuilt_indexes,
)
from coodie.document import model_hook
from coodie.exceptions import ConfigurationError
from coodie.results import ResultPage
from coodie.schema_diff import LiveTable
from coodie.statements import Statement

__all__ = ["Driver", "call_hook", "connect_cluster", "run_blocking"]

T = TypeVar("T")

logger = logging.getLogger("coodie.sync")


def call_hook(document: object, name: str) -> None:
    """Run a model's hook (``before_save``, ...).

    :raises ConfigurationError: the hook is a coroutine function, which the
        blocking door cannot run.
    """
    hook = model_hook(type(document), name)
    if hook is None:
        return
    outcome = hook(document)
    if inspect.isawaitable(outcome):
        if inspect.iscoroutine(outcome):
            outcome.close()
        raise ConfigurationError(
            f"{type(document).__name__}.{name} is async, but coodie.sync calls hooks "
            "as plain functions; define it with `def`, or use coodie.aio"
        )


def connect_cluster(cluster: Cluster) -> Session:
    """Open the cluster's connections."""
    try:
        return cluster.connect()
    except Exception as error:
        cluster.shutdown()
        raise translate_error(error, "connect") from error


def run_blocking(function: Callable[..., T], *args: Any) -> T:
    """Run a blocking function (here, simply call it)."""
    return function(*args)


class Driver:
    """One cluster connection used by blocking calls.

    Create it with :func:`coodie.sync.init_coodie`. It is safe to share between
    threads, as the driver's session is.
    """

    def __init__(
        self,
        cluster: Cluster,
        session: Session,
        *,
        name: str,
        keyspace: str | None,
        owns_cluster: bool,
        max_in_flight: int | None = None,
    ) -> None:
        self.name = name
        self.keyspace = keyspace
        self.cluster = cluster
        self.session = session
        self.max_in_flight = max_in_flight
        self._owns_cluster = owns_cluster
        self._preparer = Preparer()
        self._prepared = self._preparer.prepared
        self._prepare_timeout = profile_timeout(session)

    def __repr__(self) -> str:
        return f"<coodie.sync Driver {self.name!r} keyspace={self.keyspace!r}>"

    def prepare(self, cql: str, timeout: float | None = None) -> Any:
        """Return the prepared form of ``cql``, preparing it on first use.

        :param timeout: seconds to wait for the cluster; by default the
            driver's request timeout.
        :raises OperationTimedOut: the cluster did not answer in time.
        """
        prepared = self._prepared.get(cql)
        if prepared is None:
            logger.debug("preparing %s", cql)
            if timeout is None:
                timeout = self._prepare_timeout
            # The driver's prepare() waits its own 10 s; it runs in a helper
            # thread, so this call returns within ``timeout`` even if it does not.
            pending = self._preparer.start(self.session, cql)
            try:
                prepared = pending.result(timeout)
            except concurrent.futures.TimeoutError:
                raise prepare_timed_out(cql, timeout) from None
            except Exception as error:
                raise translate_error(error, cql) from error
        return prepared

    def execute(self, statement: Statement) -> ResultPage:
        """Send one statement and return its first (or only) page.

        :raises CoodieError: the cluster refused the statement or did not answer.
        """
        prepared = self._prepared.get(statement.cql) or self.prepare(
            statement.cql, statement.timeout
        )
        try:
            bound = bind(prepared, statement)
        except Exception as error:
            raise translate_error(error, statement) from error
        return self._send(bound, statement)

    def execute_batch(
        self,
        statements: Sequence[Statement],
        *,
        kind: str,
        consistency: int | None = None,
        serial_consistency: int | None = None,
        timeout: float | None = None,
    ) -> ResultPage:
        """Send several statements as one ``BATCH``."""
        batch = make_batch(kind, consistency, serial_consistency)
        for statement in statements:
            prepared = self._prepared.get(statement.cql) or self.prepare(
                statement.cql, timeout
            )
            try:
                batch.add(prepared, statement.values)
            except Exception as error:
                raise translate_error(error, statement) from error
        batch.is_idempotent = all(statement.idempotent for statement in statements)
        summary = Statement(f"BATCH of {len(statements)} statements", timeout=timeout)
        return self._send(batch, summary)

    def execute_text(self, cql: str, *, timeout: float | None = None) -> ResultPage:
        """Send a statement without bind values and without preparing it (DDL)."""
        return self._send(cql, Statement(cql, timeout=timeout))

    def _send(self, request: Any, statement: Statement) -> ResultPage:
        logger.debug("executing %s", statement.cql)
        timeout = _NOT_SET if statement.timeout is None else statement.timeout
        try:
            result = self.session.execute(
                request,
                timeout=timeout,
                paging_state=statement.paging_state,
                execution_profile=PROFILE,
            )
        except Exception as error:
            raise translate_error(error, statement) from error
        return result_page(
            result.column_names, result.current_rows, result.paging_state
        )

    def table_metadata(self, keyspace: str, table: str) -> LiveTable | None:
        """How a table looks now, fresh from the cluster; ``None`` if absent."""
        return fresh_table_metadata(self.cluster, keyspace, table)

    def unbuilt_indexes(self, keyspace: str, table: str, timeout: float) -> set[str]:
        """Wait up to ``timeout`` seconds for the table's indexes to be built.

        :returns: the names of the indexes still building then.
        """
        try:
            return _unbuilt_indexes(self.session, keyspace, table, timeout)
        except Exception as error:
            raise translate_error(error, "reading index build states") from error

    def user_types(
        self, keyspace: str, names: Sequence[str]
    ) -> dict[str, dict[str, str] | None]:
        """The live fields of user types; ``None`` for one that does not exist."""
        return fresh_user_types(self.cluster, keyspace, names)

    def set_keyspace(self, keyspace: str) -> None:
        """Make ``keyspace`` the session's default for unqualified raw CQL."""
        try:
            self.session.set_keyspace(keyspace)
        except Exception as error:
            raise translate_error(error, f"USE {keyspace}") from error
        self.keyspace = keyspace

    def close(self) -> None:
        """Release the connections (only those coodie opened)."""
        self._preparer.close()
        if self._owns_cluster:
            self.cluster.shutdown()
