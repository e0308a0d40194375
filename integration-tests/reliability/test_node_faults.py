"""A node that hangs, crashes and comes back, seen through both front doors.

The module runs one node of its own (``127.R.1.1``). Each fault test keeps a
workload of saves and reads going while the node is frozen (SIGSTOP: connections
stay open, nothing answers), then killed (SIGKILL), then started again on its data.
Every call must end within the request timeout with one of coodie's typed errors,
no call may hang, every acknowledged write must survive the crash, and the same
models must work again without a new ``init_coodie()``. The async test runs on
asyncio and trio. The last test pushes 50,000 inserts through the async door.
"""

from __future__ import annotations

import itertools
import resource
import secrets
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Annotated, Any

import anyio
import anyio.to_thread
import pytest
from cassandra.policies import ConstantReconnectionPolicy

from coodie import aio, sync
from coodie.exceptions import ClusterConnectionError, CoodieError, OperationTimedOut
from coodie.fields import ClusteringKey, PrimaryKey

pytestmark = [pytest.mark.cluster, pytest.mark.reliability]

KEYSPACE = "faults"
REQUEST_TIMEOUT_S = 2.0
# How much later than its timeout a failing call may end: the node, the client and
# the node manager share the machine's cores.
LATENESS_S = 2.0
CALL_BOUND_S = REQUEST_TIMEOUT_S + LATENESS_S
WORKERS = 4
HEALTHY_WRITES = 40
FROZEN_FOR_S = 2 * REQUEST_TIMEOUT_S + 1.0
KILLED_FOR_S = 1.0
PAUSE_AFTER_ERROR_S = 0.1
RECONNECT_EVERY_S = 0.5
RECOVERY_BOUND_S = 60.0
HEALTHY_BOUND_S = 60.0
POLL_EVERY_S = 0.1
TYPED_ERRORS = (OperationTimedOut, ClusterConnectionError)

LOAD_ROWS = 50_000
LOAD_IN_FLIGHT = 256
LOAD_REQUEST_TIMEOUT_S = 30.0
LOAD_BOUND_S = 600.0
LOAD_TOKEN_SLICES = 16
# The client keeps at most 256 requests and one page of results at a time, so
# its memory must not grow with the number of rows written.
LOAD_RSS_GROWTH_BOUND_MIB = 200.0
MIN_TOKEN = -(2**63)
MAX_TOKEN = 2**63 - 1


class AioEvent(aio.Document):
    run: Annotated[str, PrimaryKey(0)]
    worker: Annotated[int, PrimaryKey(1)]
    seq: Annotated[int, ClusteringKey()]
    note: str = ""

    class Settings:
        name = "fault_events_aio"


class SyncEvent(sync.Document):
    run: Annotated[str, PrimaryKey(0)]
    worker: Annotated[int, PrimaryKey(1)]
    seq: Annotated[int, ClusteringKey()]
    note: str = ""

    class Settings:
        name = "fault_events_sync"


class LoadRow(aio.Document):
    id: Annotated[int, PrimaryKey()]
    payload: str = ""

    class Settings:
        name = "load_rows"


@dataclass
class Call:
    """One save or get of the workload: when it started, how it ended."""

    worker: int
    operation: str
    phase: str
    seconds: float
    error: BaseException | None = None
    hung: bool = False


@dataclass
class Workload:
    """What the workers did, phase by phase; the controller moves the phase on."""

    run: str = field(default_factory=lambda: secrets.token_hex(4))
    phase: str = "healthy"
    calls: list[Call] = field(default_factory=list)
    attempted: set[tuple[int, int]] = field(default_factory=set)
    acknowledged: set[tuple[int, int]] = field(default_factory=set)

    def savers(self, phase: str) -> set[int]:
        """The workers that saved successfully in ``phase``."""
        return {
            call.worker
            for call in self.calls
            if call.phase == phase and call.operation == "save" and not call.error
        }


def _reconnect_quickly() -> dict[str, Any]:
    """Cluster options that retry a lost node every half second, not 1..600 s."""
    policy = ConstantReconnectionPolicy(RECONNECT_EVERY_S, max_attempts=None)
    return {"reconnection_policy": policy}


