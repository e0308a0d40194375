"""The contenders that run inside the benchmark's own process.

The raw driver twice (its default named-tuple rows, and tuples turned into
dataclasses), coodie through both front doors (the async one on asyncio and on
trio) and cqlengine. Each keeps its own cluster connection, configured alike: the
token-aware, DC-aware policy and ``LOCAL_ONE``.
"""

from __future__ import annotations

import asyncio
import cProfile
import datetime as dt
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, Session
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.cqlengine import columns as cql_columns
from cassandra.cqlengine import connection as cql_connection
from cassandra.cqlengine.models import Model as CqlModel
from cassandra.cqlengine.query import BatchQuery as CqlBatchQuery
from cassandra.cqlengine.query import BatchType as CqlBatchType
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy
from cassandra.query import (
    BatchStatement,
    BatchType,
    dict_factory,
    named_tuple_factory,
    tuple_factory,
)
from workload import (
    ITERATE_SENSOR,
    PARTITION_SENSOR,
    READING_COLUMNS,
    USER_COLUMNS,
    Contender,
    Sample,
    SendStub,
    cpu_user_rows,
    measure,
    measure_async,
)

import coodie.aio
import coodie.sync
from coodie.fields import ClusteringKey, PrimaryKey
from coodie.statements import insert_statement

REQUEST_TIMEOUT_S = 30.0
TUPLE_ROWS = "tuple rows"
CPU_OPERATIONS: tuple[str, ...] = (
    "cpu_build_bind",
    "cpu_document_to_values",
    "cpu_rows_to_documents",
)


@dataclass(frozen=True)
class Target:
    """Where the node is and which keyspace holds the benchmark's tables."""

    hosts: list[str]
    port: int
    keyspace: str


# -- models --------------------------------------------------------------------


@dataclass
class UserRow:
    id: uuid.UUID
    name: str
    email: str
    age: int
    joined: dt.datetime


@dataclass
class ReadingRow:
    sensor: str
    seq: int
    taken_at: dt.datetime
    value: float
    note: str


class SyncUser(coodie.sync.Document):
    id: Annotated[uuid.UUID, PrimaryKey()]
    name: str
    email: str
    age: int
    joined: dt.datetime

    class Settings:
        name = "users"


class SyncReading(coodie.sync.Document):
    sensor: Annotated[str, PrimaryKey()]
    seq: Annotated[int, ClusteringKey()]
    taken_at: dt.datetime
    value: float
    note: str

    class Settings:
        name = "readings"


class AioUser(coodie.aio.Document):
    id: Annotated[uuid.UUID, PrimaryKey()]
    name: str
    email: str
    age: int
    joined: dt.datetime

    class Settings:
        name = "users"


class AioReading(coodie.aio.Document):
    sensor: Annotated[str, PrimaryKey()]
    seq: Annotated[int, ClusteringKey()]
    taken_at: dt.datetime
    value: float
    note: str

    class Settings:
        name = "readings"


class CqlUser(CqlModel):  # type: ignore[misc]
    __table_name__ = "users"
    id = cql_columns.UUID(primary_key=True)
    name = cql_columns.Text()
    email = cql_columns.Text()
    age = cql_columns.Integer()
    joined = cql_columns.DateTime()


class CqlReading(CqlModel):  # type: ignore[misc]
    __table_name__ = "readings"
    sensor = cql_columns.Text(partition_key=True)
    seq = cql_columns.Integer(primary_key=True)
    taken_at = cql_columns.DateTime()
    value = cql_columns.Double()
    note = cql_columns.Text()


# -- the raw driver ----------------------------------------------------------------


def raw_profile(row_factory: Callable[..., Any]) -> ExecutionProfile:
    """The execution profile every contender's connection is given."""
    return ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy()),
        consistency_level=ConsistencyLevel.LOCAL_ONE,
        request_timeout=REQUEST_TIMEOUT_S,
        row_factory=row_factory,
    )


