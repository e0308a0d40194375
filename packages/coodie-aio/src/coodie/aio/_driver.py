"""The awaitable driver adapter: cassandra-driver requests awaited on AnyIO.

A request is started with ``execute_async`` and its completion is handed to the
waiting task without blocking anything: the driver's IO thread only schedules a
wake-up on the event loop (``call_soon_threadsafe`` on asyncio,
``TrioToken.run_sync_soon`` on trio). A task that is cancelled while it waits
returns at once; the late result is dropped. Connecting and the first preparation
of each statement, which the driver only offers as blocking calls, run in a worker
thread so that the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from anyio.lowlevel import current_token
from cassandra.cluster import _NOT_SET, Cluster, ResponseFuture, Session

from coodie._cassandra import (
    PROFILE,
    Preparer,
    bind,
    make_batch,
    prepare_timed_out,
    profile_timeout,
    result_page,
    translate_error,
)
from coodie._cassandra import (
    fresh_table_metadata as _fresh_table_metadata,
)
from coodie._cassandra import (
    fresh_user_types as _fresh_user_types,
)
from coodie._cassandra import (
    unbuilt_indexes as _unbuilt_indexes,
)
from coodie.document import model_hook
from coodie.results import ResultPage
from coodie.schema_diff import LiveTable
from coodie.statements import Statement

__all__ = [
    "DEFAULT_MAX_IN_FLIGHT",
    "Driver",
    "call_hook",
    "connect_cluster",
    "run_blocking",
]

T = TypeVar("T")

logger = logging.getLogger("coodie.aio")

DEFAULT_MAX_IN_FLIGHT = 1024
"""Requests one driver keeps in flight at most; further ones wait their turn."""


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


async def _wait_for(
    future: ResponseFuture | concurrent.futures.Future[Any], native: Any
) -> None:
    """Wait, without blocking the loop, until ``future`` is done.

    ``future`` is a driver request or the preparation of a statement, finished by
    another thread; ``native`` is the running loop's token: an asyncio loop or a
    trio token.
    """
    if isinstance(native, asyncio.AbstractEventLoop):
        waiter: asyncio.Future[None] = native.create_future()

        def wake_asyncio(_: object) -> None:
            # A closed loop raises RuntimeError: nobody waits for the result any more.
            with contextlib.suppress(RuntimeError):
                native.call_soon_threadsafe(_resolve, waiter)

        _when_done(future, wake_asyncio)
        await waiter
        return

    event = anyio.Event()
    trio_token: Any = native

    def wake_trio(_: object) -> None:
        # trio.RunFinishedError (a RuntimeError): the run is over, nobody waits.
        with contextlib.suppress(RuntimeError):
            trio_token.run_sync_soon(event.set)

    _when_done(future, wake_trio)
    await event.wait()


def _when_done(
    future: ResponseFuture | concurrent.futures.Future[Any],
    wake: Callable[[object], None],
) -> None:
    if isinstance(future, concurrent.futures.Future):
        future.add_done_callback(wake)
    else:
        future.add_callbacks(wake, wake)


async def call_hook(document: object, name: str) -> None:
    """Run a model's hook (``before_save``, ...), awaiting it if it is async."""
    hook = model_hook(type(document), name)
    if hook is None:
        return
    outcome = hook(document)
    if inspect.isawaitable(outcome):
        await outcome


async def connect_cluster(cluster: Cluster) -> Session:
    """Open the cluster's connections in a worker thread (the driver blocks)."""
    try:
        return await anyio.to_thread.run_sync(cluster.connect)
    except Exception as error:
        cluster.shutdown()
        raise translate_error(error, "connect") from error


async def run_blocking(function: Callable[..., T], *args: Any) -> T:
    """Run a blocking function in a worker thread, so the event loop stays free."""
    return await anyio.to_thread.run_sync(partial(function, *args))


