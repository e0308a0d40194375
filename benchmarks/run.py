"""Benchmark coodie against the raw driver, cqlengine and coodie 1.9.3, side by side.

    uv run --group bench python benchmarks/run.py [--quick]

Every contender runs the same operations on the same rows of one Cassandra node
(``COODIE_HOSTS``, or 127.0.0.1: started with ``integration-tests/cluster up`` when
no node answers, and stopped again afterwards). After a warm-up, rounds of all
contenders are interleaved so that drift hits each alike; each figure is the
median over the rounds, with its interquartile range, in wall time and in client
CPU (``time.process_time()``), and as a multiple of the raw driver's. Misses of a
target are profiled. Writes ``results.json``, ``results.md`` and ``chart.png`` to
``benchmarks/results/`` (or ``--output``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import io
import json
import os
import platform
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Protocol

from canned import CannedSession, canned_coodie
from cassandra.cluster import Session
from cassandra.concurrent import execute_concurrent_with_args
from contenders import (
    CoodieAio,
    CoodieSync,
    Cqlengine,
    RawAsyncio,
    RawConcurrent,
    RawDataclasses,
    RawDriver,
    RawStatements,
    Target,
    connect_raw,
)
from hotspots import summarize_profile
from legacy import (
    LegacyWorker,
    RemoteContender,
    install_legacy,
    legacy_installed,
    legacy_venv,
)
from report import (
    COODIE_CONTENDERS,
    add_ratios,
    canned_operation,
    chart,
    evaluate_targets,
    floor_of,
    markdown,
    summarize,
    throughput_operation,
)
from workload import (
    CPU_OPERATIONS,
    CREATE_TABLES,
    ITERATE_SENSOR,
    PARTITION_SENSOR,
    PRESETS,
    READING_COLUMNS,
    SERVER_OPERATIONS,
    USER_COLUMNS,
    Sample,
    Sizes,
    reading_fields,
    user_pool_fields,
)

BENCHMARKS = Path(__file__).resolve().parent
REPOSITORY = BENCHMARKS.parent
CLUSTER_SCRIPT = REPOSITORY / "integration-tests" / "cluster"
DEFAULT_PORT = 9042
LOAD_CONCURRENCY = 64
MAX_PROFILES = 20


class Runnable(Protocol):
    """What the runner calls on a contender, in this process or in the worker."""

    id: str
    label: str
    cpu_operations: tuple[str, ...]
    runs_operations: bool
    runs_throughput: bool

    def sample(
        self, operation: str, round_index: int, count: int | None = None
    ) -> Sample: ...

    def throughput(self, concurrency: int) -> Sample: ...

    def cpu_sample(self, operation: str) -> Sample: ...

    def close(self) -> None: ...


def say(message: str) -> None:
    """Progress, on standard error."""
    print(message, file=sys.stderr, flush=True)


# -- the node ---------------------------------------------------------------------


def parse_hosts(setting: str) -> tuple[list[str], int]:
    """``"a,b:9043"`` as hosts and the one CQL port they share."""
    hosts, ports = [], set()
    for entry in filter(None, (part.strip() for part in setting.split(","))):
        host, _, port = (
            entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        )
        hosts.append(host or entry)
        ports.add(int(port) if port else DEFAULT_PORT)
    if not hosts or len(ports) != 1:
        raise SystemExit(f"COODIE_HOSTS={setting!r}: give hosts that share one port")
    return hosts, ports.pop()


def answers(hosts: list[str], port: int) -> bool:
    """Whether any host accepts a connection on the CQL port."""
    for host in hosts:
        try:
            with socket.create_connection((host, port), timeout=2.0):
                return True
        except OSError:
            continue
    return False


@contextmanager
def running_node() -> Iterator[tuple[list[str], int]]:
    """The node to use; one started here is stopped again on the way out."""
    configured = os.environ.get("COODIE_HOSTS")
    hosts, port = parse_hosts(configured or "127.0.0.1")
    if answers(hosts, port):
        yield hosts, port
        return
    if configured:
        raise SystemExit(f"no Cassandra node answers at COODIE_HOSTS={configured}")

    say(
        "no node answers at 127.0.0.1:9042; starting one (integration-tests/cluster up)"
    )
    started = subprocess.run(
        [sys.executable, str(CLUSTER_SCRIPT), "up"],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield parse_hosts(started.stdout.strip().splitlines()[-1])
    finally:
        say("stopping the node this run started")
        subprocess.run([sys.executable, str(CLUSTER_SCRIPT), "down"], check=False)


# -- the data ---------------------------------------------------------------------


@contextmanager
def benchmark_keyspace(session: Session) -> Iterator[str]:
    """A keyspace of its own with the tables, dropped on the way out."""
    keyspace = f"bench_{secrets.token_hex(4)}"
    session.execute(
        f"CREATE KEYSPACE {keyspace} WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}",
        timeout=60,
    )
    try:
        for cql in CREATE_TABLES:
            session.execute(cql.format(keyspace=keyspace), timeout=60)
        yield keyspace
    finally:
        session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=120)


def load_rows(
    session: Session, statements: RawStatements, sizes: Sizes
) -> list[uuid.UUID]:
    """Write the rows every contender reads; returns the ids of the user pool."""
    pool_ids = [uuid.uuid4() for _ in range(sizes.user_pool)]
    users = [
        tuple(fields[name] for name in USER_COLUMNS)
        for fields in user_pool_fields(pool_ids)
    ]
    readings = [
        tuple(fields[name] for name in READING_COLUMNS)
        for sensor, count in (
            (PARTITION_SENSOR, sizes.partition_rows),
            (ITERATE_SENSOR, sizes.iterate_rows),
        )
        for fields in reading_fields(sensor, count)
    ]
    for statement, rows in (
        (statements.insert_user, users),
        (statements.insert_reading, readings),
    ):
        execute_concurrent_with_args(
            session,
            statement,
            rows,
            concurrency=LOAD_CONCURRENCY,
            raise_on_first_error=True,
        )
    return pool_ids


# -- rounds -----------------------------------------------------------------------


def rotated(contenders: Sequence[Runnable], shift: int) -> list[Runnable]:
    """The contenders starting at a different one each time."""
    shift %= len(contenders)
    return [*contenders[shift:], *contenders[:shift]]


Samples = dict[str, dict[str, list[Sample]]]


def run_rounds(contenders: Sequence[Runnable], sizes: Sizes) -> Samples:
    """Warm up, then time interleaved rounds of every operation and contender."""
    samples: Samples = {}
    started = time.perf_counter()
    operating = [c for c in contenders if c.runs_operations]
    for warmup in range(sizes.warmup_rounds):
        for operation in SERVER_OPERATIONS:
            for contender in operating:
                contender.sample(operation, -1 - warmup)
        for contender in contenders:
            if contender.runs_throughput:
                contender.throughput(max(sizes.concurrency_levels))
    # Objects alive now (schema caches, driver metadata) are never collected:
    # leaving them out of the collections keeps each sample's gc.collect() short.
    gc.collect()
    gc.freeze()
    for contender in contenders:
        if isinstance(contender, RemoteContender):
            contender.freeze()
    say(f"  warm-up done in {time.perf_counter() - started:.0f} s")

    for round_index in range(sizes.rounds):
        for position, operation in enumerate(SERVER_OPERATIONS):
            for contender in rotated(operating, round_index + position):
                sample = contender.sample(operation, round_index)
                samples.setdefault(operation, {}).setdefault(contender.id, []).append(
                    sample
                )
        say(
            f"  round {round_index + 1}/{sizes.rounds} "
            f"({time.perf_counter() - started:.0f} s)"
        )

    asynchronous = [c for c in contenders if c.runs_throughput]
    for round_index in range(sizes.throughput_rounds):
        for concurrency in sizes.concurrency_levels:
            operation = throughput_operation(concurrency)
            for contender in rotated(asynchronous, round_index + concurrency):
                sample = contender.throughput(concurrency)
                samples.setdefault(operation, {}).setdefault(contender.id, []).append(
                    sample
                )
        say(
            f"  throughput round {round_index + 1}/{sizes.throughput_rounds} "
            f"({time.perf_counter() - started:.0f} s)"
        )

    for round_index in range(sizes.cpu_rounds):
        for operation in CPU_OPERATIONS:
            for contender in rotated(operating, round_index):
                if operation in contender.cpu_operations:
                    sample = contender.cpu_sample(operation)
                    samples.setdefault(operation, {}).setdefault(
                        contender.id, []
                    ).append(sample)
        say(
            f"  client-only round {round_index + 1}/{sizes.cpu_rounds} "
            f"({time.perf_counter() - started:.0f} s)"
        )
    return samples


def run_canned(contenders: Sequence[Runnable], sizes: Sizes) -> Samples:
    """Time the client's own work per operation, the node replaced by canned answers."""
    samples: Samples = {}
    for round_index in range(-1, sizes.canned_rounds):
        for position, operation in enumerate(SERVER_OPERATIONS):
            count = sizes.operations_per_sample[operation] * sizes.canned_scale
            for contender in rotated(contenders, round_index + position):
                if contender.runs_operations:
                    sample = contender.sample(operation, round_index, count)
                    if round_index >= 0:
                        samples.setdefault(canned_operation(operation), {}).setdefault(
                            contender.id, []
                        ).append(sample)
        for concurrency in sizes.concurrency_levels:
            operation = canned_operation(throughput_operation(concurrency))
            for contender in rotated(contenders, round_index + concurrency):
                if contender.runs_throughput:
                    sample = contender.throughput(concurrency)
                    if round_index >= 0:
                        samples.setdefault(operation, {}).setdefault(
                            contender.id, []
                        ).append(sample)
    return samples


