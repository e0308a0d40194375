"""What every contender runs: sizes, tables, inputs, and how a sample is timed.

The benchmark runner imports it, and so does the worker that drives coodie 1.9.3 in
a virtual environment of its own; it therefore needs nothing beyond the standard
library and the ``cassandra`` package.

A contender makes each operation's inputs outside the timed block, then times a
loop of the operation through its library: subclasses of :class:`Contender`
provide the loops (methods ``op_<operation>``) and how a user becomes a document
(``make_user``).
"""

from __future__ import annotations

import datetime as dt
import gc
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from cassandra.encoder import Encoder
from cassandra.query import PreparedStatement, bind_params

SERVER_OPERATIONS: tuple[str, ...] = (
    "insert",
    "get",
    "read_partition",
    "iterate",
    "update",
    "insert_if_not_exists",
    "batch_insert",
    "count",
    "delete",
)
CONCURRENCY_LEVELS = (1, 32, 256)
CPU_OPERATIONS: tuple[str, ...] = (
    "cpu_build_bind",
    "cpu_document_to_values",
    "cpu_rows_to_documents",
)

USER_COLUMNS = ("id", "name", "email", "age", "joined")
READING_COLUMNS = ("sensor", "seq", "taken_at", "value", "note")

CREATE_TABLES = (
    "CREATE TABLE {keyspace}.users ("
    "id uuid PRIMARY KEY, name text, email text, age int, joined timestamp)",
    "CREATE TABLE {keyspace}.readings ("
    "sensor text, seq int, taken_at timestamp, value double, note text, "
    "PRIMARY KEY (sensor, seq))",
)

PARTITION_SENSOR = "partition"
ITERATE_SENSOR = "iterate"
CPU_ROWS_SEED = 20_240_501
EPOCH = dt.datetime(2024, 1, 1, 12, 0, 0)


@dataclass(frozen=True)
class Sizes:
    """How much work one run does; ``full``, ``quick`` and ``smoke`` presets."""

    name: str
    rounds: int
    warmup_rounds: int
    operations_per_sample: dict[str, int]
    partition_rows: int
    iterate_rows: int
    batch_rows: int
    user_pool: int
    throughput_requests: int
    throughput_rounds: int
    cpu_rounds: int
    cpu_rows: int
    cpu_calls: int
    canned_rounds: int
    canned_scale: int
    concurrency_levels: tuple[int, ...] = CONCURRENCY_LEVELS
    profile_operations: int = 200

    def to_json(self) -> dict[str, Any]:
        """The sizes as plain JSON values."""
        return asdict(self)

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> Sizes:
        """Read sizes back from :meth:`to_json`."""
        values = dict(values)
        values["concurrency_levels"] = tuple(values["concurrency_levels"])
        return cls(**values)


FULL = Sizes(
    name="full",
    rounds=15,
    warmup_rounds=1,
    operations_per_sample={
        "insert": 40,
        "get": 40,
        "read_partition": 20,
        "iterate": 1,
        "update": 40,
        "insert_if_not_exists": 10,
        "batch_insert": 4,
        "count": 30,
        "delete": 40,
    },
    partition_rows=100,
    iterate_rows=10_000,
    batch_rows=100,
    user_pool=1_000,
    throughput_requests=2_000,
    throughput_rounds=4,
    cpu_rounds=5,
    cpu_rows=100_000,
    cpu_calls=20_000,
    canned_rounds=7,
    canned_scale=10,
)
QUICK = Sizes(
    name="quick",
    rounds=5,
    warmup_rounds=1,
    operations_per_sample={
        "insert": 20,
        "get": 20,
        "read_partition": 10,
        "iterate": 1,
        "update": 20,
        "insert_if_not_exists": 5,
        "batch_insert": 2,
        "count": 15,
        "delete": 20,
    },
    partition_rows=100,
    iterate_rows=10_000,
    batch_rows=100,
    user_pool=300,
    throughput_requests=500,
    throughput_rounds=2,
    cpu_rounds=3,
    cpu_rows=20_000,
    cpu_calls=5_000,
    canned_rounds=3,
    canned_scale=5,
    profile_operations=100,
)
SMOKE = Sizes(
    name="smoke",
    rounds=2,
    warmup_rounds=1,
    operations_per_sample={
        "insert": 2,
        "get": 2,
        "read_partition": 2,
        "iterate": 1,
        "update": 2,
        "insert_if_not_exists": 2,
        "batch_insert": 1,
        "count": 2,
        "delete": 2,
    },
    partition_rows=10,
    iterate_rows=50,
    batch_rows=5,
    user_pool=20,
    throughput_requests=16,
    throughput_rounds=1,
    cpu_rounds=2,
    cpu_rows=200,
    cpu_calls=50,
    canned_rounds=1,
    canned_scale=1,
    profile_operations=5,
)
PRESETS = {sizes.name: sizes for sizes in (FULL, QUICK, SMOKE)}