def connect_raw(target: Target) -> tuple[Cluster, Session]:
    """A raw driver session: named-tuple rows by default, tuples on request."""
    cluster = Cluster(
        contact_points=target.hosts,
        port=target.port,
        execution_profiles={
            EXEC_PROFILE_DEFAULT: raw_profile(named_tuple_factory),
            TUPLE_ROWS: raw_profile(tuple_factory),
        },
    )
    return cluster, cluster.connect()


class RawStatements:
    """The prepared statements the raw contenders send."""

    def __init__(self, session: Session, keyspace: str) -> None:
        users = f"{keyspace}.users"
        readings = f"{keyspace}.readings"
        user_columns = ", ".join(USER_COLUMNS)
        reading_columns = ", ".join(READING_COLUMNS)
        user_markers = ", ".join("?" * len(USER_COLUMNS))
        reading_markers = ", ".join("?" * len(READING_COLUMNS))
        self.insert_user = session.prepare(
            f"INSERT INTO {users} ({user_columns}) VALUES ({user_markers})"
        )
        self.insert_user_if_not_exists = session.prepare(
            f"INSERT INTO {users} ({user_columns}) VALUES ({user_markers}) "
            "IF NOT EXISTS"
        )
        self.get_user = session.prepare(
            f"SELECT {user_columns} FROM {users} WHERE id = ?"
        )
        self.update_user_name = session.prepare(
            f"UPDATE {users} SET name = ? WHERE id = ?"
        )
        self.delete_user = session.prepare(f"DELETE FROM {users} WHERE id = ?")
        self.insert_reading = session.prepare(
            f"INSERT INTO {readings} ({reading_columns}) VALUES ({reading_markers})"
        )
        self.select_partition = session.prepare(
            f"SELECT {reading_columns} FROM {readings} WHERE sensor = ?"
        )
        self.count_partition = session.prepare(
            f"SELECT COUNT(*) FROM {readings} WHERE sensor = ?"
        )


def user_values(fields: dict[str, Any]) -> tuple[Any, ...]:
    """A user's bind values in column order."""
    return tuple(fields[name] for name in USER_COLUMNS)


