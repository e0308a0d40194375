"""Versioned schema and data migrations, applied once, in order, under a lock.

A migration is a Python file in a migrations directory, named
``NNNN_description.py``, with an ``upgrade(ctx)`` function and optionally a
``downgrade(ctx)``. :class:`MigrationRunner` records each applied migration (with
the checksum of its file) in the ``coodie_migrations`` table of the keyspace, and
holds a lightweight-transaction lock while it works, so two runners started at
once never apply a migration twice: the second waits, then finds it applied.

The runner is blocking and talks to the database through one function,
``execute(cql, values) -> rows``; the front doors give it one backed by their
driver (``coodie.aio`` runs it in a worker thread).
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from coodie._naming import check_identifier, quote
from coodie.exceptions import MigrationError, MigrationLockError
from coodie.schema_diff import SchemaDiff

__all__ = [
    "Migration",
    "MigrationContext",
    "MigrationRunner",
    "MigrationState",
    "Progress",
    "load_migrations",
    "render_migration",
]

logger = logging.getLogger("coodie.migrations")

Execute = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
Progress = Callable[[str, int, int], None]

_FILE_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.py")
_LOCK_NAME = "migrate"
_TOKEN_MIN = -(2**63)
_TOKEN_MAX = 2**63 - 1


@dataclass(frozen=True)
class Migration:
    """One migration file: its id, checksum and steps."""

    id: str
    path: Path
    checksum: str
    description: str
    upgrade: Callable[[MigrationContext], Any]
    downgrade: Callable[[MigrationContext], Any] | None = None


@dataclass(frozen=True)
class MigrationState:
    """Where one migration stands: ``applied``, ``pending``, ``changed``, ``missing``.

    ``changed`` means the file differs from the one that was applied; ``missing``
    that an applied migration has no file any more.
    """

    id: str
    state: str
    applied_at: datetime | None = None


def load_migrations(directory: str | Path) -> list[Migration]:
    """Read the migration files of ``directory``, in order.

    :raises MigrationError: a file has no ``upgrade`` or two share a number.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise MigrationError(
            f"no migrations directory {str(folder)!r}; create it, or point "
            "--migrations at it"
        )
    migrations: list[Migration] = []
    numbers: dict[str, str] = {}
    for path in sorted(folder.glob("*.py")):
        match = _FILE_NAME.fullmatch(path.name)
        if match is None:
            continue
        number, name = match.groups()
        if number in numbers:
            raise MigrationError(
                f"migrations {numbers[number]} and {path.stem} share the number "
                f"{number}; renumber one of them"
            )
        numbers[number] = path.stem
        migrations.append(_load_file(path, name))
    return migrations