@dataclass
class Sample:
    """One timed block of ``operations`` operations of one contender."""

    wall_s: float
    cpu_s: float
    operations: int
    rows: int = 0
    thread_cpu_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The sample as plain JSON values."""
        return asdict(self)


def measure(run: Callable[[], int], operations: int) -> Sample:
    """Time ``run`` (which returns the rows it saw) in wall and process CPU time."""
    gc.collect()
    wall_started = time.perf_counter()
    cpu_started = time.process_time()
    thread_started = time.thread_time()
    rows = run()
    thread_cpu = time.thread_time() - thread_started
    cpu = time.process_time() - cpu_started
    wall = time.perf_counter() - wall_started
    return Sample(wall, cpu, operations, rows, thread_cpu)


async def measure_async(run: Callable[[], Awaitable[int]], operations: int) -> Sample:
    """:func:`measure` for a coroutine function, timed inside the running loop."""
    gc.collect()
    wall_started = time.perf_counter()
    cpu_started = time.process_time()
    thread_started = time.thread_time()
    rows = await run()
    thread_cpu = time.thread_time() - thread_started
    cpu = time.process_time() - cpu_started
    wall = time.perf_counter() - wall_started
    return Sample(wall, cpu, operations, rows, thread_cpu)


def new_user_fields(rng: random.Random) -> dict[str, Any]:
    """Field values of a user that is not in the table yet."""
    number = rng.randrange(1_000_000_000)
    return {
        "id": uuid.UUID(int=rng.getrandbits(128), version=4),
        "name": f"user {number}",
        "email": f"user{number}@example.com",
        "age": number % 90 + 10,
        "joined": EPOCH + dt.timedelta(seconds=number % 10_000_000),
    }


def user_pool_fields(pool_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    """The field values the runner loads for the users of the pool."""
    return [
        {
            "id": user_id,
            "name": f"pooled {index}",
            "email": f"pooled{index}@example.com",
            "age": index % 90 + 10,
            "joined": EPOCH + dt.timedelta(minutes=index),
        }
        for index, user_id in enumerate(pool_ids)
    ]


def reading_fields(sensor: str, count: int) -> list[dict[str, Any]]:
    """``count`` readings of one sensor (one partition)."""
    return [
        {
            "sensor": sensor,
            "seq": seq,
            "taken_at": EPOCH + dt.timedelta(seconds=seq),
            "value": seq / 4,
            "note": f"reading {seq}",
        }
        for seq in range(count)
    ]


def cpu_user_rows(count: int) -> list[tuple[Any, ...]]:
    """Rows of ``users`` as the driver decodes them, the same in every process."""
    rng = random.Random(CPU_ROWS_SEED)
    rows = []
    for _ in range(count):
        fields = new_user_fields(rng)
        rows.append(tuple(fields[name] for name in USER_COLUMNS))
    return rows


def pick(pool: list[Any], round_index: int, count: int, salt: int) -> list[Any]:
    """``count`` items of ``pool``, a different stretch for each round and salt."""
    start = (round_index * 7919 + salt * 104_729) % len(pool)
    return [pool[(start + offset) % len(pool)] for offset in range(count)]


class StubResult(list[Any]):
    """What :class:`SendStub` answers: an empty result set."""

    column_names: list[str] = []
    current_rows: list[Any] = []
    paging_state = None
    has_more_pages = False
    was_applied = True

    def one(self) -> None:
        """No row."""


class SendStub:
    """Stands in for a driver session: binds values as the driver would, sends nothing.

    Swapped in for a contender's session, it leaves only the client's own work: a
    prepared statement is bound (values serialized), a simple statement has its
    values rendered into the text, and the answer is an empty result.
    """

    def __init__(self) -> None:
        self.encoder = Encoder()
        self.keyspace: str | None = None

    def execute(
        self, query: Any, parameters: Any = None, *args: Any, **options: Any
    ) -> StubResult:
        """Bind ``parameters`` to ``query`` and answer an empty result."""
        if isinstance(query, PreparedStatement):
            query.bind(parameters)
        elif parameters is not None:
            text = getattr(query, "query_string", query)
            bind_params(text, parameters, self.encoder)
        return StubResult()


class Contender:
    """One way of talking to the node, timed operation by operation."""

    id = ""
    label = ""
    cpu_operations: tuple[str, ...] = ()
    runs_operations = True
    runs_throughput = False

    def __init__(self, sizes: Sizes, pool_ids: list[uuid.UUID], seed: int) -> None:
        self.sizes = sizes
        self.pool = user_pool_fields(pool_ids)
        self.rng = random.Random(seed)
        self.inserted: list[dict[str, Any]] = []

    # -- inputs, made outside the timed block -------------------------------------

    def make_user(self, fields: dict[str, Any]) -> Any:
        """A user as this library holds it (a document, a tuple, ...)."""
        raise NotImplementedError

    def new_user_input(self, fields: dict[str, Any]) -> Any:
        """What an insert of a new user starts from: the field values by default."""
        return fields

    def inputs(
        self, operation: str, round_index: int, count: int | None = None
    ) -> list[Any]:
        """The inputs of ``count`` operations (the sample's size by default)."""
        if count is None:
            count = self.sizes.operations_per_sample[operation]
        if operation in ("insert", "insert_if_not_exists"):
            fresh = [new_user_fields(self.rng) for _ in range(count)]
            if operation == "insert":
                self.inserted.extend(fresh)
            return [self.new_user_input(fields) for fields in fresh]
        if operation == "get":
            return [fields["id"] for fields in pick(self.pool, round_index, count, 1)]
        if operation == "update":
            chosen = pick(self.pool, round_index, count, 2)
            return [
                (self.make_user(fields), f"renamed {round_index}-{index}")
                for index, fields in enumerate(chosen)
            ]
        if operation == "delete":
            # Rows this contender inserted; a shortfall (never with the presets)
            # deletes absent keys, which costs the node the same tombstone write.
            victims, self.inserted = self.inserted[:count], self.inserted[count:]
            victims += [new_user_fields(self.rng) for _ in range(count - len(victims))]
            return [self.make_user(fields) for fields in victims]
        if operation == "batch_insert":
            return [
                reading_fields(f"batch {uuid.uuid4()}", self.sizes.batch_rows)
                for _ in range(count)
            ]
        return list(range(count))

    def profile_count(self, operation: str) -> int:
        """How many operations a profile of ``operation`` covers."""
        scale = self.sizes.operations_per_sample[operation]
        largest = max(self.sizes.operations_per_sample.values())
        return max(1, self.sizes.profile_operations * scale // largest)

    def throughput_inputs(self) -> list[Any]:
        """The new users that one throughput sample inserts."""
        return [
            self.new_user_input(new_user_fields(self.rng))
            for _ in range(self.sizes.throughput_requests)
        ]

    # -- timed blocks -------------------------------------------------------------

    def sample(
        self, operation: str, round_index: int, count: int | None = None
    ) -> Sample:
        """Time one sample of ``operation`` (``count`` operations, or the default)."""
        inputs = self.inputs(operation, round_index, count)
        run = getattr(self, f"op_{operation}")
        return measure(lambda: run(inputs), len(inputs))

    def throughput(self, concurrency: int) -> Sample:
        """Time inserts with ``concurrency`` requests in flight."""
        raise NotImplementedError(f"{self.label} has no async throughput run")

    def cpu_sample(self, operation: str) -> Sample:
        """Time a client-only operation (no request reaches the node)."""
        raise NotImplementedError(f"{self.label} has no {operation}")

    def close(self) -> None:
        """Release the connections."""
