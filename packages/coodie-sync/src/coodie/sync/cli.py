"""The ``coodie`` command: schema differences and versioned migrations.

It ships with coodie-sync because a command line is a blocking program: it needs
no event loop, and installing it pulls in no anyio. Run ``coodie --help``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from coodie._cassandra import blocking_executor
from coodie.document import DocumentBase
from coodie.exceptions import CoodieError
from coodie.migrations import (
    MigrationRunner,
    load_migrations,
    render_migration,
)
from coodie.schema_diff import SchemaDiff, diff_table
from coodie.sync.connection import close_coodie, get_driver, init_coodie
from coodie.types import user_type_name

__all__ = ["main"]

_STATE_MARKS = {"applied": "[x]", "pending": "[ ]", "changed": "[!]", "missing": "[?]"}


class ProgressBar:
    """A one-line progress bar on a terminal; plain lines elsewhere."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.interactive = stream.isatty()

    def __call__(self, label: str, done: int, total: int) -> None:
        filled = self.width * done // total if total else self.width
        bar = "#" * filled + "." * (self.width - filled)
        line = f"[{bar}] {done}/{total} {label}"
        if self.interactive:
            end = "\n" if done >= total else ""
            self.stream.write(f"\r\033[K{line}{end}")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coodie",
        description="Compare models with their tables and run versioned migrations.",
    )
    parser.add_argument(
        "--hosts",
        default=os.environ.get("COODIE_HOSTS", "127.0.0.1"),
        help="contact points, comma-separated (default: $COODIE_HOSTS or 127.0.0.1)",
    )
    parser.add_argument("--port", type=int, default=9042)
    parser.add_argument(
        "--keyspace",
        default=os.environ.get("COODIE_KEYSPACE"),
        help="the keyspace to migrate (default: $COODIE_KEYSPACE)",
    )
    parser.add_argument("--username", default=os.environ.get("COODIE_USERNAME"))
    parser.add_argument(
        "--password-env",
        default="COODIE_PASSWORD",
        help="the environment variable that holds the password",
    )
    parser.add_argument(
        "--migrations",
        default="migrations",
        help="the migrations directory (default: ./migrations)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("status", help="list migrations and whether they are applied")

    diff = commands.add_parser("diff", help="show how models differ from their tables")
    diff.add_argument("models", help="the module that defines the models, a.b.c")

    make = commands.add_parser("make", help="write a migration from the differences")
    make.add_argument("models", help="the module that defines the models, a.b.c")
    make.add_argument("name", help="what the migration does, e.g. add_email")

    migrate = commands.add_parser("migrate", help="apply the pending migrations")
    migrate.add_argument("--target", help="stop after this migration id")
    migrate.add_argument("--dry-run", action="store_true", help="print, run nothing")

    rollback = commands.add_parser("rollback", help="undo the last migrations")
    rollback.add_argument("--steps", type=int, default=1)
    rollback.add_argument("--dry-run", action="store_true", help="print, run nothing")
    return parser


def _models(module_name: str) -> list[type[DocumentBase]]:
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise CoodieError(f"cannot import {module_name!r}: {error}") from error
    models = []
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, DocumentBase)
            and not value.__dict__.get("__coodie_abstract__", False)
            and not value.__coodie_read_only__
            and value.__module__ == module.__name__
        ):
            models.append(value)
    if not models:
        raise CoodieError(f"{module_name} defines no Document classes")
    return models


def _diffs(module_name: str, keyspace: str | None) -> list[SchemaDiff]:
    driver = get_driver()
    diffs = []
    seen = set()
    for model in _models(module_name):
        schema = model.storage_schema()
        target = schema.keyspace or keyspace
        if target is None:
            raise CoodieError(
                f"{model.__name__} names no keyspace; pass --keyspace or set "
                "Settings.keyspace"
            )
        if (target, schema.table) in seen:
            continue
        seen.add((target, schema.table))
        live = driver.table_metadata(target, schema.table)
        live_types = driver.user_types(
            target, [user_type_name(t) for t in schema.user_types]
        )
        diffs.append(diff_table(schema, live, target, live_types))
    return diffs


def _run(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    password = os.environ.get(arguments.password_env)
    init_coodie(
        hosts=arguments.hosts,
        port=arguments.port,
        keyspace=arguments.keyspace,
        username=arguments.username,
        password=password,
    )
    try:
        if arguments.command in ("diff", "make"):
            diffs = _diffs(arguments.models, arguments.keyspace)
            if arguments.command == "diff":
                for diff in diffs:
                    out.write(f"{diff}\n")
                return 0
            return _make(arguments, diffs, out)

        if not arguments.keyspace:
            raise CoodieError("migrations need --keyspace (or $COODIE_KEYSPACE)")
        runner = MigrationRunner(
            blocking_executor(get_driver().session),
            arguments.keyspace,
            arguments.migrations,
            progress=ProgressBar(err),
        )
        if arguments.command == "status":
            for state in runner.status():
                when = (
                    f"  {state.applied_at:%Y-%m-%d %H:%M:%S}"
                    if state.applied_at
                    else ""
                )
                mark = _STATE_MARKS[state.state]
                out.write(f"{mark} {state.id} ({state.state}){when}\n")
            return 0
        if arguments.command == "migrate":
            done = runner.migrate(arguments.target, arguments.dry_run)
        else:
            done = runner.rollback(arguments.steps, arguments.dry_run)
        verb = {"migrate": "applied", "rollback": "rolled back"}[arguments.command]
        if arguments.dry_run:
            out.write("".join(f"{statement};\n" for statement in done))
        elif done:
            out.write("".join(f"{verb} {migration_id}\n" for migration_id in done))
        else:
            out.write("nothing to do\n")
        return 0
    finally:
        close_coodie()


def _make(arguments: argparse.Namespace, diffs: list[SchemaDiff], out: TextIO) -> int:
    changes = [diff for diff in diffs if not diff.is_empty]
    if not changes:
        out.write("models and tables match: no migration written\n")
        return 0
    directory = Path(arguments.migrations)
    directory.mkdir(parents=True, exist_ok=True)
    existing = load_migrations(directory)
    number = int(existing[-1].id[:4]) + 1 if existing else 1
    name = "".join(c if c.isalnum() else "_" for c in arguments.name.lower())
    path = directory / f"{number:04d}_{name}.py"
    path.write_text(render_migration(changes, arguments.name.replace("_", " ")))
    out.write(f"wrote {path}\n")
    for diff in changes:
        out.write(f"{diff}\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``coodie`` command; returns the exit status."""
    arguments = _parser().parse_args(argv)
    try:
        return _run(arguments, sys.stdout, sys.stderr)
    except CoodieError as error:
        sys.stderr.write(f"coodie: error: {error}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