def missed_operations(targets: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Each coodie contender and operation that missed a target, once.

    Ordered so that every operation comes once before any comes twice.
    """
    by_operation: dict[str, list[str]] = {}
    for target in targets:
        contenders = by_operation.setdefault(target["operation"], [])
        if (
            not target["met"]
            and target["contender"] in COODIE_CONTENDERS
            and target["operation"] not in CPU_OPERATIONS
            and target["contender"] not in contenders
        ):
            contenders.append(target["contender"])
    missed = []
    for turn in range(len(COODIE_CONTENDERS)):
        for operation, contenders in by_operation.items():
            if turn < len(contenders):
                missed.append((contenders[turn], operation))
    return missed


def profile_misses(
    missed: list[tuple[str, str]],
    results: dict[str, dict[str, dict[str, Any]]],
    contenders: dict[str, Runnable],
) -> list[dict[str, Any]]:
    """Profile each miss on canned answers: coodie's own functions, per operation."""
    profiles = []
    for contender_id, operation in missed[:MAX_PROFILES]:
        contender: Any = contenders[contender_id]
        profiler = contender.profile(operation, 10_000)
        operations = (
            contender.sizes.throughput_requests
            if operation.startswith("throughput")
            else contender.profile_count(operation)
        )
        summary = summarize_profile(profiler, operations)
        summary.update(contender=contender_id, operation=operation)
        canned = results.get(canned_operation(operation), {}).get(contender_id)
        if canned is not None:
            summary["canned_cpu_us"] = canned["calling_thread_cpu_us"]["median"]
        for prefix, key in (("", "extra"), ("canned_", "canned_extra")):
            by_contender = results.get(prefix + operation, {})
            figures = by_contender.get(contender_id)
            floor = by_contender.get(floor_of(prefix + operation))
            if figures is not None and floor is not None:
                summary[f"{key}_cpu_us"] = (
                    figures["cpu_us"]["median"] - floor["cpu_us"]["median"]
                )
        profiles.append(summary)
    return profiles


# -- the run ----------------------------------------------------------------------


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/run.py",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick", action="store_true", help="fewer rounds and smaller samples"
    )
    size.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, to check that everything runs (used by the smoke test)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=BENCHMARKS / "results",
        help="directory for results.json, results.md and chart.png",
    )
    parser.add_argument(
        "--without-legacy",
        action="store_true",
        help="leave out coodie 1.9.3 (otherwise its environment is made if missing)",
    )
    parser.add_argument(
        "--no-profile", action="store_true", help="do not profile missed targets"
    )
    return parser.parse_args(argv)


