"""Three nodes, replication factor 3: lost nodes, retries and speculative execution.

The module runs three nodes of its own (``127.R.2.1-3``). It shows which writes
coodie marks idempotent, that a driver which repeats requests (speculative
execution, retries) never applies a non-idempotent write twice because of those
flags, and that QUORUM writes lose nothing while a node is killed. The tests run
on asyncio and trio.
"""

from __future__ import annotations

import threading
from collections import Counter as Tally
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Annotated, Any

import anyio
import anyio.to_thread
import pytest
from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.connection import ConnectionException
from cassandra.policies import (
    ConstantReconnectionPolicy,
    RetryPolicy,
    SpeculativeExecutionPlan,
    SpeculativeExecutionPolicy,
)
from cassandra.query import SimpleStatement

from coodie import aio
from coodie._cassandra import PROFILE
from coodie.exceptions import CoodieError
from coodie.fields import Counter, PrimaryKey

pytestmark = [pytest.mark.anyio, pytest.mark.cluster, pytest.mark.reliability]

KEYSPACE = "three_nodes"
REPLICATION_FACTOR = 3
REQUEST_TIMEOUT_S = 10.0
RECONNECT_EVERY_S = 0.5

QUORUM_WRITES = 5_000
QUORUM_IN_FLIGHT = 64
KILL_AFTER_WRITES = 1_500
KILLED_NODE = 3
WRITE_ATTEMPTS = 5
COUNTER_WORKERS = 8
RUN_BOUND_S = 300.0

SPECULATED_WRITES = 200
LWT_CONTENDERS = 20


class Reading(aio.Document):
    run: Annotated[str, PrimaryKey(0)]
    id: Annotated[int, PrimaryKey(1)]
    value: float = 0.0

    class Settings:
        name = "quorum_readings"


class Hits(aio.CounterDocument):
    name: Annotated[str, PrimaryKey()]
    hits: Annotated[int, Counter()] = 0

    class Settings:
        name = "hits"


class Basket(aio.Document):
    id: Annotated[str, PrimaryKey()]
    items: list[str] = []
    labels: set[str] = set()
    sizes: dict[str, int] = {}
    owner: str = ""

    class Settings:
        name = "baskets"


# -- policies that watch what the driver repeats -------------------------------------


def _query_text(statement: Any) -> str:
    prepared = getattr(statement, "prepared_statement", None)
    return str(prepared.query_string if prepared is not None else statement)


class _CountingPlan(SpeculativeExecutionPlan):  # type: ignore[misc]
    """Speculate once, at once; the second question means a copy was sent."""

    def __init__(self, policy: CountingSpeculation, text: str) -> None:
        self.policy = policy
        self.text = text
        self.asked = 0

    def next_execution(self, host: Any) -> float:
        self.asked += 1
        if self.asked == 1:
            return 0.0
        self.policy.count(self.policy.copies_sent, self.text)
        return -1


class CountingSpeculation(SpeculativeExecutionPolicy):  # type: ignore[misc]
    """Send a second copy of every request at once, and count per statement text.

    The driver asks for a plan only for statements flagged idempotent.
    """

    def __init__(self) -> None:
        self.plans: Tally[str] = Tally()
        self.copies_sent: Tally[str] = Tally()
        self._lock = threading.Lock()

    def count(self, tally: Tally[str], text: str) -> None:
        with self._lock:
            tally[text] += 1

    def new_plan(self, keyspace: Any, statement: Any) -> _CountingPlan:
        text = _query_text(statement)
        self.count(self.plans, text)
        return _CountingPlan(self, text)


class IdempotentOnlyRetry(RetryPolicy):  # type: ignore[misc]
    """Retry a request on the next node only when repeating it is harmless.

    It records each decision as (statement text, idempotent flag, decision).
    """

    def __init__(self) -> None:
        self.decisions: list[tuple[str, bool, int]] = []

    def on_request_error(
        self, query: Any, consistency: Any, error: Any, retry_num: int
    ) -> Any:
        idempotent = bool(query.is_idempotent)
        decision = (
            self.RETRY_NEXT_HOST if idempotent and retry_num < 3 else self.RETHROW
        )
        self.decisions.append((_query_text(query), idempotent, decision))
        return decision, None


def _coodie_profile(driver: aio.Driver) -> ExecutionProfile:
    """coodie's own execution profile; no public option reaches its policies."""
    return driver.cluster.profile_manager.profiles[PROFILE]


