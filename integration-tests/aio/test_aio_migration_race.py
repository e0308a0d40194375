"""Two runners that start at once apply each migration exactly once."""

from __future__ import annotations

import textwrap
from pathlib import Path

import anyio
import pytest

from coodie.aio import Driver, execute_raw, migrate, migration_status

pytestmark = [pytest.mark.anyio, pytest.mark.cluster]


async def test_two_runners_racing_apply_each_migration_once(
    coodie_driver: Driver, tmp_path: Path
) -> None:
    for table in ("coodie_migrations", "coodie_migration_lock", "hits"):
        await execute_raw(f'DROP TABLE IF EXISTS "{table}"')
    await execute_raw('CREATE TABLE "hits" (name text PRIMARY KEY, n counter)')
    for number in range(1, 4):
        (tmp_path / f"000{number}_step.py").write_text(
            textwrap.dedent(
                f"""
                import time

                def upgrade(ctx):
                    ctx.execute(
                        'UPDATE "{{keyspace}}"."hits" SET n = n + 1 WHERE name = ?',
                        ["step{number}"],
                    )
                    time.sleep(0.3)
                """
            )
        )

    results: list[list[str]] = []

    async def runner() -> None:
        results.append(await migrate(tmp_path))

    async with anyio.create_task_group() as group:
        group.start_soon(runner)
        group.start_soon(runner)

    applied = sorted(migration_id for result in results for migration_id in result)
    assert applied == ["0001_step", "0002_step", "0003_step"]
    assert sorted(len(result) for result in results) == [0, 3]
    hits = await execute_raw('SELECT name, n FROM "hits"')
    assert sorted((row["name"], row["n"]) for row in hits) == [
        ("step1", 1),
        ("step2", 1),
        ("step3", 1),
    ]
    assert [s.state for s in await migration_status(tmp_path)] == ["applied"] * 3