def legacy_environment(arguments: argparse.Namespace, notes: list[str]) -> Path | None:
    """The coodie 1.9.3 environment to use, made when missing (not in smoke runs)."""
    if arguments.without_legacy:
        notes.append("coodie 1.9.3 was left out (--without-legacy).")
        return None
    venv = legacy_venv()
    if legacy_installed(venv):
        return venv
    if arguments.smoke:
        notes.append(f"coodie 1.9.3 was left out: no environment at {venv.name}.")
        return None
    say("making the environment of coodie 1.9.3 (uv venv + uv pip install)")
    install_legacy(venv)
    return venv


def server_facts(session: Session) -> dict[str, Any]:
    row = session.execute("SELECT release_version FROM system.local").one()
    return {"release_version": row.release_version}


def main(argv: Sequence[str]) -> int:
    arguments = parse_arguments(argv)
    preset = "smoke" if arguments.smoke else "quick" if arguments.quick else "full"
    sizes = PRESETS[preset]
    notes: list[str] = []
    draw = chart_maker(required=not arguments.smoke)
    load_at_start = os.getloadavg()
    venv = legacy_environment(arguments, notes)
    began = time.perf_counter()

    with ExitStack() as stack:
        hosts, port = stack.enter_context(running_node())
        cluster, session = connect_raw(Target(hosts, port, ""))
        stack.callback(cluster.shutdown)
        keyspace = stack.enter_context(benchmark_keyspace(session))
        target = Target(hosts, port, keyspace)
        say(f"keyspace {keyspace} on {','.join(hosts)}:{port}; loading rows")
        statements = RawStatements(session, keyspace)
        pool_ids = load_rows(session, statements, sizes)

        seed = secrets.randbits(32)
        common = (sizes, pool_ids)
        contenders: list[Runnable] = [
            RawDriver(session, statements, *common, seed),
            RawDataclasses(session, statements, *common, seed + 1),
            RawAsyncio(session, statements, *common, seed + 7),
            RawConcurrent(session, statements, *common, seed + 8),
        ]
        coodie_sync = CoodieSync(target, *common, seed + 2)
        stack.callback(coodie_sync.close)
        CoodieAio.connect(target)
        stack.callback(CoodieAio.disconnect)
        cqlengine = Cqlengine(target, *common, seed + 5)
        stack.callback(cqlengine.close)
        contenders += [
            coodie_sync,
            CoodieAio("asyncio", *common, seed + 3),
            CoodieAio("trio", *common, seed + 4),
            cqlengine,
        ]
        versions: dict[str, Any] = {}
        if venv is not None:
            worker = LegacyWorker(venv)
            stack.callback(worker.close)
            described = worker.request(
                command="setup",
                hosts=hosts,
                port=port,
                keyspace=keyspace,
                sizes=sizes.to_json(),
                pool_ids=[str(user_id) for user_id in pool_ids],
                seed=seed + 6,
            )
            versions["coodie 1.9.3 environment"] = described["versions"]
            contenders += [
                RemoteContender(worker, description)
                for description in described["contenders"]
            ]

        say(f"running {len(contenders)} contenders, {preset} preset")
        samples = run_rounds(contenders, sizes)
        say("timing the client's own work on canned answers")
        canned = CannedSession(sizes)
        canned_contenders: list[Runnable] = [
            RawDriver(canned, statements, *common, seed + 9),
            RawAsyncio(canned, statements, *common, seed + 10),
            *(c for c in contenders if c.id in COODIE_CONTENDERS),
        ]
        with canned_coodie(canned):
            samples.update(run_canned(canned_contenders, sizes))

        results = {
            operation: {
                contender_id: summarize(operation, contender_samples, sizes)
                for contender_id, contender_samples in by_contender.items()
            }
            for operation, by_contender in samples.items()
        }
        add_ratios(results)
        targets = evaluate_targets(results, sizes)
        by_id = {contender.id: contender for contender in contenders}
        missed = missed_operations(targets)
        profiles: list[dict[str, Any]] = []
        if missed and not arguments.no_profile:
            say(f"profiling {min(len(missed), MAX_PROFILES)} misses on canned answers")
            with canned_coodie(canned):
                profiles = profile_misses(missed, results, by_id)
        report = {
            "meta": {
                "finished": dt.datetime.now(dt.timezone.utc).strftime(
                    "%Y-%m-%d %H:%M UTC"
                ),
                "preset": preset,
                "rounds": sizes.rounds,
                "warmup_rounds": sizes.warmup_rounds,
                "duration_s": round(time.perf_counter() - began),
                "load_average": {"start": load_at_start, "end": os.getloadavg()},
                "source": source_state(),
                "sizes": sizes.to_json(),
                "hosts": ",".join(f"{host}:{port}" for host in hosts),
                "server": server_facts(session),
                "machine": {
                    "cpu_count": os.cpu_count(),
                    "platform": platform.platform(terse=True),
                },
                "versions": {**package_versions(), **versions},
            },
            "contenders": [
                {
                    "id": contender.id,
                    "label": contender.label,
                    "cpu_operations": list(contender.cpu_operations),
                    "runs_operations": contender.runs_operations,
                    "runs_throughput": contender.runs_throughput,
                }
                for contender in contenders
            ],
            "results": results,
            "targets": targets,
            "profiles": profiles,
            "notes": notes + row_notes(results),
        }

    write_outputs(report, arguments.output, draw)
    say(f"done in {time.perf_counter() - began:.0f} s; results in {arguments.output}")
    return 0


