"""Every CQL type saved and read back: the same value and the same Python type."""

from __future__ import annotations

import enum
import ipaddress
import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Annotated

import pytest

from coodie.aio import Document, Driver, UserType
from coodie.fields import (
    Ascii,
    BigInt,
    Float,
    Frozen,
    PrimaryKey,
    SmallInt,
    TimeUUID,
    TinyInt,
    VarInt,
    Vector,
)

pytestmark = [pytest.mark.anyio, pytest.mark.cluster]


class Colour(str, enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Address(UserType):
    street: str
    zip_code: int


class Place(UserType):
    label: str
    address: Address
    seen: datetime | None = None


class Everything(Document):
    id: Annotated[uuid.UUID, PrimaryKey()]
    text_value: str = ""
    ascii_value: Annotated[str, Ascii()] = ""
    int_value: int = 0
    bigint_value: Annotated[int, BigInt()] = 0
    smallint_value: Annotated[int, SmallInt()] = 0
    tinyint_value: Annotated[int, TinyInt()] = 0
    varint_value: Annotated[int, VarInt()] = 0
    double_value: float = 0.0
    float_value: Annotated[float, Float()] = 0.0
    bool_value: bool = False
    blob_value: bytes = b""
    decimal_value: Decimal = Decimal(0)
    timeuuid_value: Annotated[uuid.UUID | None, TimeUUID()] = None
    timestamp_value: datetime | None = None
    date_value: date | None = None
    time_value: time | None = None
    duration_value: timedelta | None = None
    inet4_value: ipaddress.IPv4Address | None = None
    inet6_value: ipaddress.IPv6Address | None = None
    colour: Colour = Colour.RED
    level: Level = Level.LOW
    tags: list[str] = []
    labels: set[str] = set()
    scores: dict[str, int] = {}
    pair: tuple[int, str] | None = None
    nested: list[Annotated[set[int], Frozen()]] = []
    frozen_map: Annotated[dict[str, list[int]], Frozen()] = {}
    home: Address | None = None
    places: list[Place] = []
    embedding: Annotated[list[float] | None, Vector(3)] = None
    maybe_tags: list[str] | None = None

    class Settings:
        name = "everything"


@pytest.fixture
async def table(coodie_driver: Driver) -> Driver:
    await Everything.sync_table()
    return coodie_driver


FULL = {
    "text_value": "héllo ☃",
    "ascii_value": "plain",
    "int_value": -(2**31),
    "bigint_value": 2**63 - 1,
    "smallint_value": -(2**15),
    "tinyint_value": 127,
    "varint_value": 10**40 + 7,
    "double_value": 0.1 + 0.2,
    "float_value": 0.1,
    "bool_value": True,
    "blob_value": bytes(range(256)),
    "decimal_value": Decimal("12345678901234567890.000000000123"),
    "timeuuid_value": uuid.uuid1(),
    "timestamp_value": datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=timezone.utc),
    "date_value": date(1969, 7, 20),
    "time_value": time(13, 37, 42, 999999),
    "duration_value": timedelta(days=3, hours=4, microseconds=5),
    "inet4_value": ipaddress.IPv4Address("192.0.2.1"),
    "inet6_value": ipaddress.IPv6Address("2001:db8::1"),
    "colour": Colour.GREEN,
    "level": Level.HIGH,
    "tags": ["b", "a", "b"],
    "labels": {"x", "y"},
    "scores": {"maths": 3, "art": -1},
    "pair": (7, "seven"),
    "nested": [{1, 2}, {3}],
    "frozen_map": {"k": [1, 2, 3]},
    "home": Address(street="1 Main St", zip_code=12345),
    "places": [
        Place(
            label="work",
            address=Address(street="2 High St", zip_code=1),
            seen=datetime(2020, 1, 1, tzinfo=timezone.utc),
        )
    ],
    "embedding": [0.1, 0.2, 0.3],
    "maybe_tags": ["z"],
}


async def test_every_type_reads_back_as_saved(table: Driver) -> None:
    document = Everything(id=uuid.uuid4(), **FULL)
    await document.save()

    loaded = await Everything.get(id=document.id)

    assert loaded == document
    for field in FULL:
        saved, read = getattr(document, field), getattr(loaded, field)
        assert type(read) is type(saved), field
        assert read == saved, field


async def test_stored_precision_is_visible_before_saving(table: Driver) -> None:
    document = Everything(id=uuid.uuid4(), **FULL)
    # Cassandra keeps milliseconds and float32 vectors; the document shows that.
    assert document.timestamp_value == datetime(
        2024, 2, 29, 23, 59, 59, 123000, tzinfo=timezone.utc
    )
    assert document.float_value != 0.1
    assert abs(document.float_value - 0.1) < 1e-7
    assert document.embedding is not None
    assert document.embedding[0] != 0.1


async def test_naive_and_offset_datetimes_come_back_as_utc(table: Driver) -> None:
    plus_two = timezone(timedelta(hours=2))
    document = Everything(
        id=uuid.uuid4(),
        timestamp_value=datetime(2024, 1, 1, 12, 0, tzinfo=plus_two),
    )
    await document.save()
    loaded = await Everything.get(id=document.id)
    assert loaded.timestamp_value == datetime(2024, 1, 1, 10, 0, tzinfo=timezone.utc)
    assert loaded.timestamp_value.tzinfo is timezone.utc  # type: ignore[union-attr]


async def test_empty_and_missing_collections_read_back_as_declared(
    table: Driver,
) -> None:
    document = Everything(id=uuid.uuid4())
    await document.save()
    loaded = await Everything.get(id=document.id)

    assert loaded.tags == []
    assert loaded.labels == set()
    assert loaded.scores == {}
    assert loaded.maybe_tags is None
    assert loaded.home is None
    assert loaded == document


async def test_values_that_do_not_fit_are_refused_before_sending(table: Driver) -> None:
    from coodie.exceptions import InvalidQueryError

    key = uuid.uuid4()
    with pytest.raises(InvalidQueryError, match=r"Everything.int_value.*BigInt"):
        await Everything(id=key, int_value=2**31).save()
    with pytest.raises(InvalidQueryError, match=r"Everything.ascii_value"):
        await Everything(id=key, ascii_value="naïve").save()
    with pytest.raises(InvalidQueryError, match=r"Everything.timeuuid_value"):
        await Everything(id=key, timeuuid_value=uuid.uuid4()).save()
    assert await Everything.find(id=key).count() == 0
