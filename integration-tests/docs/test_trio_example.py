"""examples/trio_worker.py run as a script: concurrent saves, then a streaming read."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from types import ModuleType

import pytest

pytestmark = pytest.mark.cluster


def test_worker_saves_concurrently_and_streams(
    load_example: Callable[[str], ModuleType],
    drop_keyspace_around: Callable[[str], None],
) -> None:
    worker = load_example("trio_worker")
    drop_keyspace_around(worker.KEYSPACE)

    finished = subprocess.run(
        [sys.executable, worker.__file__],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ.copy(),
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    lines = finished.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == list(worker.SENSORS)
    for line in lines:
        assert f"{worker.READINGS_PER_SENSOR} readings" in line