# -- the cluster ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def three_nodes(local_cluster: Any) -> Iterator[Any]:
    cluster = local_cluster("three", 2, nodes=3, options=("--crash-safe",))
    cluster.up()
    yield cluster
    cluster.down()


@pytest.fixture
async def quorum_driver(three_nodes: Any) -> AsyncIterator[aio.Driver]:
    """coodie.aio at QUORUM on the three nodes, all three up when the test starts."""
    await anyio.to_thread.run_sync(three_nodes.restore)
    driver = await aio.init_coodie(
        three_nodes.hosts,
        keyspace=KEYSPACE,
        consistency="QUORUM",
        request_timeout=REQUEST_TIMEOUT_S,
        cluster_options={
            "reconnection_policy": ConstantReconnectionPolicy(
                RECONNECT_EVERY_S, max_attempts=None
            )
        },
    )
    await aio.create_keyspace(KEYSPACE, REPLICATION_FACTOR)
    for model in (Reading, Hits, Basket):
        await model.sync_table()
    yield driver
    await aio.close_coodie()


# -- which writes are idempotent -----------------------------------------------------


class FlagRecorder:
    """Records the idempotent flag of every request the driver is given."""

    def __init__(self, driver: aio.Driver, monkeypatch: pytest.MonkeyPatch) -> None:
        self.flags: list[tuple[str, bool]] = []
        send = driver._send

        async def recording(request: Any, statement: Any) -> Any:
            self.flags.append((statement.cql, bool(request.is_idempotent)))
            return await send(request, statement)

        monkeypatch.setattr(driver, "_send", recording)

    def writes(self) -> list[bool]:
        return [flag for cql, flag in self.flags if not cql.startswith("SELECT")]


WriteAction = Callable[[str], Awaitable[Any]]


async def _plain_insert(key: str) -> None:
    await Basket(id=key, owner="ada").save()


async def _insert_if_not_exists(key: str) -> None:
    await Basket(id=key, owner="ada").insert()


async def _counter_increment(key: str) -> None:
    await Hits(name=key).increment(hits=1)


async def _counter_decrement(key: str) -> None:
    await Hits(name=key).decrement(hits=1)


async def _list_append(key: str) -> None:
    await Basket(id=key).update(items__append=["pear"])


async def _list_prepend(key: str) -> None:
    await Basket(id=key).update(items__prepend=["fig"])


async def _set_add(key: str) -> None:
    await Basket(id=key).update(labels__add={"fresh"})


async def _map_put(key: str) -> None:
    await Basket(id=key).update(sizes__put={"pear": 3})


async def _scalar_update(key: str) -> None:
    await Basket(id=key).update(owner="grace")


async def _update_if_exists(key: str) -> None:
    await Basket(id=key).update(owner="grace", if_exists=True)


async def _update_if_condition(key: str) -> None:
    await Basket(id=key).update(owner="grace", if_conditions={"owner": "ada"})


async def _delete(key: str) -> None:
    await Basket(id=key).delete()


async def _delete_if_exists(key: str) -> None:
    await Basket(id=key).delete(if_exists=True)


async def _insert_with_list(key: str) -> None:
    await Basket(id=key, items=["pear", "fig"]).save()


async def _replace_list(key: str) -> None:
    await Basket(id=key).update(items=["pear", "fig"])


@pytest.mark.parametrize(
    ("action", "idempotent"),
    [
        pytest.param(_plain_insert, True, id="save"),
        pytest.param(_insert_if_not_exists, False, id="insert-if-not-exists"),
        pytest.param(_counter_increment, False, id="counter-increment"),
        pytest.param(_counter_decrement, False, id="counter-decrement"),
        pytest.param(_list_append, False, id="list-append"),
        pytest.param(_list_prepend, False, id="list-prepend"),
        pytest.param(_set_add, True, id="set-add"),
        pytest.param(_map_put, True, id="map-put"),
        pytest.param(_scalar_update, True, id="update-scalar"),
        pytest.param(_update_if_exists, False, id="update-if-exists"),
        pytest.param(_update_if_condition, False, id="update-if-condition"),
        pytest.param(_delete, True, id="delete"),
        pytest.param(_delete_if_exists, False, id="delete-if-exists"),
        pytest.param(_insert_with_list, False, id="save-with-list"),
        pytest.param(_replace_list, False, id="update-replace-list"),
    ],
)
async def test_only_writes_safe_to_repeat_are_flagged_idempotent(
    quorum_driver: aio.Driver,
    monkeypatch: pytest.MonkeyPatch,
    action: WriteAction,
    idempotent: bool,
) -> None:
    recorder = FlagRecorder(quorum_driver, monkeypatch)

    await action(f"flag-{action.__name__}")

    assert recorder.writes() == [idempotent]


