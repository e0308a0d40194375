"""Save and read a document through both front doors of coodie.

Run it with ``integration-tests/run-demo``, which starts a local Cassandra node
when ``COODIE_HOSTS`` names none.
"""

from __future__ import annotations

import asyncio
import os
from datetime import datetime, timezone
from typing import Annotated
from uuid import UUID, uuid4

import trio
from pydantic import BaseModel, Field

import coodie.aio
import coodie.sync
from coodie.fields import Indexed, PrimaryKey

HOSTS = os.environ.get("COODIE_HOSTS", "127.0.0.1").split(",")
KEYSPACE = "coodie_quickstart"


class UserFields(BaseModel):
    """The fields of a user, shared by the model of each front door."""

    id: Annotated[UUID, PrimaryKey()] = Field(default_factory=uuid4)
    name: Annotated[str, Indexed()]
    email: str
    joined: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))


class SyncUser(coodie.sync.Document, UserFields):
    class Settings:
        name = "users"


class AsyncUser(coodie.aio.Document, UserFields):
    class Settings:
        name = "users"


def with_sync_door() -> None:
    coodie.sync.init_coodie(hosts=HOSTS, keyspace=KEYSPACE)
    coodie.sync.create_keyspace(KEYSPACE, replication_factor=1)
    SyncUser.sync_table()

    alice = SyncUser(name="Alice", email="alice@example.com")
    alice.save()
    loaded = SyncUser.get(id=alice.id)
    print(f"coodie.sync  saved and read back: {loaded.name} <{loaded.email}>")
    assert loaded == alice
    coodie.sync.close_coodie()


async def with_async_door(loop_name: str) -> None:
    await coodie.aio.init_coodie(hosts=HOSTS, keyspace=KEYSPACE)
    await AsyncUser.sync_table()

    bob = AsyncUser(name="Bob", email=f"bob@{loop_name}.example.com")
    await bob.save()
    loaded = await AsyncUser.get(id=bob.id)
    print(f"coodie.aio   saved and read back on {loop_name}: {loaded.email}")
    assert loaded == bob

    everyone = await AsyncUser.find().count()
    print(f"coodie.aio   {everyone} users in {KEYSPACE}.users")
    await coodie.aio.close_coodie()


def main() -> None:
    with_sync_door()
    asyncio.run(with_async_door("asyncio"))
    trio.run(with_async_door, "trio")
    coodie.sync.init_coodie(hosts=HOSTS)
    coodie.sync.drop_keyspace(KEYSPACE)
    coodie.sync.close_coodie()


if __name__ == "__main__":
    main()