def _load_file(path: Path, name: str) -> Migration:
    source = path.read_bytes()
    spec = importlib.util.spec_from_file_location(f"coodie_migration_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise MigrationError(f"cannot import migration {path.name}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise MigrationError(
            f"migration {path.name} fails to import: {error}"
        ) from error
    upgrade = getattr(module, "upgrade", None)
    if not callable(upgrade):
        raise MigrationError(f"migration {path.name} has no upgrade(ctx) function")
    downgrade = getattr(module, "downgrade", None)
    description = (module.__doc__ or name.replace("_", " ")).strip().splitlines()[0]
    return Migration(
        id=path.stem,
        path=path,
        checksum=hashlib.sha256(source).hexdigest(),
        description=description,
        upgrade=upgrade,
        downgrade=downgrade if callable(downgrade) else None,
    )


@dataclass
class MigrationContext:
    """What a migration's ``upgrade`` / ``downgrade`` gets.

    ``{keyspace}`` in a statement is replaced by the keyspace being migrated, so
    one migration file serves every environment.
    """

    keyspace: str
    migration_id: str
    dry_run: bool
    _execute: Execute
    _progress: Progress | None = None
    statements: list[str] = field(default_factory=list)

    def execute(self, cql: str, values: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (in a dry run, only record it) and return its rows."""
        cql = cql.replace("{keyspace}", self.keyspace)
        self.statements.append(cql)
        if self.dry_run:
            return []
        logger.info("migration %s: %s", self.migration_id, cql)
        return self._execute(cql, values)

    def scan(
        self,
        table: str,
        columns: Sequence[str],
        partition_key: Sequence[str],
        *,
        slices: int = 64,
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Read a whole table in token-range slices, resumable after a failure.

        Yields the rows of one slice at a time. A slice counts as done when the
        loop asks for the next one, and is recorded in the database, so a
        migration run again after an interruption starts at the first slice not
        done (that slice is read again: make its writes idempotent).
        """
        check_identifier("table", table)
        selected = ", ".join(quote(name) for name in columns)
        token = f"token({', '.join(quote(name) for name in partition_key)})"
        cql = (
            f"SELECT {selected} FROM {quote(self.keyspace)}.{quote(table)} "
            f"WHERE {token} > ? AND {token} <= ?"
        )
        progress_table = f"{quote(self.keyspace)}.coodie_migration_progress"
        done = {
            row[0]
            for row in self._execute(
                f"SELECT slice FROM {progress_table} WHERE migration = ? AND scan = ?",
                [self.migration_id, table],
            )
        }
        bounds = _token_bounds(slices)
        for number, (start, end) in enumerate(bounds):
            if number in done:
                continue
            yield self._execute(cql, [start, end])
            if not self.dry_run:
                self._execute(
                    f"INSERT INTO {progress_table} (migration, scan, slice) "
                    "VALUES (?, ?, ?)",
                    [self.migration_id, table, number],
                )
            if self._progress is not None:
                self._progress(f"{self.migration_id}: {table}", number + 1, slices)


def _token_bounds(slices: int) -> list[tuple[int, int]]:
    if slices < 1:
        raise MigrationError("a scan needs at least one slice")
    width = (_TOKEN_MAX - _TOKEN_MIN) // slices
    edges = [_TOKEN_MIN + width * number for number in range(slices)] + [_TOKEN_MAX]
    return list(itertools.pairwise(edges))


class MigrationRunner:
    """Applies and rolls back the migrations of one directory in one keyspace.

    :param execute: runs one statement with ``?`` values and returns its rows.
    :param lock_wait: seconds to wait for another runner's lock before failing.
    :param lock_ttl: seconds after which a crashed runner's lock expires.
    :param progress: called as ``progress(label, done, total)`` while working.
    """

    def __init__(
        self,
        execute: Execute,
        keyspace: str,
        directory: str | Path,
        *,
        lock_wait: float = 120.0,
        lock_ttl: int = 600,
        progress: Progress | None = None,
    ) -> None:
        self.keyspace = check_identifier("keyspace", keyspace)
        self.directory = Path(directory)
        self.lock_wait = lock_wait
        self.lock_ttl = lock_ttl
        self.progress = progress
        self.owner = uuid.uuid4().hex
        self._execute = execute

    # -- bookkeeping ---------------------------------------------------------------

    def _table(self, name: str) -> str:
        return f"{quote(self.keyspace)}.{name}"

    def ensure_tables(self) -> None:
        """Create the tables that record migrations, the lock and scan progress."""
        self._execute(
            f"CREATE TABLE IF NOT EXISTS {self._table('coodie_migrations')} "
            "(id text PRIMARY KEY, checksum text, description text, "
            "applied_at timestamp)",
            [],
        )
        self._execute(
            f"CREATE TABLE IF NOT EXISTS {self._table('coodie_migration_lock')} "
            "(name text PRIMARY KEY, owner text, since timestamp)",
            [],
        )
        self._execute(
            f"CREATE TABLE IF NOT EXISTS {self._table('coodie_migration_progress')} "
            "(migration text, scan text, slice int, "
            "PRIMARY KEY ((migration, scan), slice))",
            [],
        )

    def _applied(self) -> dict[str, tuple[str, datetime | None]]:
        rows = self._execute(
            f"SELECT id, checksum, applied_at FROM {self._table('coodie_migrations')}",
            [],
        )
        return {row[0]: (row[1], row[2]) for row in rows}

    def status(self) -> list[MigrationState]:
        """Each migration, file or record, and where it stands."""
        self.ensure_tables()
        applied = self._applied()
        states = []
        for migration in load_migrations(self.directory):
            record = applied.pop(migration.id, None)
            if record is None:
                states.append(MigrationState(migration.id, "pending"))
            elif record[0] != migration.checksum:
                states.append(MigrationState(migration.id, "changed", record[1]))
            else:
                states.append(MigrationState(migration.id, "applied", record[1]))
        states.extend(
            MigrationState(missing, "missing", record[1])
            for missing, record in sorted(applied.items())
        )
        return states

    # -- the lock ----------------------------------------------------------------

    def _acquire(self) -> None:
        deadline = time.monotonic() + self.lock_wait
        while True:
            rows = self._execute(
                f"INSERT INTO {self._table('coodie_migration_lock')} "
                "(name, owner, since) VALUES (?, ?, ?) IF NOT EXISTS USING TTL ?",
                [_LOCK_NAME, self.owner, datetime.now(timezone.utc), self.lock_ttl],
            )
            if rows and rows[0][0]:
                return
            if time.monotonic() >= deadline:
                holder = rows[0] if rows else ()
                raise MigrationLockError(
                    f"another runner holds the migration lock of {self.keyspace} "
                    f"({holder!r}); wait for it to finish, or, if it crashed, for "
                    f"the lock to expire ({self.lock_ttl} s after it was taken)"
                )
            time.sleep(0.5)

    def _release(self) -> None:
        self._execute(
            f"DELETE FROM {self._table('coodie_migration_lock')} WHERE name = ? "
            "IF owner = ?",
            [_LOCK_NAME, self.owner],
        )

    # -- applying ------------------------------------------------------------------

    def migrate(self, target: str | None = None, dry_run: bool = False) -> list[str]:
        """Apply the pending migrations in order (up to ``target``).

        :returns: the ids applied; with ``dry_run``, the statements that would run.
        :raises MigrationError: a migration failed (it is not recorded, and the
            message says which statements ran), or an applied file has changed.
        :raises MigrationLockError: another runner kept the lock too long.
        """
        self.ensure_tables()
        migrations = load_migrations(self.directory)
        if target is not None and target not in {m.id for m in migrations}:
            raise MigrationError(f"no migration {target!r} in {self.directory}")
        if not dry_run:
            self._acquire()
        try:
            return self._apply_pending(migrations, target, dry_run)
        finally:
            if not dry_run:
                self._release()

    def _apply_pending(
        self, migrations: list[Migration], target: str | None, dry_run: bool
    ) -> list[str]:
        applied = self._applied()
        for migration in migrations:
            record = applied.get(migration.id)
            if record is not None and record[0] != migration.checksum:
                raise MigrationError(
                    f"migration {migration.id} was changed after it was applied; "
                    "restore the file and add a new migration for the change"
                )
        pending = [m for m in migrations if m.id not in applied]
        if target is not None:
            ids = [m.id for m in migrations]
            pending = [m for m in pending if ids.index(m.id) <= ids.index(target)]

        done: list[str] = []
        for number, migration in enumerate(pending):
            if self.progress is not None:
                self.progress(f"migrate {migration.id}", number, len(pending))
            context = self._context(migration, dry_run)
            self._run_step(migration, migration.upgrade, context, "upgrade")
            if dry_run:
                done.extend(context.statements)
                continue
            self._execute(
                f"INSERT INTO {self._table('coodie_migrations')} "
                "(id, checksum, description, applied_at) VALUES (?, ?, ?, ?) "
                "IF NOT EXISTS",
                [
                    migration.id,
                    migration.checksum,
                    migration.description,
                    datetime.now(timezone.utc),
                ],
            )
            done.append(migration.id)
            logger.info("applied migration %s", migration.id)
        if self.progress is not None and pending:
            self.progress("migrate", len(pending), len(pending))
        return done

    def rollback(self, steps: int = 1, dry_run: bool = False) -> list[str]:
        """Undo the last ``steps`` applied migrations with their ``downgrade``.

        :returns: the ids rolled back; with ``dry_run``, the statements.
        :raises MigrationError: a migration to undo has no downgrade or no file.
        """
        self.ensure_tables()
        by_id = {m.id: m for m in load_migrations(self.directory)}
        if not dry_run:
            self._acquire()
        try:
            applied = sorted(self._applied(), reverse=True)[:steps]
            done: list[str] = []
            for number, migration_id in enumerate(applied):
                migration = by_id.get(migration_id)
                if migration is None or migration.downgrade is None:
                    raise MigrationError(
                        f"migration {migration_id} cannot be rolled back: its file "
                        "is missing or has no downgrade(ctx)"
                    )
                if self.progress is not None:
                    self.progress(f"rollback {migration_id}", number, len(applied))
                context = self._context(migration, dry_run)
                self._run_step(migration, migration.downgrade, context, "downgrade")
                if dry_run:
                    done.extend(context.statements)
                    continue
                self._execute(
                    f"DELETE FROM {self._table('coodie_migrations')} WHERE id = ?",
                    [migration_id],
                )
                done.append(migration_id)
                logger.info("rolled back migration %s", migration_id)
            if self.progress is not None and applied:
                self.progress("rollback", len(applied), len(applied))
            return done
        finally:
            if not dry_run:
                self._release()

    def _context(self, migration: Migration, dry_run: bool) -> MigrationContext:
        return MigrationContext(
            self.keyspace, migration.id, dry_run, self._execute, self.progress
        )

    def _run_step(
        self,
        migration: Migration,
        step: Callable[[MigrationContext], Any],
        context: MigrationContext,
        name: str,
    ) -> None:
        try:
            step(context)
        except Exception as error:
            ran = context.statements[:-1] if context.statements else []
            shown = "; ".join(ran) or "none"
            raise MigrationError(
                f"{name} of migration {migration.id} failed: {error}. It is not "
                f"recorded as applied. Statements that had already run: {shown}. "
                "Fix the cause (or the migration) and run migrate again"
            ) from error


def render_migration(diffs: Sequence[SchemaDiff], description: str) -> str:
    """The text of a migration file that applies ``diffs`` in place.

    Differences Cassandra cannot apply in place are written as comments that say
    what to do by hand.
    """
    upgrade: list[str] = []
    downgrade: list[str] = []
    by_hand: list[str] = []
    for diff in diffs:
        for change in diff.changes:
            if change.statement is None:
                by_hand.append(f"{diff.model_name}: {change}")
                continue
            upgrade.append(change.statement)
            undo = _undo(change.kind, change.statement, change.target)
            if undo is not None:
                downgrade.insert(0, undo)

    lines = [
        f'"""{description}."""',
        "",
        "from coodie.migrations import MigrationContext",
        "",
    ]
    if by_hand:
        lines.append("# Not applied here: these need a new table and a data copy")
        lines.append("# (read the old table with ctx.scan(...)):")
        lines.extend(f"#   {item}" for item in by_hand)
        lines.append("")
    lines.extend(["", "def upgrade(ctx: MigrationContext) -> None:"])
    lines.extend(f"    ctx.execute({_keyspace_free(cql)!r})" for cql in upgrade)
    if not upgrade:
        lines.append("    pass")
    lines.extend(["", "", "def downgrade(ctx: MigrationContext) -> None:"])
    lines.extend(f"    ctx.execute({_keyspace_free(cql)!r})" for cql in downgrade)
    if not downgrade:
        lines.append("    pass")
    return "\n".join(lines) + "\n"


def _keyspace_free(cql: str) -> str:
    return re.sub(r'"[A-Za-z][A-Za-z0-9_]*"\.', '"{keyspace}".', cql, count=1)


def _undo(kind: str, statement: str, target: str) -> str | None:
    if kind == "add":
        table = statement.split(" ADD ", 1)[0].removeprefix("ALTER TABLE ")
        return f"ALTER TABLE {table} DROP {quote(target)}"
    if kind == "add index":
        keyspace = statement.split(" ON ", 1)[1].split(".", 1)[0]
        return f"DROP INDEX IF EXISTS {keyspace}.{quote(target)}"
    if kind == "create":
        table = statement.split(" (", 1)[0].split()[-1]
        return f"DROP TABLE IF EXISTS {table}"
    return None
