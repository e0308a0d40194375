"""Versioned migrations from an application: apply, roll back, report.

The same operations as the ``coodie`` command line, for applications that
migrate when they start. The runner itself blocks; ``coodie.aio`` runs it in a
worker thread so the event loop stays free.
"""

from __future__ import annotations

from pathlib import Path

from coodie._cassandra import blocking_executor
from coodie.aio._driver import Driver, run_blocking
from coodie.aio.connection import get_driver
from coodie.exceptions import ConfigurationError
from coodie.migrations import MigrationRunner, MigrationState, Progress

__all__ = ["migrate", "migration_status", "rollback_migrations"]


def _runner(
    directory: str | Path,
    keyspace: str | None,
    driver: str,
    progress: Progress | None,
    lock_wait: float,
) -> MigrationRunner:
    target: Driver = get_driver(driver)
    keyspace = keyspace or target.keyspace
    if keyspace is None:
        raise ConfigurationError(
            "migrations need a keyspace: pass keyspace= or give init_coodie() one"
        )
    return MigrationRunner(
        blocking_executor(target.session),
        keyspace,
        directory,
        progress=progress,
        lock_wait=lock_wait,
    )


async def migrate(
    directory: str | Path,
    *,
    keyspace: str | None = None,
    target: str | None = None,
    dry_run: bool = False,
    driver: str = "default",
    progress: Progress | None = None,
    lock_wait: float = 120.0,
) -> list[str]:
    """Apply the pending migrations of ``directory`` in order, under a lock.

    :param target: stop after this migration id.
    :param dry_run: run nothing; return the statements that would run.
    :param lock_wait: seconds to wait while another runner holds the lock.
    :returns: the ids applied (with ``dry_run``, the statements).
    :raises MigrationError: a migration failed or an applied file has changed.
    :raises MigrationLockError: the lock stayed taken longer than ``lock_wait``.
    """
    runner = _runner(directory, keyspace, driver, progress, lock_wait)
    return await run_blocking(runner.migrate, target, dry_run)


async def rollback_migrations(
    directory: str | Path,
    *,
    keyspace: str | None = None,
    steps: int = 1,
    dry_run: bool = False,
    driver: str = "default",
    progress: Progress | None = None,
    lock_wait: float = 120.0,
) -> list[str]:
    """Undo the last ``steps`` applied migrations with their ``downgrade``.

    :raises MigrationError: a migration has no downgrade or its file is gone.
    """
    runner = _runner(directory, keyspace, driver, progress, lock_wait)
    return await run_blocking(runner.rollback, steps, dry_run)


async def migration_status(
    directory: str | Path,
    *,
    keyspace: str | None = None,
    driver: str = "default",
) -> list[MigrationState]:
    """Each migration and whether it is applied, pending, changed or missing."""
    runner = _runner(directory, keyspace, driver, None, 0.0)
    return await run_blocking(runner.status)
