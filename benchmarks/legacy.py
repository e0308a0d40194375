"""coodie 1.9.3 from PyPI as a contender: its own environment and a worker process.

The environment lives in a cache directory outside the repository (set
``COODIE_BENCH_LEGACY_VENV`` to move it) and is made with uv on first use. The
worker (:mod:`coodie193_worker`) answers one JSON line per request.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import IO, Any

from workload import Sample

LEGACY_REQUIREMENT = "coodie[cassandra]==1.9.3"
WORKER = Path(__file__).resolve().parent / "coodie193_worker.py"


def legacy_venv() -> Path:
    """Where the environment of coodie 1.9.3 lives."""
    configured = os.environ.get("COODIE_BENCH_LEGACY_VENV")
    if configured:
        return Path(configured).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "coodie" / "bench" / "coodie-1.9.3"


def legacy_python(venv: Path) -> Path:
    """The environment's Python executable."""
    return venv / "bin" / "python"


def legacy_installed(venv: Path) -> bool:
    """Whether the environment holds coodie 1.9.3 and a driver."""
    python = legacy_python(venv)
    if not python.exists():
        return False
    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.metadata as m, cassandra; "
            "assert m.version('coodie') == '1.9.3'",
        ],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


def install_legacy(venv: Path) -> None:
    """Make the environment with uv: coodie 1.9.3 and this run's driver version.

    coodie 1.9.3 declares no driver of its own (only extras); the ``cassandra``
    extra with the same cassandra-driver release as ours keeps the driver equal.
    """
    interpreter = f"{sys.version_info.major}.{sys.version_info.minor}"
    driver = f"cassandra-driver=={version('cassandra-driver')}"
    subprocess.run(
        ["uv", "venv", "--quiet", str(venv), "--python", interpreter], check=True
    )
    subprocess.run(
        [
            "uv",
            "pip",
            "install",
            "--quiet",
            "--python",
            str(legacy_python(venv)),
            LEGACY_REQUIREMENT,
            driver,
        ],
        check=True,
    )


class LegacyWorker:
    """The worker process: one request out, one answer back."""

    def __init__(self, venv: Path) -> None:
        self.process = subprocess.Popen(
            [str(legacy_python(venv)), str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def request(self, **request: Any) -> dict[str, Any]:
        """Send ``request`` and wait for its answer.

        :raises RuntimeError: the worker failed or answered with an error.
        """
        stdin: IO[str] | None = self.process.stdin
        stdout: IO[str] | None = self.process.stdout
        assert stdin is not None
        assert stdout is not None
        stdin.write(json.dumps(request) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise RuntimeError(
                f"the coodie 1.9.3 worker exited ({self.process.poll()}) during "
                f"{request['command']!r}; its error is above"
            )
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"coodie 1.9.3 worker failed:\n{answer['error']}")
        return answer

    def freeze(self) -> None:
        """Leave the worker's objects alive now out of later garbage collections."""
        self.request(command="freeze")

    def close(self) -> None:
        """Ask the worker to disconnect, then end it."""
        if self.process.poll() is None:
            try:
                self.request(command="close")
            finally:
                assert self.process.stdin is not None
                self.process.stdin.close()
                self.process.wait(timeout=60)


class RemoteContender:
    """A contender that runs in the worker; it has the in-process contenders' calls."""

    def __init__(self, worker: LegacyWorker, description: dict[str, Any]) -> None:
        self.worker = worker
        self.id: str = description["id"]
        self.label: str = description["label"]
        self.cpu_operations: tuple[str, ...] = tuple(description["cpu_operations"])
        self.runs_operations = True
        self.runs_throughput: bool = description["runs_throughput"]

    def sample(
        self, operation: str, round_index: int, count: int | None = None
    ) -> Sample:
        """Time one sample of ``operation`` in the worker."""
        answer = self.worker.request(
            command="sample",
            contender=self.id,
            operation=operation,
            round=round_index,
        )
        return Sample(**answer)

    def throughput(self, concurrency: int) -> Sample:
        """Time inserts with ``concurrency`` in flight, in the worker."""
        answer = self.worker.request(
            command="throughput", contender=self.id, concurrency=concurrency
        )
        return Sample(**answer)

    def cpu_sample(self, operation: str) -> Sample:
        """Time a client-only operation in the worker."""
        answer = self.worker.request(
            command="cpu", contender=self.id, operation=operation
        )
        return Sample(**answer)

    def freeze(self) -> None:
        """Leave the worker's objects alive now out of later garbage collections."""
        self.worker.freeze()

    def close(self) -> None:
        """The worker closes the connection for both of its contenders."""
