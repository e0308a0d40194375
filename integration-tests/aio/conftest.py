"""Fixtures for the async door's integration tests (the sync twin is generated)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from cassandra.cluster import Session

from coodie.aio import Driver, close_coodie, init_coodie


@pytest.fixture
async def coodie_driver(cql_session: Session, keyspace: str) -> AsyncIterator[Driver]:
    """coodie's default driver on the test session, in the module's keyspace."""
    driver = await init_coodie(session=cql_session, keyspace=keyspace)
    yield driver
    await close_coodie()
