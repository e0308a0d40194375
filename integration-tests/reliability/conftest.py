"""Clusters of their own for the reliability tests, and the report they write.

Each module that breaks nodes asks :func:`local_cluster` for a cluster. It runs the
node manager (``integration-tests/cluster``) with a temporary cluster directory of
its own and a loopback prefix ``127.R.K.``: ``R`` is drawn once per run, so two runs
on one machine do not collide, and ``K`` tells the clusters of one run apart.
Nothing here touches the shared node on 127.0.0.1. The directories are made with
:mod:`tempfile`, not pytest's ``tmp_path``: another pytest run of the same user
prunes old pytest temporary directories, and would delete a running node's data.

Register the markers ``cluster`` and ``reliability``; select these tests with
``pytest -m reliability integration-tests/reliability``.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CLUSTER_SCRIPT = Path(__file__).resolve().parent.parent / "cluster"
CQL_PORT = 9042
UP_TIMEOUT_S = 600.0
START_NODE_TIMEOUT_S = 300.0
STOP_NODE_TIMEOUT_S = 60.0
DOWN_TIMEOUT_S = 120.0
PREFIX_ATTEMPTS = 20

# Rows for the summary printed at the end of the run; see docs/reliability.md.
REPORT: list[dict[str, Any]] = []


class ClusterCommandError(Exception):
    """The node manager failed; its message carries the manager's stderr."""


@dataclass
class LocalCluster:
    """Nodes run by ``integration-tests/cluster`` in a directory of their own."""

    directory: Path
    address_prefix: str
    node_count: int = 1
    options: tuple[str, ...] = ()
    heap: str | None = None
    stopped: set[int] = field(default_factory=set)
    _starting: subprocess.Popen[str] | None = field(default=None, repr=False)

    @property
    def hosts(self) -> list[str]:
        """The nodes' addresses, for ``init_coodie(hosts=...)``."""
        return [f"{self.address_prefix}{i}" for i in range(1, self.node_count + 1)]

    @property
    def ca_cert(self) -> Path:
        """The CA certificate ``up --tls`` wrote for clients to trust."""
        return self.directory / "tls" / "ca.pem"

    def _command(self, *arguments: str) -> tuple[list[str], dict[str, str]]:
        environment = dict(os.environ)
        environment["COODIE_CLUSTER_DIR"] = str(self.directory)
        environment["COODIE_CLUSTER_ADDRESS_PREFIX"] = self.address_prefix
        if self.heap is not None:
            environment["COODIE_CASSANDRA_HEAP"] = self.heap
        return [sys.executable, str(CLUSTER_SCRIPT), *arguments], environment

    def run(self, *arguments: str, timeout: float) -> str:
        """Run one node manager command and return its stdout."""
        command, environment = self._command(*arguments)
        try:
            completed = subprocess.run(
                command,
                env=environment,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ClusterCommandError(
                f"`cluster {' '.join(arguments)}` did not finish in {timeout:.0f} s"
            ) from None
        if completed.returncode != 0:
            raise ClusterCommandError(
                f"`cluster {' '.join(arguments)}` failed:\n{completed.stderr}"
            )
        return completed.stdout

    def begin_up(self) -> None:
        """Start `up` in the background; :meth:`finish_up` waits for it."""
        command, environment = self._command(*self._up_arguments())
        self._starting = subprocess.Popen(
            command,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def finish_up(self) -> None:
        """Wait for the `up` that :meth:`begin_up` started."""
        process, self._starting = self._starting, None
        if process is None:
            return
        try:
            _, stderr = process.communicate(timeout=UP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise ClusterCommandError(
                f"`cluster up` did not finish in {UP_TIMEOUT_S:.0f} s"
            ) from None
        if process.returncode != 0:
            raise ClusterCommandError(f"`cluster up` failed:\n{stderr}")

    def _up_arguments(self) -> list[str]:
        return ["up", "--nodes", str(self.node_count), *self.options]

    def up(self) -> None:
        """Start every node and wait until each answers CQL."""
        self.run(*self._up_arguments(), timeout=UP_TIMEOUT_S)
        self.stopped.clear()

    def restore(self) -> None:
        """Start or resume the nodes a test stopped, if any."""
        if self.stopped:
            self.up()

    def down(self) -> None:
        """Stop every node and delete the cluster's data."""
        self.finish_up_quietly()
        self.run("down", timeout=DOWN_TIMEOUT_S)

    def finish_up_quietly(self) -> None:
        with contextlib.suppress(ClusterCommandError):
            self.finish_up()

    def stop_node(self, index: int, signal_name: str = "KILL") -> None:
        """Stop node ``index`` with SIGKILL, SIGTERM, or freeze it with SIGSTOP."""
        self.stopped.add(index)
        self.run(
            "stop-node",
            str(index),
            "--signal",
            signal_name,
            timeout=STOP_NODE_TIMEOUT_S,
        )

    def start_node(self, index: int) -> None:
        """Start node ``index`` again on its data (or resume it when frozen)."""
        self.run("start-node", str(index), timeout=START_NODE_TIMEOUT_S)
        self.stopped.discard(index)

    def status(self) -> str:
        """The node manager's status lines (it exits 1 when a node is down)."""
        command, environment = self._command("status")
        completed = subprocess.run(
            command,
            env=environment,
            capture_output=True,
            text=True,
            timeout=STOP_NODE_TIMEOUT_S,
            check=False,
        )
        return completed.stdout


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "reliability: breaks nodes of its own or feeds coodie bad input"
    )


def _port_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def run_octet() -> int:
    """The second octet of every address this run's clusters use."""
    generator = random.SystemRandom()
    for _ in range(PREFIX_ATTEMPTS):
        octet = generator.randrange(10, 250)
        taken = any(
            _port_open(f"127.{octet}.{group}.{node}", CQL_PORT)
            for group in range(1, 6)
            for node in range(1, 4)
        )
        if not taken:
            return octet
    pytest.fail("no free 127.R.K.N addresses found for the reliability clusters")


ClusterFactory = Callable[..., LocalCluster]


@pytest.fixture(scope="session")
def local_cluster(run_octet: int) -> Iterator[ClusterFactory]:
    """Make :class:`LocalCluster` objects; every one is brought down at the end.

    ``local_cluster(label, group, nodes=1, options=(), heap=None)`` returns a
    cluster on ``127.R.<group>.`` that is not started yet.
    """
    made: list[LocalCluster] = []

    def make(
        label: str,
        group: int,
        *,
        nodes: int = 1,
        options: tuple[str, ...] = (),
        heap: str | None = None,
    ) -> LocalCluster:
        cluster = LocalCluster(
            directory=Path(tempfile.mkdtemp(prefix=f"coodie-{label}-")),
            address_prefix=f"127.{run_octet}.{group}.",
            node_count=nodes,
            options=options,
            heap=heap,
        )
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        with contextlib.suppress(ClusterCommandError):
            cluster.down()
            shutil.rmtree(cluster.directory, ignore_errors=True)


Report = Callable[..., None]


@pytest.fixture(scope="session")
def reliability_report() -> Report:
    """``reliability_report(scenario, **figures)`` keeps a row for the summary."""

    def keep(scenario: str, **figures: Any) -> None:
        REPORT.append({"scenario": scenario, **figures})

    return keep


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the figures the reliability tests measured."""
    if not REPORT:
        return
    terminalreporter.section("reliability figures")
    for row in REPORT:
        figures = ", ".join(
            f"{name}={value}" for name, value in row.items() if name != "scenario"
        )
        terminalreporter.write_line(f"{row['scenario']}: {figures}")
