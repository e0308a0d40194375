"""Helpers for the tests that run the documentation's examples against the node."""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from cassandra.cluster import Session

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _load_example(name: str) -> ModuleType:
    path = EXAMPLES / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"coodie_example_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def load_example() -> Callable[[str], ModuleType]:
    """Import ``examples/<name>.py`` as a module (the folder is not a package)."""
    return _load_example


@pytest.fixture
def drop_keyspace_around(
    cql_session: Session,
) -> Iterator[Callable[[str], None]]:
    """Drop an example's keyspace now and again after the test."""
    names: list[str] = []

    def drop(name: str) -> None:
        names.append(name)
        cql_session.execute(f"DROP KEYSPACE IF EXISTS {name}")

    yield drop
    for name in names:
        cql_session.execute(f"DROP KEYSPACE IF EXISTS {name}")


@pytest.fixture(autouse=True)
def restore_coodie_logging() -> Iterator[None]:
    """Pages configure logging as a user would; later tests get it back as it was."""
    loggers = [
        logging.getLogger(name) for name in ("coodie", "coodie.aio", "coodie.sync")
    ]
    levels = [logger.level for logger in loggers]
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)
