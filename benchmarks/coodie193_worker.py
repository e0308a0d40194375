"""Drives coodie 1.9.3 from PyPI for the benchmark, in a virtual environment of its own.

That coodie is a different mapper published under the same distribution name as
this repository's, so the two cannot share an environment. The runner starts this
script with the other environment's Python and sends one JSON request per line on
standard input; each answer is one JSON line on standard output. Anything else the
script or a library prints goes to standard error.

Requests: ``setup``, ``sample``, ``throughput``, ``cpu`` and ``close`` (see
:func:`handle`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import json
import os
import sys
import traceback
import uuid
from collections.abc import Awaitable, Callable
from importlib.metadata import version
from typing import Annotated, Any

from cassandra.query import dict_factory
from workload import (
    ITERATE_SENSOR,
    PARTITION_SENSOR,
    USER_COLUMNS,
    Contender,
    Sample,
    SendStub,
    Sizes,
    cpu_user_rows,
    measure,
    measure_async,
)

from coodie.aio import Document as AioDocument
from coodie.batch import AsyncBatchQuery, BatchQuery
from coodie.drivers import get_driver, register_driver
from coodie.drivers.cassandra import CassandraDriver
from coodie.fields import ClusteringKey, PrimaryKey
from coodie.sync import Document as SyncDocument
from coodie.sync import init_coodie
from coodie.sync.query import QuerySet


class User(SyncDocument):
    id: Annotated[uuid.UUID, PrimaryKey()]
    name: str
    email: str
    age: int
    joined: dt.datetime

    class Settings:
        name = "users"


class Reading(SyncDocument):
    sensor: Annotated[str, PrimaryKey()]
    seq: Annotated[int, ClusteringKey()]
    taken_at: dt.datetime
    value: float
    note: str

    class Settings:
        name = "readings"


class AioUser(AioDocument):
    id: Annotated[uuid.UUID, PrimaryKey()]
    name: str
    email: str
    age: int
    joined: dt.datetime

    class Settings:
        name = "users"


class AioReading(AioDocument):
    sensor: Annotated[str, PrimaryKey()]
    seq: Annotated[int, ClusteringKey()]
    taken_at: dt.datetime
    value: float
    note: str

    class Settings:
        name = "readings"


class CapturingDriver:
    """Takes the statements a document hands its driver and sends nothing."""

    def __init__(self, keyspace: str | None) -> None:
        self._default_keyspace = keyspace

    def execute(self, cql: str, params: list[Any], **options: Any) -> list[Any]:
        return []


class LegacySync(Contender):
    """coodie 1.9.3 through its blocking API, ``coodie.sync``."""

    id = "coodie193_sync"
    label = "coodie 1.9.3 (sync)"
    cpu_operations = (
        "cpu_build_bind",
        "cpu_document_to_values",
        "cpu_rows_to_documents",
    )

    def make_user(self, fields: dict[str, Any]) -> Any:
        return User(**fields)

    def op_insert(self, inputs: list[dict[str, Any]]) -> int:
        for fields in inputs:
            User(**fields).save()
        return len(inputs)

    def op_get(self, inputs: list[uuid.UUID]) -> int:
        for user_id in inputs:
            User.get(id=user_id)
        return len(inputs)

    def op_read_partition(self, inputs: list[int]) -> int:
        return sum(len(Reading.find(sensor=PARTITION_SENSOR).all()) for _ in inputs)

    def op_iterate(self, inputs: list[int]) -> int:
        seen = 0
        for _ in inputs:
            for _reading in Reading.find(sensor=ITERATE_SENSOR):
                seen += 1
        return seen

    def op_update(self, inputs: list[tuple[User, str]]) -> int:
        for user, name in inputs:
            user.update(name=name)
        return len(inputs)

    def op_insert_if_not_exists(self, inputs: list[dict[str, Any]]) -> int:
        applied = 0
        for fields in inputs:
            result = User(**fields).insert()
            applied += result is None or bool(result.applied)
        return applied

    def op_batch_insert(self, inputs: list[list[dict[str, Any]]]) -> int:
        for readings in inputs:
            with BatchQuery(logged=False) as batch:
                for fields in readings:
                    Reading(**fields).save(batch=batch)
        return len(inputs)

    def op_count(self, inputs: list[int]) -> int:
        return sum(Reading.find(sensor=PARTITION_SENSOR).count() for _ in inputs)

    def op_delete(self, inputs: list[User]) -> int:
        for user in inputs:
            user.delete()
        return len(inputs)

    def cpu_sample(self, operation: str) -> Sample:
        if operation == "cpu_rows_to_documents":
            rows = cpu_user_rows(self.sizes.cpu_rows)
            query = QuerySet(User)

            def rows_to_documents() -> int:
                decoded = CassandraDriver._rows_to_dicts(
                    dict_factory(USER_COLUMNS, rows)
                )
                return len(query._rows_to_docs(decoded))

            return measure(rows_to_documents, len(rows))

        calls = self.sizes.cpu_calls
        users = [
            User(**dict(zip(USER_COLUMNS, row, strict=True)))
            for row in cpu_user_rows(calls)
        ]
        driver = get_driver()
        if operation == "cpu_document_to_values":
            # save() hands its driver the CQL text and the bind values.
            capturing = CapturingDriver(driver._default_keyspace)
            register_driver("default", capturing, default=True)  # type: ignore[arg-type]
            try:
                return measure(lambda: len([user.save() for user in users]), calls)
            finally:
                register_driver("default", driver, default=True)
        session = driver._session
        driver._session = SendStub()
        try:
            return measure(lambda: len([user.save() for user in users]), calls)
        finally:
            driver._session = session


class LegacyAio(Contender):
    """coodie 1.9.3 through its asyncio API, ``coodie.aio``."""

    id = "coodie193_aio"
    label = "coodie 1.9.3 (asyncio)"
    runs_throughput = True

    def make_user(self, fields: dict[str, Any]) -> Any:
        return AioUser(**fields)

    def sample(self, operation: str, round_index: int) -> Sample:
        inputs = self.inputs(operation, round_index)
        run: Callable[[list[Any]], Awaitable[int]] = getattr(self, f"op_{operation}")
        return asyncio.run(measure_async(lambda: run(inputs), len(inputs)))

    def throughput(self, concurrency: int) -> Sample:
        inputs = self.throughput_inputs()

        async def insert_concurrently() -> int:
            pending = iter(inputs)

            async def save_pending() -> None:
                for fields in pending:
                    await AioUser(**fields).save()

            await asyncio.gather(
                *(save_pending() for _ in range(min(concurrency, len(inputs))))
            )
            return len(inputs)

        return asyncio.run(measure_async(insert_concurrently, len(inputs)))

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
            result = await AioUser(**fields).insert()
            applied += result is None or bool(result.applied)
        return applied

    async def op_batch_insert(self, inputs: list[list[dict[str, Any]]]) -> int:
        for readings in inputs:
            async with AsyncBatchQuery(logged=False) as batch:
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


class Worker:
    """The state between requests: the connection and the two contenders."""

    def __init__(self) -> None:
        self.contenders: dict[str, Contender] = {}

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one request."""
        command = request["command"]
        if command == "setup":
            return self.setup(request)
        if command == "freeze":
            gc.collect()
            gc.freeze()
            return {"frozen": True}
        if command == "close":
            get_driver().close()
            return {"closed": True}
        contender = self.contenders[request["contender"]]
        if command == "sample":
            sample = contender.sample(request["operation"], request["round"])
        elif command == "throughput":
            sample = contender.throughput(request["concurrency"])
        elif command == "cpu":
            sample = contender.cpu_sample(request["operation"])
        else:
            raise ValueError(f"unknown command {command!r}")
        return sample.to_json()

    def setup(self, request: dict[str, Any]) -> dict[str, Any]:
        init_coodie(
            hosts=request["hosts"],
            keyspace=request["keyspace"],
            driver_type="cassandra",
            port=request["port"],
        )
        sizes = Sizes.from_json(request["sizes"])
        pool_ids = [uuid.UUID(text) for text in request["pool_ids"]]
        for offset, kind in enumerate((LegacySync, LegacyAio)):
            contender = kind(sizes, pool_ids, request["seed"] + offset)
            self.contenders[contender.id] = contender
        return {
            "versions": {
                "coodie": version("coodie"),
                "cassandra-driver": version("cassandra-driver"),
                "pydantic": version("pydantic"),
                "python": sys.version.split()[0],
            },
            "contenders": [
                {
                    "id": contender.id,
                    "label": contender.label,
                    "cpu_operations": list(contender.cpu_operations),
                    "runs_throughput": contender.runs_throughput,
                }
                for contender in self.contenders.values()
            ],
        }


def main() -> None:
    """Answer requests from standard input until it closes."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    worker = Worker()
    for line in sys.stdin:
        try:
            answer = worker.handle(json.loads(line))
        except Exception:
            answer = {"error": traceback.format_exc()}
        answers.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    main()