def _check_calls(workload: Workload) -> dict[str, Any]:
    """Assert the promises about failing calls; return figures for the report."""
    hung = [call for call in workload.calls if call.hung]
    assert not hung, f"{len(hung)} calls hung past {CALL_BOUND_S} s: {hung[:3]}"

    slow = [call for call in workload.calls if call.seconds > CALL_BOUND_S]
    assert not slow, f"calls ended after more than {CALL_BOUND_S} s: {slow[:3]}"

    errors = [call.error for call in workload.calls if call.error is not None]
    untyped = [error for error in errors if not isinstance(error, TYPED_ERRORS)]
    assert not untyped, f"errors other than timeouts or lost connections: {untyped}"

    frozen_timeouts = [
        call
        for call in workload.calls
        if call.phase == "frozen" and isinstance(call.error, OperationTimedOut)
    ]
    assert frozen_timeouts, "a frozen node made no call time out"
    for call in frozen_timeouts:
        assert call.seconds >= REQUEST_TIMEOUT_S * 0.9, call

    lost = [
        call
        for call in workload.calls
        if call.phase in ("killed", "restarting")
        and isinstance(call.error, ClusterConnectionError)
    ]
    assert lost, "a killed node gave no ClusterConnectionError"

    return {
        "calls": len(workload.calls),
        "timeouts": sum(isinstance(e, OperationTimedOut) for e in errors),
        "connection_errors": sum(isinstance(e, ClusterConnectionError) for e in errors),
        "slowest_failure_s": round(
            max(call.seconds for call in workload.calls if call.error), 2
        ),
        "writes_acknowledged": len(workload.acknowledged),
    }


def _check_read_back(workload: Workload, stored: set[tuple[int, int]]) -> None:
    missing = workload.acknowledged - stored
    assert not missing, (
        f"{len(missing)} acknowledged writes lost: {sorted(missing)[:5]}"
    )
    invented = stored - workload.attempted
    assert not invented, f"rows nobody wrote: {sorted(invented)[:5]}"


# -- the node ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fault_node(local_cluster: Any) -> Iterator[Any]:
    """One node of this module's own, up for the whole module."""
    cluster = local_cluster("faults", 1, options=("--crash-safe",))
    cluster.up()
    yield cluster
    cluster.down()


@pytest.fixture
def node_restored(fault_node: Any) -> Any:
    """The node, started or resumed again if an earlier test left it down."""
    fault_node.restore()
    return fault_node


# -- async door ----------------------------------------------------------------------


@pytest.fixture
async def aio_driver(node_restored: Any) -> AsyncIterator[aio.Driver]:
    driver = await aio.init_coodie(
        node_restored.hosts,
        keyspace=KEYSPACE,
        request_timeout=REQUEST_TIMEOUT_S,
        cluster_options=_reconnect_quickly(),
    )
    await aio.create_keyspace(KEYSPACE)
    await AioEvent.sync_table()
    yield driver
    await aio.close_coodie()


async def _aio_worker(workload: Workload, worker: int, stop: anyio.Event) -> None:
    seq = 0
    while not stop.is_set():
        event = AioEvent(run=workload.run, worker=worker, seq=seq, note="x")
        for operation in ("save", "get"):
            phase = workload.phase
            started = time.monotonic()
            error: BaseException | None = None
            with anyio.move_on_after(CALL_BOUND_S) as scope:
                try:
                    if operation == "save":
                        workload.attempted.add((worker, seq))
                        await event.save()
                        workload.acknowledged.add((worker, seq))
                    else:
                        await AioEvent.get(run=workload.run, worker=worker, seq=seq)
                except CoodieError as caught:
                    error = caught
            call = Call(worker, operation, phase, time.monotonic() - started, error)
            call.hung = scope.cancelled_caught
            workload.calls.append(call)
            if error is not None or call.hung:
                await anyio.sleep(PAUSE_AFTER_ERROR_S)
                break
        seq += 1


async def _aio_wait_until(condition: Any, bound_s: float) -> bool:
    """Poll ``condition`` for ``bound_s`` seconds at most; tell whether it held."""
    for _ in range(round(bound_s / POLL_EVERY_S)):
        if condition():
            return True
        await anyio.sleep(POLL_EVERY_S)
    return bool(condition())


