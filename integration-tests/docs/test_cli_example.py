"""examples/bookmarks.py run as a command, one process per call, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from types import ModuleType

import pytest

pytestmark = pytest.mark.cluster


def test_bookmarks_command(
    load_example: Callable[[str], ModuleType],
    drop_keyspace_around: Callable[[str], None],
) -> None:
    script = load_example("bookmarks")
    drop_keyspace_around(script.KEYSPACE)

    def run(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, script.__file__, *arguments],
            capture_output=True,
            text=True,
            timeout=120,
            env=os.environ.copy(),
            check=False,
        )

    added = run("add", "https://cassandra.apache.org", "--tag", "db")
    assert added.returncode == 0, added.stderr
    assert added.stdout == "saved https://cassandra.apache.org\n"
    assert run("add", "https://trio.readthedocs.io", "--tag", "python").returncode == 0

    again = run("add", "https://cassandra.apache.org")
    assert again.returncode == 1
    assert "already saved" in again.stderr

    assert run("tag", "https://trio.readthedocs.io", "async", "db").returncode == 0
    assert run("tag", "https://nowhere.example", "x").returncode == 1

    listed = run("list", "--tag", "db")
    assert listed.stdout.splitlines() == [
        "https://cassandra.apache.org  [db]",
        "https://trio.readthedocs.io  [async, db, python]",
    ]

    assert run("remove", "https://cassandra.apache.org").returncode == 0
    assert run("remove", "https://cassandra.apache.org").returncode == 1
    assert run("list").stdout.splitlines() == [
        "https://trio.readthedocs.io  [async, db, python]"
    ]

    usage = run("frobnicate")
    assert usage.returncode == 2
    assert "invalid choice" in usage.stderr
