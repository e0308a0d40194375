"""A trio worker that ingests sensor readings and then summarises them.

A producer sends readings into a memory channel; a pool of writer tasks in a
nursery saves them concurrently through coodie.aio. A streaming read then walks
each sensor's partition page by page. Run it with ``python examples/trio_worker.py``
(``pip install "coodie-aio[trio]"``); the hosts come from ``COODIE_HOSTS``
(comma-separated, ``127.0.0.1`` by default).
"""

from __future__ import annotations

import math
import os
from datetime import datetime, timedelta, timezone
from typing import Annotated

import trio

from coodie.aio import Document, close_coodie, create_keyspace, init_coodie
from coodie.fields import ClusteringKey, PrimaryKey

HOSTS = os.environ.get("COODIE_HOSTS", "127.0.0.1").split(",")
KEYSPACE = "coodie_example_trio"
SENSORS = ("north", "south", "east")
READINGS_PER_SENSOR = 300
WRITERS = 16


class Reading(Document):
    sensor: Annotated[str, PrimaryKey()]
    at: Annotated[datetime, ClusteringKey()]
    celsius: float

    class Settings:
        name = "readings"


async def produce(outbox: trio.MemorySendChannel[Reading]) -> None:
    """Make a day of readings per sensor, one every five minutes."""
    start = datetime(2024, 6, 1, tzinfo=timezone.utc)
    async with outbox:
        for number in range(READINGS_PER_SENSOR):
            at = start + timedelta(minutes=5 * number)
            for offset, sensor in enumerate(SENSORS):
                celsius = 15 + offset + 5 * math.sin(number / 40)
                await outbox.send(Reading(sensor=sensor, at=at, celsius=celsius))


async def write(inbox: trio.MemoryReceiveChannel[Reading]) -> None:
    async with inbox:
        async for reading in inbox:
            await reading.save()


async def summarise(sensor: str) -> tuple[int, float, float]:
    """Stream a sensor's readings 100 at a time: count, lowest and highest."""
    count, lowest, highest = 0, math.inf, -math.inf
    async for reading in Reading.find(sensor=sensor).fetch_size(100):
        count += 1
        lowest = min(lowest, reading.celsius)
        highest = max(highest, reading.celsius)
    return count, lowest, highest


async def main() -> dict[str, tuple[int, float, float]]:
    await init_coodie(hosts=HOSTS, keyspace=KEYSPACE)
    try:
        await create_keyspace(KEYSPACE, replication_factor=1)
        await Reading.sync_table()

        outbox, inbox = trio.open_memory_channel[Reading](WRITERS * 2)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(produce, outbox)
            for _ in range(WRITERS):
                nursery.start_soon(write, inbox.clone())
            await inbox.aclose()

        summary = {sensor: await summarise(sensor) for sensor in SENSORS}
        for sensor, (count, lowest, highest) in summary.items():
            print(f"{sensor}: {count} readings, {lowest:.1f} to {highest:.1f} °C")
        return summary
    finally:
        await close_coodie()


if __name__ == "__main__":
    trio.run(main)
