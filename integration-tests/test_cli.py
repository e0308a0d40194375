"""The ``coodie`` command line, run as a user runs it, against the real node."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.cluster

MODELS = """
from typing import Annotated

from coodie.fields import PrimaryKey
from coodie.sync import Document


class Gadget(Document):
    id: Annotated[int, PrimaryKey()]
    name: str = ""
{extra}
    class Settings:
        name = "cli_gadgets"
"""


def coodie(
    workdir: Path, hosts: list[tuple[str, int]], keyspace: str, *arguments: str
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "COODIE_HOSTS": ",".join(host for host, _ in hosts),
        "COODIE_KEYSPACE": keyspace,
    }
    return subprocess.run(
        [sys.executable, "-m", "coodie.sync.cli", *arguments],
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_diff_make_migrate_status_and_rollback(
    tmp_path: Path, cassandra_hosts: list[tuple[str, int]], keyspace: str
) -> None:
    def run(*arguments: str) -> subprocess.CompletedProcess[str]:
        return coodie(tmp_path, cassandra_hosts, keyspace, *arguments)

    (tmp_path / "models.py").write_text(MODELS.format(extra=""))
    diff = run("diff", "models")
    assert diff.returncode == 0, diff.stderr
    assert "create table: the table does not exist (in place)" in diff.stdout

    made = run("make", "models", "create_gadgets")
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "migrations" / "0001_create_gadgets.py").exists()

    dry = run("migrate", "--dry-run")
    assert f'CREATE TABLE IF NOT EXISTS "{keyspace}"."cli_gadgets"' in dry.stdout
    assert "0001_create_gadgets (pending)" in run("status").stdout

    applied = run("migrate")
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout == "applied 0001_create_gadgets\n"
    assert "1/1" in applied.stderr, "a progress bar was drawn"

    (tmp_path / "models.py").write_text(
        MODELS.format(extra=textwrap.indent('colour: str = ""\n', "    "))
    )
    assert "add colour: text (in place)" in run("diff", "models").stdout
    assert run("make", "models", "add_colour").returncode == 0
    assert run("migrate").stdout == "applied 0002_add_colour\n"
    assert "up to date" in run("diff", "models").stdout
    status = run("status").stdout
    assert "[x] 0001_create_gadgets (applied)" in status
    assert "[x] 0002_add_colour (applied)" in status

    rolled = run("rollback")
    assert rolled.stdout == "rolled back 0002_add_colour\n"
    assert "add colour" in run("diff", "models").stdout


def test_a_failure_exits_non_zero_with_a_message(
    tmp_path: Path, cassandra_hosts: list[tuple[str, int]], keyspace: str
) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_broken.py").write_text(
        "def upgrade(ctx):\n"
        "    ctx.execute('CREATE TABLE nowhere.x (id int PRIMARY KEY)')\n"
    )
    failed = coodie(tmp_path, cassandra_hosts, keyspace, "migrate")
    assert failed.returncode == 1
    assert "coodie: error: upgrade of migration 0001_broken failed" in failed.stderr

    missing = coodie(tmp_path, cassandra_hosts, keyspace, "diff", "no_such_module")
    assert missing.returncode == 1
    assert "cannot import 'no_such_module'" in missing.stderr