class RawDriver(Contender):
    """cassandra-driver with prepared statements and its default rows: the floor."""

    id = "raw"
    label = "raw driver"
    cpu_operations: tuple[str, ...] = CPU_OPERATIONS

    def __init__(
        self,
        session: Session,
        statements: RawStatements,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.session = session
        self.statements = statements

    def make_user(self, fields: dict[str, Any]) -> Any:
        return user_values(fields)

    def new_user_input(self, fields: dict[str, Any]) -> Any:
        return user_values(fields)

    def op_insert(self, inputs: list[Any]) -> int:
        execute, statement = self.session.execute, self.statements.insert_user
        for values in inputs:
            execute(statement, values)
        return len(inputs)

    def op_get(self, inputs: list[uuid.UUID]) -> int:
        execute, statement = self.session.execute, self.statements.get_user
        found = 0
        for user_id in inputs:
            row = execute(statement, (user_id,)).one()
            found += row is not None
        return found

    def op_read_partition(self, inputs: list[int]) -> int:
        execute, statement = self.session.execute, self.statements.select_partition
        return sum(len(list(execute(statement, (PARTITION_SENSOR,)))) for _ in inputs)

    def op_iterate(self, inputs: list[int]) -> int:
        statement = self.statements.select_partition
        seen = 0
        for _ in inputs:
            for _row in self.session.execute(statement, (ITERATE_SENSOR,)):
                seen += 1
        return seen

    def op_update(self, inputs: list[Any]) -> int:
        execute, statement = self.session.execute, self.statements.update_user_name
        for user, name in inputs:
            execute(statement, (name, user[0]))
        return len(inputs)

    def op_insert_if_not_exists(self, inputs: list[Any]) -> int:
        execute = self.session.execute
        statement = self.statements.insert_user_if_not_exists
        return sum(execute(statement, values).was_applied for values in inputs)

    def op_batch_insert(self, inputs: list[list[dict[str, Any]]]) -> int:
        statement = self.statements.insert_reading
        for readings in inputs:
            batch = BatchStatement(batch_type=BatchType.UNLOGGED)
            for fields in readings:
                batch.add(statement, tuple(fields[name] for name in READING_COLUMNS))
            self.session.execute(batch)
        return len(inputs)

    def op_count(self, inputs: list[int]) -> int:
        execute, statement = self.session.execute, self.statements.count_partition
        return sum(execute(statement, (PARTITION_SENSOR,)).one()[0] for _ in inputs)

    def op_delete(self, inputs: list[Any]) -> int:
        execute, statement = self.session.execute, self.statements.delete_user
        for user in inputs:
            execute(statement, (user[0],))
        return len(inputs)

    def cpu_sample(self, operation: str) -> Sample:
        calls = self.sizes.cpu_calls
        converting = operation == "cpu_rows_to_documents"
        rows = cpu_user_rows(self.sizes.cpu_rows if converting else calls)
        if operation == "cpu_build_bind":
            stub, statement = SendStub(), self.statements.insert_user

            def build_bind() -> int:
                for values in rows:
                    stub.execute(statement, values)
                return len(rows)

            return measure(build_bind, len(rows))
        if operation == "cpu_document_to_values":
            documents = named_tuple_factory(USER_COLUMNS, rows)
            return measure(lambda: len([tuple(row) for row in documents]), calls)
        return measure(
            lambda: len(named_tuple_factory(USER_COLUMNS, rows)), self.sizes.cpu_rows
        )


class RawDataclasses(RawDriver):
    """The raw driver with tuple rows turned into dataclasses."""

    id = "raw_dataclass"
    label = "raw driver + dataclasses"

    def make_user(self, fields: dict[str, Any]) -> Any:
        return UserRow(**fields)

    def new_user_input(self, fields: dict[str, Any]) -> Any:
        return fields

    def op_insert(self, inputs: list[Any]) -> int:
        execute, statement = self.session.execute, self.statements.insert_user
        for fields in inputs:
            user = UserRow(**fields)
            execute(statement, (user.id, user.name, user.email, user.age, user.joined))
        return len(inputs)

    def op_get(self, inputs: list[Any]) -> int:
        execute, statement = self.session.execute, self.statements.get_user
        found = 0
        for user_id in inputs:
            row = execute(statement, (user_id,), execution_profile=TUPLE_ROWS).one()
            if row is not None:
                UserRow(*row)
                found += 1
        return found

    def op_read_partition(self, inputs: list[Any]) -> int:
        execute, statement = self.session.execute, self.statements.select_partition
        seen = 0
        for _ in inputs:
            rows = execute(statement, (PARTITION_SENSOR,), execution_profile=TUPLE_ROWS)
            seen += len([ReadingRow(*row) for row in rows])
        return seen

    def op_iterate(self, inputs: list[Any]) -> int:
        statement = self.statements.select_partition
        seen = 0
        for _ in inputs:
            rows = self.session.execute(
                statement, (ITERATE_SENSOR,), execution_profile=TUPLE_ROWS
            )
            for row in rows:
                ReadingRow(*row)
                seen += 1
        return seen

    def op_update(self, inputs: list[Any]) -> int:
        execute, statement = self.session.execute, self.statements.update_user_name
        for user, name in inputs:
            execute(statement, (name, user.id))
            user.name = name
        return len(inputs)

    def op_insert_if_not_exists(self, inputs: list[Any]) -> int:
        execute = self.session.execute
        statement = self.statements.insert_user_if_not_exists
        applied = 0
        for fields in inputs:
            user = UserRow(**fields)
            values = (user.id, user.name, user.email, user.age, user.joined)
            result = execute(statement, values, execution_profile=TUPLE_ROWS)
            applied += result.one()[0]
        return applied

    def op_batch_insert(self, inputs: list[Any]) -> int:
        statement = self.statements.insert_reading
        for readings in inputs:
            batch = BatchStatement(batch_type=BatchType.UNLOGGED)
            for fields in readings:
                reading = ReadingRow(**fields)
                batch.add(
                    statement,
                    (
                        reading.sensor,
                        reading.seq,
                        reading.taken_at,
                        reading.value,
                        reading.note,
                    ),
                )
            self.session.execute(batch)
        return len(inputs)

    def op_count(self, inputs: list[Any]) -> int:
        execute, statement = self.session.execute, self.statements.count_partition
        counted = 0
        for _ in inputs:
            result = execute(
                statement, (PARTITION_SENSOR,), execution_profile=TUPLE_ROWS
            )
            counted += result.one()[0]
        return counted

    def op_delete(self, inputs: list[Any]) -> int:
        execute, statement = self.session.execute, self.statements.delete_user
        for user in inputs:
            execute(statement, (user.id,))
        return len(inputs)

    def cpu_sample(self, operation: str) -> Sample:
        calls = self.sizes.cpu_calls
        if operation == "cpu_rows_to_documents":
            rows = cpu_user_rows(self.sizes.cpu_rows)
            return measure(
                lambda: len(
                    [UserRow(*row) for row in tuple_factory(USER_COLUMNS, rows)]
                ),
                len(rows),
            )
        users = [UserRow(*row) for row in cpu_user_rows(calls)]
        if operation == "cpu_document_to_values":
            return measure(
                lambda: len([(u.id, u.name, u.email, u.age, u.joined) for u in users]),
                calls,
            )
        stub, statement = SendStub(), self.statements.insert_user

        def build_bind() -> int:
            for user in users:
                stub.execute(
                    statement, (user.id, user.name, user.email, user.age, user.joined)
                )
            return len(users)

        return measure(build_bind, calls)


class RawAsyncio(RawDriver):
    """The raw driver's ``execute_async`` awaited on asyncio: the async floor.

    Each request's callbacks hand the result to the loop with
    ``call_soon_threadsafe``, the least any asyncio caller of the driver must do.
    """

    id = "raw_asyncio"
    label = "raw execute_async on asyncio"
    cpu_operations: tuple[str, ...] = ()
    runs_operations = False
    runs_throughput = True

    def throughput(self, concurrency: int) -> Sample:
        inputs = self.throughput_inputs()

        async def timed() -> Sample:
            return await measure_async(
                lambda: self.insert_concurrently(inputs, concurrency), len(inputs)
            )

        return anyio.run(timed, backend="asyncio")

    async def insert_concurrently(
        self, inputs: list[tuple[Any, ...]], concurrency: int
    ) -> int:
        """Insert every user from ``concurrency`` tasks, one request each at a time."""
        loop = asyncio.get_running_loop()
        execute_async, statement = (
            self.session.execute_async,
            self.statements.insert_user,
        )
        pending = iter(inputs)

        async def insert_pending() -> None:
            for values in pending:
                done: asyncio.Future[None] = loop.create_future()

                def wake(_: object, done: asyncio.Future[None] = done) -> None:
                    loop.call_soon_threadsafe(done.set_result, None)

                execute_async(statement, values).add_callbacks(wake, wake)
                await done

        await asyncio.gather(
            *(insert_pending() for _ in range(min(concurrency, len(inputs))))
        )
        return len(inputs)


class RawConcurrent(RawDriver):
    """``execute_concurrent_with_args``: ``execute_async`` chained by callbacks.

    No event loop at all: the driver's IO thread starts the next request from the
    previous one's callback. The fastest the driver can go, for reference.
    """

    id = "raw_concurrent"
    label = "raw execute_concurrent"
    cpu_operations: tuple[str, ...] = ()
    runs_operations = False
    runs_throughput = True

    def throughput(self, concurrency: int) -> Sample:
        inputs = self.throughput_inputs()
        statement = self.statements.insert_user

        def run() -> int:
            results = execute_concurrent_with_args(
                self.session, statement, inputs, concurrency=concurrency
            )
            return sum(success for success, _ in results)

        return measure(run, len(inputs))


# -- coodie ----------------------------------------------------------------------


class CoodieSync(Contender):
    """coodie through its blocking front door, ``coodie.sync``."""

    id = "coodie_sync"
    label = "coodie.sync"
    cpu_operations: tuple[str, ...] = CPU_OPERATIONS

    def __init__(self, target: Target, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.target = target
        self.driver = coodie.sync.init_coodie(
            hosts=target.hosts,
            port=target.port,
            keyspace=target.keyspace,
            request_timeout=REQUEST_TIMEOUT_S,
        )

    def make_user(self, fields: dict[str, Any]) -> Any:
        return SyncUser(**fields)

    def op_insert(self, inputs: list[dict[str, Any]]) -> int:
        for fields in inputs:
            SyncUser(**fields).save()
        return len(inputs)

    def op_get(self, inputs: list[uuid.UUID]) -> int:
        for user_id in inputs:
            SyncUser.get(id=user_id)
        return len(inputs)

    def op_read_partition(self, inputs: list[int]) -> int:
        return sum(len(SyncReading.find(sensor=PARTITION_SENSOR).all()) for _ in inputs)

    def op_iterate(self, inputs: list[int]) -> int:
        seen = 0
        for _ in inputs:
            for _reading in SyncReading.find(sensor=ITERATE_SENSOR):
                seen += 1
        return seen

    def op_update(self, inputs: list[tuple[SyncUser, str]]) -> int:
        for user, name in inputs:
            user.update(name=name)
        return len(inputs)

    def op_insert_if_not_exists(self, inputs: list[dict[str, Any]]) -> int:
        return sum(bool(SyncUser(**fields).insert()) for fields in inputs)

    def op_batch_insert(self, inputs: list[list[dict[str, Any]]]) -> int:
        for readings in inputs:
            with coodie.sync.BatchQuery(kind="UNLOGGED") as batch:
                for fields in readings:
                    SyncReading(**fields).save(batch=batch)
        return len(inputs)

    def op_count(self, inputs: list[int]) -> int:
        return sum(SyncReading.find(sensor=PARTITION_SENSOR).count() for _ in inputs)

    def op_delete(self, inputs: list[SyncUser]) -> int:
        for user in inputs:
            user.delete()
        return len(inputs)

    def cpu_sample(self, operation: str) -> Sample:
        calls = self.sizes.cpu_calls
        if operation == "cpu_rows_to_documents":
            rows = cpu_user_rows(self.sizes.cpu_rows)
            return measure(
                lambda: len(
                    SyncUser.from_rows(USER_COLUMNS, tuple_factory(None, rows))
                ),
                len(rows),
            )
        users = [
            SyncUser(**dict(zip(USER_COLUMNS, row, strict=True)))
            for row in cpu_user_rows(calls)
        ]
        keyspace = self.target.keyspace
        if operation == "cpu_document_to_values":
            return measure(
                lambda: len(
                    [insert_statement(user, keyspace=keyspace).values for user in users]
                ),
                calls,
            )

        def save_all() -> int:
            for user in users:
                user.save()
            return len(users)

        with self.stubbed_session():
            return measure(save_all, calls)

    @contextmanager
    def stubbed_session(self) -> Iterator[None]:
        """Swap the driver's session for :class:`SendStub` for a while."""
        session = self.driver.session
        self.driver.session = SendStub()
        try:
            yield
        finally:
            self.driver.session = session

    def profile(self, operation: str, round_index: int) -> cProfile.Profile:
        """Profile the calling thread's CPU time over some operations."""
        profiler = cProfile.Profile(time.thread_time)
        inputs = self.inputs(operation, round_index, self.profile_count(operation))
        run = getattr(self, f"op_{operation}")
        profiler.enable()
        run(inputs)
        profiler.disable()
        return profiler

    def close(self) -> None:
        coodie.sync.close_coodie()


class CoodieAio(Contender):
    """coodie through its async front door, ``coodie.aio``, on one event loop."""

    runs_throughput = True

    def __init__(self, backend: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.backend = backend
        self.id = f"coodie_aio_{backend}"
        self.label = f"coodie.aio ({backend})"

    @staticmethod
    def connect(target: Target) -> None:
        """Register the ``coodie.aio`` driver that both event loops share."""

        async def init() -> None:
            await coodie.aio.init_coodie(
                hosts=target.hosts,
                port=target.port,
                keyspace=target.keyspace,
                request_timeout=REQUEST_TIMEOUT_S,
            )

        anyio.run(init, backend="asyncio")

    @staticmethod
    def disconnect() -> None:
        """Close the shared ``coodie.aio`` driver."""
        anyio.run(coodie.aio.close_coodie, backend="asyncio")

    def make_user(self, fields: dict[str, Any]) -> Any:
        return AioUser(**fields)

    def run_on_loop(self, run: Callable[[], Awaitable[Sample]]) -> Sample:
        """Run ``run`` on a fresh event loop of this contender's kind."""
        return anyio.run(run, backend=self.backend)

    def sample(
        self, operation: str, round_index: int, count: int | None = None
    ) -> Sample:
        inputs = self.inputs(operation, round_index, count)
        run = getattr(self, f"op_{operation}")

        async def timed() -> Sample:
            return await measure_async(lambda: run(inputs), len(inputs))

        return self.run_on_loop(timed)

    def throughput(self, concurrency: int) -> Sample:
        inputs = self.throughput_inputs()

        async def timed() -> Sample:
            return await measure_async(
                lambda: self.insert_concurrently(inputs, concurrency), len(inputs)
            )

        return self.run_on_loop(timed)

    @staticmethod
    async def insert_concurrently(
        inputs: list[dict[str, Any]], concurrency: int
    ) -> int:
        """Insert every user, ``concurrency`` tasks each saving one at a time."""
        pending = iter(inputs)

        async def save_pending() -> None:
            for fields in pending:
                await AioUser(**fields).save()

        async with anyio.create_task_group() as group:
            for _ in range(min(concurrency, len(inputs))):
                group.start_soon(save_pending)
        return len(inputs)

    async def op_insert(self, inputs: list[dict[str, Any]]) -> int:
        for fields in inputs:
            await AioUser(**fields).save()
        return len(inputs)

    async def op_get(self, inputs: list[uuid.UUID]) -> int:
        for user_id in inputs:
            await AioUser.get(id=user_id)
        return len(inputs)

    async def op_read_partition(self, inputs: list[int]) -> int:
        seen = 0
        for _ in inputs:
            seen += len(await AioReading.find(sensor=PARTITION_SENSOR).all())
        return seen

    async def op_iterate(self, inputs: list[int]) -> int:
        seen = 0
        for _ in inputs:
            async for _reading in AioReading.find(sensor=ITERATE_SENSOR):
                seen += 1
        return seen

    async def op_update(self, inputs: list[tuple[AioUser, str]]) -> int:
        for user, name in inputs:
            await user.update(name=name)
        return len(inputs)

    async def op_insert_if_not_exists(self, inputs: list[dict[str, Any]]) -> int:
        applied = 0
        for fields in inputs:
            applied += bool(await AioUser(**fields).insert())
        return applied

    async def op_batch_insert(self, inputs: list[list[dict[str, Any]]]) -> int:
        for readings in inputs:
            async with coodie.aio.AsyncBatchQuery(kind="UNLOGGED") as batch:
                for fields in readings:
                    await AioReading(**fields).save(batch=batch)
        return len(inputs)

    async def op_count(self, inputs: list[int]) -> int:
        counted = 0
        for _ in inputs:
            counted += await AioReading.find(sensor=PARTITION_SENSOR).count()
        return counted

    async def op_delete(self, inputs: list[AioUser]) -> int:
        for user in inputs:
            await user.delete()
        return len(inputs)

    def profile(self, operation: str, round_index: int) -> cProfile.Profile:
        """Profile the event loop thread's CPU time over some operations."""
        profiler = cProfile.Profile(time.thread_time)
        if operation.startswith("throughput"):
            concurrency = int(operation.rsplit("_", 1)[1])
            inputs = self.throughput_inputs()

            async def run() -> None:
                profiler.enable()
                await self.insert_concurrently(inputs, concurrency)
                profiler.disable()

        else:
            inputs = self.inputs(operation, round_index, self.profile_count(operation))
            operation_loop = getattr(self, f"op_{operation}")

            async def run() -> None:
                profiler.enable()
                await operation_loop(inputs)
                profiler.disable()

        anyio.run(run, backend=self.backend)
        return profiler


# -- cqlengine -------------------------------------------------------------------


class Cqlengine(Contender):
    """cqlengine, the object mapper inside cassandra-driver (simple statements)."""

    id = "cqlengine"
    label = "cqlengine"
    cpu_operations: tuple[str, ...] = ("cpu_build_bind", "cpu_rows_to_documents")

    def __init__(self, target: Target, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cql_connection.setup(
            target.hosts,
            target.keyspace,
            port=target.port,
            load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy()),
        )
        session = cql_connection.get_session()
        session.default_timeout = REQUEST_TIMEOUT_S
        session.default_consistency_level = ConsistencyLevel.LOCAL_ONE

    def make_user(self, fields: dict[str, Any]) -> Any:
        return CqlUser(**fields)

    def op_insert(self, inputs: list[dict[str, Any]]) -> int:
        for fields in inputs:
            CqlUser.create(**fields)
        return len(inputs)

    def op_get(self, inputs: list[uuid.UUID]) -> int:
        for user_id in inputs:
            CqlUser.get(id=user_id)
        return len(inputs)

    def op_read_partition(self, inputs: list[int]) -> int:
        return sum(
            len(list(CqlReading.objects(sensor=PARTITION_SENSOR))) for _ in inputs
        )

    def op_iterate(self, inputs: list[int]) -> int:
        seen = 0
        for _ in inputs:
            for _reading in CqlReading.objects(sensor=ITERATE_SENSOR).limit(None):
                seen += 1
        return seen

    def op_update(self, inputs: list[tuple[CqlUser, str]]) -> int:
        for user, name in inputs:
            user.update(name=name)
        return len(inputs)

    def op_insert_if_not_exists(self, inputs: list[dict[str, Any]]) -> int:
        for fields in inputs:
            CqlUser.if_not_exists().create(**fields)
        return len(inputs)

    def op_batch_insert(self, inputs: list[list[dict[str, Any]]]) -> int:
        for readings in inputs:
            with CqlBatchQuery(batch_type=CqlBatchType.Unlogged) as batch:
                for fields in readings:
                    CqlReading.batch(batch).create(**fields)
        return len(inputs)

    def op_count(self, inputs: list[int]) -> int:
        return sum(CqlReading.objects(sensor=PARTITION_SENSOR).count() for _ in inputs)

    def op_delete(self, inputs: list[CqlUser]) -> int:
        for user in inputs:
            user.delete()
        return len(inputs)

    def cpu_sample(self, operation: str) -> Sample:
        if operation == "cpu_rows_to_documents":
            rows = cpu_user_rows(self.sizes.cpu_rows)
            construct = CqlUser._construct_instance
            return measure(
                lambda: len(
                    [construct(row) for row in dict_factory(USER_COLUMNS, rows)]
                ),
                len(rows),
            )
        calls = self.sizes.cpu_calls
        users = [
            CqlUser(**dict(zip(USER_COLUMNS, row, strict=True)))
            for row in cpu_user_rows(calls)
        ]
        connection = cql_connection.get_connection()
        session = connection.session
        connection.session = SendStub()
        try:
            return measure(lambda: len([user.save() for user in users]), calls)
        finally:
            connection.session = session

    def close(self) -> None:
        cql_connection.unregister_connection("default")
