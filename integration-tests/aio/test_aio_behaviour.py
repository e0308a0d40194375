"""What only the async door promises: a free loop, streaming, cancellation, load.

Each test runs on asyncio and on trio.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio
import anyio.lowlevel
import pytest

from coodie.aio import AsyncBatchQuery, Document, Driver
from coodie.exceptions import OperationTimedOut
from coodie.fields import ClusteringKey, PrimaryKey

pytestmark = [pytest.mark.anyio, pytest.mark.cluster]

ROWS = 2_000


class Reading(Document):
    sensor: Annotated[str, PrimaryKey()]
    seq: Annotated[int, ClusteringKey()]
    value: float = 0.0

    class Settings:
        name = "readings"


class CountingDriver:
    """Counts the requests a driver sends, to see how many pages were fetched."""

    def __init__(self, driver: Driver, monkeypatch: pytest.MonkeyPatch) -> None:
        self.requests = 0
        original = driver.execute

        async def counted(statement: Any) -> Any:
            self.requests += 1
            return await original(statement)

        monkeypatch.setattr(driver, "execute", counted)


class Sample(Document):
    series: Annotated[int, PrimaryKey()]
    seq: Annotated[int, ClusteringKey()]

    class Settings:
        name = "samples"


BIG = 50_000


@pytest.fixture
async def big_table(coodie_driver: Driver) -> Driver:
    await Sample.sync_table()
    if await Sample.find(series=1).count() != BIG:

        async def write_slice(start: int) -> None:
            async with AsyncBatchQuery(kind="UNLOGGED") as batch:
                for seq in range(start, start + 100):
                    await Sample(series=1, seq=seq).save(batch=batch)

        async with anyio.create_task_group() as group:
            for start in range(0, BIG, 100):
                group.start_soon(write_slice, start)
    return coodie_driver


async def test_early_break_over_fifty_thousand_rows_fetches_one_page(
    big_table: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = CountingDriver(big_table, monkeypatch)
    query = Sample.find(series=1).fetch_size(1000)
    async for sample in query:
        if sample.seq == 10:
            break
    assert counter.requests == 1

    counter.requests = 0
    assert await query.count() == BIG


@pytest.fixture
async def filled(coodie_driver: Driver) -> Driver:
    await Reading.sync_table()
    if await Reading.find(sensor="s1").count() != ROWS:
        async with anyio.create_task_group() as group:
            for seq in range(ROWS):
                group.start_soon(Reading(sensor="s1", seq=seq, value=seq / 2).save)
    return coodie_driver


async def test_async_for_streams_one_page_at_a_time(
    filled: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = CountingDriver(filled, monkeypatch)
    seen = 0
    async for reading in Reading.find(sensor="s1").fetch_size(100):
        seen += 1
        if reading.seq == 150:
            break
    assert seen == 151
    assert counter.requests == 2, "breaking out early fetches no further page"

    counter.requests = 0
    everything = [r.seq async for r in Reading.find(sensor="s1").fetch_size(500)]
    assert everything == list(range(ROWS))
    # A page that ends exactly at the last row still carries a paging state, so
    # the server may answer one more, empty, page.
    assert counter.requests <= ROWS // 500 + 1


async def test_page_token_survives_a_round_trip_through_a_string(
    filled: Driver,
) -> None:
    query = Reading.find(sensor="s1")
    first = await query.paged_all(page_size=700)
    assert isinstance(first.paging_token, str)
    assert first.paging_token.isascii()

    collected = [reading.seq for reading in first]
    token: str | None = str(first.paging_token)
    while token is not None:
        page = await Reading.find(sensor="s1").paged_all(token, page_size=700)
        collected.extend(reading.seq for reading in page)
        token = page.paging_token
    assert collected == list(range(ROWS))


async def test_loop_keeps_running_while_queries_are_in_flight(
    filled: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The window opens when the request is handed to the driver and closes when
    # the driver's IO thread receives the answer. A door that blocked the loop
    # while waiting would give no other task a turn inside it; a free loop does,
    # since a round trip to the node takes far longer than one scheduler pass.
    in_flight = False
    send = filled.session.execute_async

    def answered(_: object) -> None:
        nonlocal in_flight
        in_flight = False

    def sending(*args: Any, **kwargs: Any) -> Any:
        nonlocal in_flight
        in_flight = True
        future = send(*args, **kwargs)
        future.add_callbacks(answered, answered)
        return future

    monkeypatch.setattr(filled.session, "execute_async", sending)

    turns_in_flight = 0
    done = anyio.Event()

    async def ticker() -> None:
        nonlocal turns_in_flight
        while not done.is_set():
            turns_in_flight += in_flight
            await anyio.lowlevel.checkpoint()

    during: list[int] = []
    async with anyio.create_task_group() as group:
        group.start_soon(ticker)
        for _ in range(5):
            before = turns_in_flight
            # One request for all 2,000 rows: a single round trip to the node.
            rows = await Reading.find(sensor="s1").fetch_size(ROWS).all()
            during.append(turns_in_flight - before)
            assert len(rows) == ROWS
        done.set()
    # How many turns the ticker gets depends on how the driver's IO thread and
    # the node share the cores; that it gets one in every round trip does not.
    assert all(turns > 0 for turns in during), during


async def test_cancelled_query_returns_at_once_and_driver_stays_usable(
    filled: Driver,
) -> None:
    with anyio.move_on_after(0.001) as scope:
        await Reading.find(sensor="s1").all()
    assert scope.cancelled_caught

    async with anyio.create_task_group() as group:
        for _ in range(50):
            group.start_soon(Reading.find(sensor="s1").limit(10).all)
        group.cancel_scope.cancel()

    await anyio.sleep(0.2)  # let late results arrive and be dropped
    assert await Reading.find(sensor="s1").count() == ROWS


async def test_per_query_timeout_raises_coodie_timeout(filled: Driver) -> None:
    with pytest.raises(OperationTimedOut):
        await Reading.find(sensor="s1").timeout(0.000001).all()
    assert await Reading.find(sensor="s1").limit(1).all()


async def test_ten_thousand_concurrent_saves_all_land(
    coodie_driver: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Burst(Document):
        batch: Annotated[int, PrimaryKey()]
        seq: Annotated[int, ClusteringKey()]

        class Settings:
            name = "burst"

    await Burst.sync_table()
    await Burst.truncate()
    prepared: list[str] = []
    prepare = coodie_driver.session.prepare

    def counted_prepare(cql: str, *args: Any, **kwargs: Any) -> Any:
        prepared.append(cql)
        return prepare(cql, *args, **kwargs)

    monkeypatch.setattr(coodie_driver.session, "prepare", counted_prepare)
    async with anyio.create_task_group() as group:
        for seq in range(10_000):
            group.start_soon(Burst(batch=seq % 16, seq=seq).save)

    # Ten thousand tasks met the INSERT unprepared at once: they shared one request.
    assert len([cql for cql in prepared if cql.startswith("INSERT")]) == 1

    landed = 0
    for batch in range(16):
        landed += await Burst.find(batch=batch).count()
    assert landed == 10_000