@pytest.mark.anyio
async def test_async_calls_fail_typed_and_in_time_then_recover(
    aio_driver: aio.Driver,
    node_restored: Any,
    reliability_report: Any,
    anyio_backend: str,
) -> None:
    workload = Workload()
    stop = anyio.Event()
    stop_node = node_restored.stop_node

    async with anyio.create_task_group() as workers:
        for worker in range(WORKERS):
            workers.start_soon(_aio_worker, workload, worker, stop)
        try:
            healthy = await _aio_wait_until(
                lambda: len(workload.acknowledged) >= HEALTHY_WRITES, HEALTHY_BOUND_S
            )
            if healthy:
                workload.phase = "frozen"
                await anyio.to_thread.run_sync(stop_node, 1, "STOP")
                await anyio.sleep(FROZEN_FOR_S)

                workload.phase = "killed"
                await anyio.to_thread.run_sync(stop_node, 1, "KILL")
                await anyio.sleep(KILLED_FOR_S)

                workload.phase = "restarting"
                await anyio.to_thread.run_sync(node_restored.start_node, 1)
                workload.phase = "recovered"
                answered = time.monotonic()
                recovered = await _aio_wait_until(
                    lambda: len(workload.savers("recovered")) == WORKERS,
                    RECOVERY_BOUND_S,
                )
                recovery_s = time.monotonic() - answered
        finally:
            stop.set()

    assert healthy, f"no {HEALTHY_WRITES} writes within {HEALTHY_BOUND_S} s"
    assert recovered, f"not every worker saved again within {RECOVERY_BOUND_S} s"
    figures = _check_calls(workload)
    assert aio.get_driver() is aio_driver, "the driver was replaced"
    stored: set[tuple[int, int]] = set()
    for worker in range(WORKERS):
        rows = await AioEvent.find(run=workload.run, worker=worker).all()
        stored.update((worker, row.seq) for row in rows)
    _check_read_back(workload, stored)
    reliability_report(
        f"node frozen, killed, restarted (coodie.aio, {anyio_backend})",
        **figures,
        rows_read_back=len(stored),
        recovered_after_s=round(recovery_s, 1),
    )


@pytest.mark.anyio
async def test_async_first_query_of_a_shape_fails_in_time_on_a_hung_node(
    aio_driver: aio.Driver, node_restored: Any
) -> None:
    await AioEvent(run="prepare", worker=0, seq=0).save()
    await anyio.to_thread.run_sync(node_restored.stop_node, 1, "STOP")
    try:
        started = time.monotonic()
        # An aggregate no earlier call prepared: its PREPARE meets the hung node.
        with pytest.raises(OperationTimedOut, match="Preparing"):
            await AioEvent.find(run="prepare", worker=0).max("seq")
        took_s = time.monotonic() - started
    finally:
        await anyio.to_thread.run_sync(node_restored.start_node, 1)

    assert took_s <= CALL_BOUND_S + LATENESS_S, f"the call took {took_s:.1f} s"


# -- sync door -----------------------------------------------------------------------


@pytest.fixture
def sync_driver(node_restored: Any) -> Iterator[sync.Driver]:
    driver = sync.init_coodie(
        node_restored.hosts,
        keyspace=KEYSPACE,
        request_timeout=REQUEST_TIMEOUT_S,
        cluster_options=_reconnect_quickly(),
    )
    sync.create_keyspace(KEYSPACE)
    SyncEvent.sync_table()
    yield driver
    sync.close_coodie()


def _sync_worker(workload: Workload, worker: int, stop: threading.Event) -> None:
    seq = 0
    while not stop.is_set():
        event = SyncEvent(run=workload.run, worker=worker, seq=seq, note="x")
        for operation in ("save", "get"):
            phase = workload.phase
            started = time.monotonic()
            error: BaseException | None = None
            try:
                if operation == "save":
                    workload.attempted.add((worker, seq))
                    event.save()
                    workload.acknowledged.add((worker, seq))
                else:
                    SyncEvent.get(run=workload.run, worker=worker, seq=seq)
            except CoodieError as caught:
                error = caught
            call = Call(worker, operation, phase, time.monotonic() - started, error)
            call.hung = call.seconds > CALL_BOUND_S
            workload.calls.append(call)
            if error is not None:
                stop.wait(PAUSE_AFTER_ERROR_S)
                break
        seq += 1


def _wait_until(condition: Any, bound_s: float, what: str) -> None:
    for _ in range(round(bound_s / POLL_EVERY_S)):
        if condition():
            return
        time.sleep(POLL_EVERY_S)
    pytest.fail(f"{what} did not happen within {bound_s:.0f} s")