def source_state() -> dict[str, Any]:
    """The commit measured, and whether coodie's sources differed from it."""

    def git(*arguments: str) -> str:
        finished = subprocess.run(
            ["git", *arguments],
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            check=False,
        )
        return finished.stdout.strip()

    return {
        "commit": git("rev-parse", "--short", "HEAD") or "unknown",
        "packages_modified": bool(git("status", "--porcelain", "--", "packages")),
    }


def package_versions() -> dict[str, str]:
    from importlib.metadata import version

    return {
        "python": platform.python_version(),
        "cassandra-driver": version("cassandra-driver"),
        "pydantic": version("pydantic"),
        "anyio": version("anyio"),
        "trio": version("trio"),
        "coodie": version("coodie"),
    }


def row_notes(results: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """A note for each contender whose samples saw other rows than expected."""
    notes = []
    for operation, by_contender in results.items():
        for contender_id, figures in by_contender.items():
            if "rows_seen" in figures:
                notes.append(
                    f"{contender_id} {operation}: saw {figures['rows_seen']:,} rows "
                    f"where {figures['rows_expected']:,} were expected."
                )
    return notes


def chart_maker(required: bool) -> Any:
    """The chart function, or ``None`` when matplotlib is missing and not required.

    Imported at the start, so that a run fails at once rather than after its
    measurements, and survives the package being removed while it runs.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        if required:
            raise SystemExit(
                "matplotlib is missing: run with `uv run --group bench ...`"
            ) from None
        return None
    # Draw once now: loads the modules that saving a PNG needs.
    figure = plt.figure(figsize=(1, 1))
    figure.savefig(io.BytesIO(), format="png")
    plt.close(figure)
    return chart


def write_outputs(report: dict[str, Any], output: Path, draw: Any) -> None:
    """Write the JSON, the Markdown table and (when it can be drawn) the chart."""
    output.mkdir(parents=True, exist_ok=True)
    if draw is None:
        report["notes"].append("No chart: matplotlib is not installed here.")
    (output / "results.json").write_text(json.dumps(report, indent=1) + "\n")
    (output / "results.md").write_text(markdown(report))
    if draw is not None:
        draw(report, output / "chart.png")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
