"""Schema differences and versioned migrations against the real node.

Written once for ``coodie.aio``; ``scripts/generate_sync.py`` derives the
``coodie.sync`` twin. The async tests run on asyncio and on trio.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Annotated

import pytest

from coodie.aio import (
    Document,
    Driver,
    execute_raw,
    migrate,
    migration_status,
    rollback_migrations,
)
from coodie.exceptions import MigrationError, SchemaMismatchError
from coodie.fields import ClusteringKey, Indexed, PrimaryKey

pytestmark = [pytest.mark.anyio, pytest.mark.cluster]


class Gadget(Document):
    id: Annotated[int, PrimaryKey()]
    name: str = ""
    colour: Annotated[str, Indexed()] = ""
    weight: float = 0.0

    class Settings:
        name = "gadgets"


def write(directory: Path, name: str, body: str) -> None:
    (directory / name).write_text(textwrap.dedent(body))


@pytest.fixture
async def migrations(coodie_driver: Driver, tmp_path: Path) -> Path:
    """An empty migrations directory, and a keyspace with no migration history."""
    tables = ("coodie_migrations", "coodie_migration_lock", "coodie_migration_progress")
    for table in (*tables, "notes", "marks", "half", "visits"):
        await execute_raw(f'DROP TABLE IF EXISTS "{table}"')
    return tmp_path


async def test_sync_table_dry_run_runs_nothing(coodie_driver: Driver) -> None:
    await execute_raw('DROP TABLE IF EXISTS "gadgets"')
    planned = await Gadget.sync_table(dry_run=True)
    assert planned[0].startswith("CREATE TABLE IF NOT EXISTS")
    assert any(statement.startswith("CREATE INDEX") for statement in planned)
    assert (await Gadget.schema_diff()).statements[0].startswith("CREATE TABLE")

    assert await Gadget.sync_table() == planned
    assert (await Gadget.schema_diff()).is_empty
    assert await Gadget.sync_table(dry_run=True) == []


async def test_schema_diff_reports_every_kind_of_change(coodie_driver: Driver) -> None:
    await execute_raw('DROP TABLE IF EXISTS "gadgets"')
    await execute_raw(
        'CREATE TABLE "gadgets" ("id" int, "part" int, "name" text, '
        '"weight" int, "legacy" text, PRIMARY KEY ("id", "part"))'
    )
    diff = await Gadget.schema_diff()
    by_kind = {(change.kind, change.target): change for change in diff.changes}

    assert by_kind[("add", "colour")].in_place
    assert by_kind[("add index", "gadgets_colour_idx")].in_place
    assert by_kind[("drop", "legacy")].in_place
    assert not by_kind[("retype", "weight")].in_place
    assert not by_kind[("key", "clustering key")].in_place
    assert len(diff.needs_new_table) == 2

    applied = await Gadget.sync_table()
    assert any('ADD "colour"' in statement for statement in applied)
    assert not any("DROP" in statement for statement in applied), "nothing dropped"
    rows = await execute_raw('SELECT "legacy" FROM "gadgets"')
    assert rows == []


async def test_migrations_apply_once_in_order_and_roll_back(
    coodie_driver: Driver, migrations: Path
) -> None:
    write(
        migrations,
        "0001_create_notes.py",
        '''
        """Create the notes table."""

        def upgrade(ctx):
            ctx.execute('CREATE TABLE "{keyspace}"."notes" (id int PRIMARY KEY)')

        def downgrade(ctx):
            ctx.execute('DROP TABLE "{keyspace}"."notes"')
        ''',
    )
    write(
        migrations,
        "0002_add_body.py",
        """
        def upgrade(ctx):
            ctx.execute('ALTER TABLE "{keyspace}"."notes" ADD body text')
            ctx.execute('INSERT INTO "{keyspace}"."notes" (id, body) VALUES (?, ?)', [1, "hi"])

        def downgrade(ctx):
            ctx.execute('ALTER TABLE "{keyspace}"."notes" DROP body')
        """,
    )
    keyspace = coodie_driver.keyspace
    planned = await migrate(migrations, dry_run=True)
    assert planned[0] == f'CREATE TABLE "{keyspace}"."notes" (id int PRIMARY KEY)'
    assert [s.state for s in await migration_status(migrations)] == ["pending"] * 2

    assert await migrate(migrations) == ["0001_create_notes", "0002_add_body"]
    assert await migrate(migrations) == []
    assert await execute_raw('SELECT body FROM "notes"') == [{"body": "hi"}]
    states = await migration_status(migrations)
    assert [(s.id, s.state) for s in states] == [
        ("0001_create_notes", "applied"),
        ("0002_add_body", "applied"),
    ]

    assert await rollback_migrations(migrations) == ["0002_add_body"]
    assert [s.state for s in await migration_status(migrations)] == [
        "applied",
        "pending",
    ]
    assert await rollback_migrations(migrations) == ["0001_create_notes"]
    with pytest.raises(Exception, match="notes"):
        await execute_raw('SELECT * FROM "notes"')


async def test_a_changed_applied_migration_is_refused(
    coodie_driver: Driver, migrations: Path
) -> None:
    body = """
        def upgrade(ctx):
            ctx.execute('CREATE TABLE IF NOT EXISTS "{keyspace}"."marks" (id int PRIMARY KEY)')
        """
    write(migrations, "0001_marks.py", body)
    await migrate(migrations)
    with (migrations / "0001_marks.py").open("a") as file:
        file.write("# edited\n")

    assert [s.state for s in await migration_status(migrations)] == ["changed"]
    with pytest.raises(MigrationError, match="0001_marks was changed"):
        await migrate(migrations)


async def test_a_failed_migration_is_not_recorded_and_says_what_ran(
    coodie_driver: Driver, migrations: Path
) -> None:
    write(
        migrations,
        "0001_half.py",
        """
        def upgrade(ctx):
            ctx.execute('CREATE TABLE IF NOT EXISTS "{keyspace}"."half" (id int PRIMARY KEY)')
            ctx.execute('ALTER TABLE "{keyspace}"."half" ADD "id" text')
        """,
    )
    with pytest.raises(MigrationError) as failure:
        await migrate(migrations)
    message = str(failure.value)
    assert "upgrade of migration 0001_half failed" in message
    assert "not recorded as applied" in message
    assert 'CREATE TABLE IF NOT EXISTS "' in message
    assert [s.state for s in await migration_status(migrations)] == ["pending"]

    write(
        migrations,
        "0001_half.py",
        """
        def upgrade(ctx):
            ctx.execute('CREATE TABLE IF NOT EXISTS "{keyspace}"."half" (id int PRIMARY KEY)')
            ctx.execute('ALTER TABLE "{keyspace}"."half" ADD "note" text')
        """,
    )
    assert await migrate(migrations) == ["0001_half"]


class Reading(Document):
    sensor: Annotated[int, PrimaryKey()]
    seq: Annotated[int, ClusteringKey()]
    celsius: float = 0.0
    fahrenheit: float | None = None

    class Settings:
        name = "migrated_readings"


async def test_a_data_migration_resumes_after_an_interruption(
    coodie_driver: Driver, migrations: Path
) -> None:
    await Reading.sync_table()
    await Reading.truncate()
    for sensor in range(200):
        await Reading(sensor=sensor, seq=0, celsius=sensor).save()
    await execute_raw(
        'CREATE TABLE IF NOT EXISTS "visits" (run int, slice int, '
        "PRIMARY KEY (run, slice))"
    )
    write(
        migrations,
        "0001_fahrenheit.py",
        '''
        """Fill fahrenheit from celsius."""
        import os

        def upgrade(ctx):
            run = int(os.environ["COODIE_TEST_RUN"])
            update = ('UPDATE "{keyspace}"."migrated_readings" SET fahrenheit = ? '
                      'WHERE sensor = ? AND seq = ?')
            for number, rows in enumerate(ctx.scan(
                "migrated_readings", ["sensor", "seq", "celsius"], ["sensor"], slices=8
            )):
                if run == 1 and number == 3:
                    raise RuntimeError("interrupted")
                for sensor, seq, celsius in rows:
                    ctx.execute(update, [celsius * 9 / 5 + 32, sensor, seq])
                ctx.execute('INSERT INTO "{keyspace}"."visits" (run, slice) '
                            'VALUES (?, ?)', [run, number])
        ''',
    )
    monkeypatch = pytest.MonkeyPatch()
    try:
        monkeypatch.setenv("COODIE_TEST_RUN", "1")
        with pytest.raises(MigrationError, match="interrupted"):
            await migrate(migrations)
        first = await execute_raw('SELECT slice FROM "visits" WHERE run = 1')
        assert len(first) == 3

        monkeypatch.setenv("COODIE_TEST_RUN", "2")
        assert await migrate(migrations) == ["0001_fahrenheit"]
    finally:
        monkeypatch.undo()
    second = await execute_raw('SELECT slice FROM "visits" WHERE run = 2')
    assert len(second) == 5, "the three slices done before are not read again"

    readings = await Reading.find().all()
    assert len(readings) == 200
    assert all(r.fahrenheit == r.celsius * 9 / 5 + 32 for r in readings)


async def test_a_column_the_table_lacks_is_a_schema_mismatch(
    coodie_driver: Driver,
) -> None:
    await execute_raw('DROP TABLE IF EXISTS "gadgets"')
    await execute_raw('CREATE TABLE "gadgets" ("id" int PRIMARY KEY, "name" text)')
    with pytest.raises(SchemaMismatchError, match="sync_table"):
        await Gadget(id=1, name="x").save()
    await Gadget.sync_table()
    await Gadget(id=1, name="x").save()
    assert (await Gadget.get(id=1)).name == "x"