# -- repeated requests ---------------------------------------------------------------


async def _run_concurrently(
    count: int, action: Callable[[int], Awaitable[Any]], limit: int = 16
) -> None:
    """Run ``action(0..count-1)`` with at most ``limit`` of them at a time."""
    slots = anyio.Semaphore(limit)

    async def limited(number: int) -> None:
        async with slots:
            await action(number)

    async with anyio.create_task_group() as group:
        for number in range(count):
            group.start_soon(limited, number)


async def test_speculative_copies_never_repeat_a_non_idempotent_write(
    quorum_driver: aio.Driver, reliability_report: Any, anyio_backend: str
) -> None:
    speculation = CountingSpeculation()
    _coodie_profile(quorum_driver).speculative_execution_policy = speculation
    key = f"spec-{anyio_backend}"
    await Basket(id=key, owner="ada").save()

    async def increment(_: int) -> None:
        await Hits(name=key).increment(hits=1)

    async def append(number: int) -> None:
        await Basket(id=key).update(items__append=[f"item {number}"])

    async def save(number: int) -> None:
        await Reading(run=key, id=number, value=number).save()

    async def claim(number: int) -> Any:
        return await Basket(id=f"{key}-lwt", owner=f"contender {number}").insert()

    await _run_concurrently(SPECULATED_WRITES, increment)
    await _run_concurrently(SPECULATED_WRITES, append)
    await _run_concurrently(SPECULATED_WRITES, save)
    claims = [await claim(number) for number in range(LWT_CONTENDERS)]

    hits = await Hits.get(name=key)
    basket = await Basket.get(id=key)
    assert hits.hits == SPECULATED_WRITES
    assert len(basket.items) == SPECULATED_WRITES
    assert len(set(basket.items)) == SPECULATED_WRITES
    assert sum(result.applied for result in claims) == 1
    winner = await Basket.get(id=f"{key}-lwt")
    assert winner.owner == "contender 0"

    copied = {text for text, count in speculation.copies_sent.items() if count}
    planned = set(speculation.plans)
    assert any(text.startswith("INSERT") for text in copied), "nothing was copied"
    assert not {text for text in planned if " + ?" in text or " IF " in text}
    reliability_report(
        f"speculative execution, delay 0 (coodie.aio, {anyio_backend})",
        counter_increments=SPECULATED_WRITES,
        counter_read_back=hits.hits,
        list_appends=SPECULATED_WRITES,
        list_read_back=len(basket.items),
        lwt_applied=sum(result.applied for result in claims),
        insert_copies_sent=sum(
            count for text, count in speculation.copies_sent.items() if "INSERT" in text
        ),
    )


