# Generated from integration-tests/aio/conftest.py by scripts/generate_sync.py: do not edit.
# Change the async module and run the script again.
"""Fixtures for the async door's integration tests (the sync twin is generated)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cassandra.cluster import Session

from coodie.sync import Driver, close_coodie, init_coodie


@pytest.fixture
def coodie_driver(cql_session: Session, keyspace: str) -> Iterator[Driver]:
    """coodie's default driver on the test session, in the module's keyspace."""
    driver = init_coodie(session=cql_session, keyspace=keyspace)
    yield driver
    close_coodie()