class Driver:
    """One cluster connection, awaited from asyncio or trio.

    Create it with :func:`coodie.aio.init_coodie`. At most ``max_in_flight``
    requests run at once; more wait for a free slot instead of overloading the
    driver's connections.
    """

    def __init__(
        self,
        cluster: Cluster,
        session: Session,
        *,
        name: str,
        keyspace: str | None,
        owns_cluster: bool,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
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
        # One semaphore per event loop: asyncio's own on asyncio (cheapest),
        # AnyIO's elsewhere.
        self._slots: tuple[object, Any] | None = None

    def __repr__(self) -> str:
        return f"<coodie.aio Driver {self.name!r} keyspace={self.keyspace!r}>"

    def _in_flight_slots(self, native: Any) -> Any:
        slots = self._slots
        if slots is None or slots[0] is not native:
            semaphore: Any
            if isinstance(native, asyncio.AbstractEventLoop):
                semaphore = asyncio.Semaphore(self.max_in_flight)
            else:
                semaphore = anyio.Semaphore(self.max_in_flight, fast_acquire=True)
            slots = (native, semaphore)
            self._slots = slots
        return slots[1]

    async def prepare(self, cql: str, timeout: float | None = None) -> Any:
        """Return the prepared form of ``cql``, preparing it on first use.

        Tasks that need one text at once share a single request.

        :param timeout: seconds to wait for the cluster; by default the
            driver's request timeout.
        :raises OperationTimedOut: the cluster did not answer in time.
        """
        prepared = self._prepared.get(cql)
        if prepared is None:
            logger.debug("preparing %s", cql)
            if timeout is None:
                timeout = self._prepare_timeout
            pending = self._preparer.start(self.session, cql)
            native = current_token().native_token
            try:
                with anyio.fail_after(timeout):
                    await _wait_for(pending, native)
            except TimeoutError:
                raise prepare_timed_out(cql, timeout) from None
            try:
                prepared = pending.result()
            except Exception as error:
                raise translate_error(error, cql) from error
        return prepared

    async def execute(self, statement: Statement) -> ResultPage:
        """Send one statement and return its first (or only) page.

        :raises CoodieError: the cluster refused the statement or did not answer.
        """
        prepared = self._prepared.get(statement.cql) or await self.prepare(
            statement.cql, statement.timeout
        )
        try:
            bound = bind(prepared, statement)
        except Exception as error:
            raise translate_error(error, statement) from error
        return await self._send(bound, statement)

    async def execute_batch(
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
            prepared = self._prepared.get(statement.cql) or await self.prepare(
                statement.cql, timeout
            )
            try:
                batch.add(prepared, statement.values)
            except Exception as error:
                raise translate_error(error, statement) from error
        batch.is_idempotent = all(statement.idempotent for statement in statements)
        summary = Statement(f"BATCH of {len(statements)} statements", timeout=timeout)
        return await self._send(batch, summary)

    async def execute_text(
        self, cql: str, *, timeout: float | None = None
    ) -> ResultPage:
        """Send a statement without bind values and without preparing it (DDL)."""
        return await self._send(cql, Statement(cql, timeout=timeout))

    async def _send(self, request: Any, statement: Statement) -> ResultPage:
        logger.debug("executing %s", statement.cql)
        timeout = _NOT_SET if statement.timeout is None else statement.timeout
        native = current_token().native_token
        async with self._in_flight_slots(native):
            try:
                future = self.session.execute_async(
                    request,
                    timeout=timeout,
                    paging_state=statement.paging_state,
                    execution_profile=PROFILE,
                )
            except Exception as error:
                raise translate_error(error, statement) from error
            await _wait_for(future, native)
        try:
            result = future.result()
        except Exception as error:
            raise translate_error(error, statement) from error
        return result_page(
            result.column_names, result.current_rows, result.paging_state
        )

    async def table_metadata(self, keyspace: str, table: str) -> LiveTable | None:
        """How a table looks now, fresh from the cluster; ``None`` if absent."""
        return await anyio.to_thread.run_sync(
            _fresh_table_metadata, self.cluster, keyspace, table
        )

    async def unbuilt_indexes(
        self, keyspace: str, table: str, timeout: float
    ) -> set[str]:
        """Wait up to ``timeout`` seconds for the table's indexes to be built.

        :returns: the names of the indexes still building then.
        """
        try:
            return await anyio.to_thread.run_sync(
                _unbuilt_indexes,
                self.session,
                keyspace,
                table,
                timeout,
                abandon_on_cancel=True,
            )
        except Exception as error:
            raise translate_error(error, "reading index build states") from error

    async def user_types(
        self, keyspace: str, names: Sequence[str]
    ) -> dict[str, dict[str, str] | None]:
        """The live fields of user types; ``None`` for one that does not exist."""
        return await anyio.to_thread.run_sync(
            _fresh_user_types, self.cluster, keyspace, names
        )

    async def set_keyspace(self, keyspace: str) -> None:
        """Make ``keyspace`` the session's default for unqualified raw CQL."""
        try:
            await anyio.to_thread.run_sync(self.session.set_keyspace, keyspace)
        except Exception as error:
            raise translate_error(error, f"USE {keyspace}") from error
        self.keyspace = keyspace

    async def close(self) -> None:
        """Release the connections (only those coodie opened)."""
        self._preparer.close()
        if self._owns_cluster:
            await anyio.to_thread.run_sync(self.cluster.shutdown)