async def test_a_write_flagged_idempotent_by_mistake_is_applied_twice(
    quorum_driver: aio.Driver, anyio_backend: str
) -> None:
    """The control: the same check catches a counter the driver copies."""
    speculation = CountingSpeculation()
    _coodie_profile(quorum_driver).speculative_execution_policy = speculation
    name = f"control-{anyio_backend}"
    increment = SimpleStatement(
        f"UPDATE {KEYSPACE}.hits SET hits = hits + 1 WHERE name = %s",
        is_idempotent=True,
    )

    def increment_many() -> None:
        for _ in range(SPECULATED_WRITES // 4):
            quorum_driver.session.execute(increment, [name], execution_profile=PROFILE)

    await anyio.to_thread.run_sync(increment_many)

    hits = await Hits.get(name=name)
    assert hits.hits > SPECULATED_WRITES // 4


async def test_speculative_copies_of_a_list_save_keep_the_list(
    quorum_driver: aio.Driver, anyio_backend: str
) -> None:
    _coodie_profile(quorum_driver).speculative_execution_policy = CountingSpeculation()
    keys = [f"list-{anyio_backend}-{number}" for number in range(50)]

    for key in keys:
        await Basket(id=key, items=["pear", "fig"]).save()

    stored = [(await Basket.get(id=key)).items for key in keys]
    assert stored == [["pear", "fig"]] * len(keys)


async def test_coodie_profile_does_not_retry_non_idempotent_writes(
    quorum_driver: aio.Driver,
) -> None:
    prepared = await quorum_driver.prepare(
        f'UPDATE "{KEYSPACE}"."hits" SET "hits" = "hits" + ? WHERE "name" = ?'
    )
    increment = prepared.bind([1, "retry"])
    increment.is_idempotent = False

    decision, _ = _coodie_profile(quorum_driver).retry_policy.on_request_error(
        increment, ConsistencyLevel.QUORUM, ConnectionException("lost"), 0
    )

    assert decision == RetryPolicy.RETHROW


async def test_session_speculative_policy_applies_to_coodie_requests(
    three_nodes: Any,
) -> None:
    speculation = CountingSpeculation()
    profile = ExecutionProfile(speculative_execution_policy=speculation)
    cluster = Cluster(
        three_nodes.hosts, execution_profiles={EXEC_PROFILE_DEFAULT: profile}
    )
    session = await anyio.to_thread.run_sync(cluster.connect)
    try:
        await aio.init_coodie(session=session, keyspace=KEYSPACE)
        await Basket(id="session-policy", owner="ada").save()
    finally:
        await aio.close_coodie()
        await anyio.to_thread.run_sync(cluster.shutdown)

    assert sum(speculation.plans.values()) > 0


# -- a node lost during QUORUM writes ------------------------------------------------


async def test_quorum_writes_lose_nothing_when_a_node_is_killed(
    quorum_driver: aio.Driver,
    three_nodes: Any,
    reliability_report: Any,
    anyio_backend: str,
) -> None:
    retry = IdempotentOnlyRetry()
    _coodie_profile(quorum_driver).retry_policy = retry
    run = f"quorum-{anyio_backend}"
    ids = iter(range(QUORUM_WRITES))
    acknowledged = 0
    write_errors: list[CoodieError] = []
    increments = {"acknowledged": 0, "failed": 0}
    killed = anyio.Event()
    writes_done = anyio.Event()

    async def write_from_shared_ids() -> None:
        nonlocal acknowledged
        for row_id in ids:
            # A save is idempotent: when its outcome is unknown, send it again.
            for attempt in range(WRITE_ATTEMPTS):
                try:
                    await Reading(run=run, id=row_id, value=row_id / 2).save()
                except CoodieError as error:
                    write_errors.append(error)
                    if attempt == WRITE_ATTEMPTS - 1:
                        raise
                else:
                    acknowledged += 1
                    break
            if acknowledged == KILL_AFTER_WRITES:
                killed.set()

    async def increment_until_done() -> None:
        while not writes_done.is_set():
            try:
                await Hits(name=run).increment(hits=1)
            except CoodieError:
                increments["failed"] += 1
            else:
                increments["acknowledged"] += 1

    async def kill_a_node() -> None:
        await killed.wait()
        await anyio.to_thread.run_sync(three_nodes.stop_node, KILLED_NODE, "KILL")

    with anyio.fail_after(RUN_BOUND_S):
        async with anyio.create_task_group() as group:
            group.start_soon(kill_a_node)
            for _ in range(COUNTER_WORKERS):
                group.start_soon(increment_until_done)
            async with anyio.create_task_group() as writers:
                for _ in range(QUORUM_IN_FLIGHT):
                    writers.start_soon(write_from_shared_ids)
            writes_done.set()

    read_back: list[Reading] = []

    async def read(row_id: int) -> None:
        read_back.append(await Reading.get(run=run, id=row_id))

    await _run_concurrently(QUORUM_WRITES, read, limit=QUORUM_IN_FLIGHT)
    hits = await Hits.get(name=run)

    assert acknowledged == QUORUM_WRITES
    assert sorted(row.id for row in read_back) == list(range(QUORUM_WRITES))
    assert all(row.value == row.id / 2 for row in read_back)
    resent = [
        (text, idempotent)
        for text, idempotent, decision in retry.decisions
        if decision == RetryPolicy.RETRY_NEXT_HOST
    ]
    assert all(idempotent for _, idempotent in resent)
    rethrown = len(retry.decisions) - len(resent)
    counted = increments["acknowledged"]
    assert counted <= hits.hits <= counted + increments["failed"]
    reliability_report(
        f"5,000 QUORUM writes, node {KILLED_NODE} killed (coodie.aio, {anyio_backend})",
        written=QUORUM_WRITES,
        read_back_at_quorum=len(read_back),
        saves_sent_again_by_test=len(write_errors),
        resent_by_retry_policy=len(resent),
        rethrown_by_retry_policy=rethrown,
        counter_increments_acknowledged=counted,
        counter_increments_failed=increments["failed"],
        counter_read_back=hits.hits,
    )