def test_sync_calls_fail_typed_and_in_time_then_recover(
    sync_driver: sync.Driver, node_restored: Any, reliability_report: Any
) -> None:
    workload = Workload()
    stop = threading.Event()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        running = [
            pool.submit(_sync_worker, workload, worker, stop)
            for worker in range(WORKERS)
        ]
        try:
            _wait_until(
                lambda: len(workload.acknowledged) >= HEALTHY_WRITES,
                HEALTHY_BOUND_S,
                "healthy writes",
            )
            workload.phase = "frozen"
            node_restored.stop_node(1, "STOP")
            time.sleep(FROZEN_FOR_S)

            workload.phase = "killed"
            node_restored.stop_node(1, "KILL")
            time.sleep(KILLED_FOR_S)

            workload.phase = "restarting"
            node_restored.start_node(1)
            workload.phase = "recovered"
            answered = time.monotonic()
            _wait_until(
                lambda: len(workload.savers("recovered")) == WORKERS,
                RECOVERY_BOUND_S,
                "every worker saving again",
            )
            recovery_s = time.monotonic() - answered
        finally:
            stop.set()
        for future in running:
            # A worker blocked in a call past this bound is a hang.
            future.result(timeout=CALL_BOUND_S + PAUSE_AFTER_ERROR_S)

    figures = _check_calls(workload)
    assert sync.get_driver() is sync_driver, "the driver was replaced"
    stored = {
        (worker, row.seq)
        for worker in range(WORKERS)
        for row in SyncEvent.find(run=workload.run, worker=worker).all()
    }
    _check_read_back(workload, stored)
    reliability_report(
        "node frozen, killed, restarted (coodie.sync)",
        **figures,
        rows_read_back=len(stored),
        recovered_after_s=round(recovery_s, 1),
    )


def test_sync_first_query_of_a_shape_fails_in_time_on_a_hung_node(
    sync_driver: sync.Driver, node_restored: Any
) -> None:
    SyncEvent(run="prepare", worker=0, seq=0).save()
    node_restored.stop_node(1, "STOP")
    try:
        started = time.monotonic()
        # An aggregate no earlier call prepared: its PREPARE meets the hung node.
        with pytest.raises(OperationTimedOut, match="Preparing"):
            SyncEvent.find(run="prepare", worker=0).max("seq")
        took_s = time.monotonic() - started
    finally:
        node_restored.start_node(1)

    assert took_s <= CALL_BOUND_S, f"the call took {took_s:.1f} s"


# -- load ----------------------------------------------------------------------------


def _peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _ids_by_token_ranges(slices: int) -> tuple[set[int], list[int]]:
    """Walk the whole table slice by slice of the token ring: ids and counts."""
    step = (MAX_TOKEN - MIN_TOKEN) // slices
    bounds = [MIN_TOKEN + k * step for k in range(slices)] + [MAX_TOKEN]
    ids: set[int] = set()
    counts = []
    for start, end in itertools.pairwise(bounds):
        in_slice = LoadRow.find().token_range(start, end)
        counts.append(await in_slice.count())
        ids.update(await in_slice.values_list("id", flat=True))
    return ids, counts


@pytest.mark.anyio
async def test_50000_inserts_at_256_in_flight_all_land(
    fault_node: Any, reliability_report: Any, anyio_backend: str
) -> None:
    rss_before = _peak_rss_mib()
    await aio.init_coodie(
        fault_node.hosts,
        keyspace=KEYSPACE,
        max_in_flight=LOAD_IN_FLIGHT,
        request_timeout=LOAD_REQUEST_TIMEOUT_S,
    )
    try:
        await aio.create_keyspace(KEYSPACE)
        await LoadRow.sync_table()
        await LoadRow.truncate()
        ids = iter(range(LOAD_ROWS))
        in_flight = 0
        most_in_flight = 0

        async def insert_from_shared_ids() -> None:
            nonlocal in_flight, most_in_flight
            for row_id in ids:
                in_flight += 1
                most_in_flight = max(most_in_flight, in_flight)
                await LoadRow(id=row_id, payload=f"row {row_id:06d}").save()
                in_flight -= 1

        started = time.monotonic()
        cpu_started = time.process_time()
        with anyio.fail_after(LOAD_BOUND_S):
            async with anyio.create_task_group() as inserters:
                for _ in range(LOAD_IN_FLIGHT):
                    inserters.start_soon(insert_from_shared_ids)
        wall_s = time.monotonic() - started
        cpu_s = time.process_time() - cpu_started
        peak_rss = _peak_rss_mib()

        stored_ids, counts = await _ids_by_token_ranges(LOAD_TOKEN_SLICES)
    finally:
        await aio.close_coodie()

    assert most_in_flight == LOAD_IN_FLIGHT
    assert sum(counts) == LOAD_ROWS
    assert stored_ids == set(range(LOAD_ROWS))
    assert peak_rss - rss_before < LOAD_RSS_GROWTH_BOUND_MIB
    reliability_report(
        f"50,000 inserts, 256 in flight (coodie.aio, {anyio_backend})",
        written=LOAD_ROWS,
        read_back_by_token_range=sum(counts),
        wall_s=round(wall_s, 1),
        inserts_per_s=round(LOAD_ROWS / wall_s),
        client_cpu_us_per_insert=round(cpu_s / LOAD_ROWS * 1e6),
        peak_rss_mib=round(peak_rss),
        rss_growth_mib=round(peak_rss - rss_before),
    )
