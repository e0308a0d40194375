"""The sync-vs-async page, section by section, against the real node.

Written once for ``coodie.aio``; ``scripts/generate_sync.py`` derives the
``coodie.sync`` twin. The async tests run on asyncio and on trio.
"""

from __future__ import annotations

import uuid
from typing import Annotated
from uuid import UUID, uuid4

import pytest
from pydantic import Field

from coodie.aio import (
    AsyncBatchQuery,
    Document,
    Driver,
    QuerySet,
    create_keyspace,
    drop_keyspace,
    execute_raw,
    init_coodie,
)
from coodie.exceptions import (
    ConfigurationError,
    DocumentNotFound,
    InvalidQueryError,
    MultipleDocumentsFound,
)
from coodie.fields import ClusteringKey, Indexed, PrimaryKey

pytestmark = [pytest.mark.anyio, pytest.mark.cluster]


class User(Document):
    id: Annotated[UUID, PrimaryKey()] = Field(default_factory=uuid4)
    name: Annotated[str, Indexed()]
    email: str

    class Settings:
        name = "users"


class Post(Document):
    author: Annotated[str, PrimaryKey()]
    number: Annotated[int, ClusteringKey(order="DESC")]
    title: str
    views: int = 0

    class Settings:
        name = "posts"


@pytest.fixture
async def tables(coodie_driver: Driver) -> Driver:
    await User.sync_table()
    await Post.sync_table()
    await User.truncate()
    await Post.truncate()
    return coodie_driver


async def test_crud_round_trip(tables: Driver) -> None:
    user = User(name="Alice", email="alice@example.com")
    await user.save()

    loaded = await User.get(id=user.id)
    assert loaded == user

    await user.update(name="Bob")
    assert user.name == "Bob"
    assert (await User.get(id=user.id)).name == "Bob"

    await user.delete()
    with pytest.raises(DocumentNotFound, match="no User with id="):
        await User.get(id=user.id)


async def test_find_count_and_create(tables: Driver) -> None:
    await User(name="Alice", email="a@example.com").save()
    await User(name="Alice", email="a2@example.com").save()
    await User(name="Zoe", email="z@example.com").save()

    alices = await User.find(name="Alice").all()
    assert sorted(user.email for user in alices) == ["a2@example.com", "a@example.com"]
    assert await User.find().count() == 3

    carol = await User.find().create(name="Carol", email="carol@example.com")
    assert (await User.get(id=carol.id)).email == "carol@example.com"
    assert await User.find().count() == 4


async def test_find_one_and_missing(tables: Driver) -> None:
    assert await User.find_one(name="Nobody") is None
    await User(name="Eve", email="e1@example.com").save()
    assert (await User.find_one(name="Eve")).email == "e1@example.com"  # type: ignore[union-attr]
    await User(name="Eve", email="e2@example.com").save()
    with pytest.raises(MultipleDocumentsFound):
        await User.find_one(name="Eve")


async def test_batch_sends_all_or_nothing(tables: Driver) -> None:
    first = User(name="B1", email="b1@example.com")
    second = User(name="B2", email="b2@example.com")
    async with AsyncBatchQuery() as batch:
        await first.save(batch=batch)
        await second.save(batch=batch)
        assert await User.find().count() == 0, "nothing is sent before the block ends"
    assert await User.find().count() == 2

    async def save_then_fail() -> None:
        async with AsyncBatchQuery() as batch:
            await User(name="B3", email="b3@example.com").save(batch=batch)
            raise RuntimeError("the block fails")

    with pytest.raises(RuntimeError):
        await save_then_fail()
    assert await User.find().count() == 2, "a failed block sends nothing"


async def test_batch_mixes_models(tables: Driver) -> None:
    async with AsyncBatchQuery() as batch:
        await User(name="M", email="m@example.com").save(batch=batch)
        await Post(author="m", number=1, title="hello").save(batch=batch)
    assert await User.find().count() == 1
    assert (await Post.get(author="m", number=1)).title == "hello"


async def test_execute_raw_binds_parameters(tables: Driver) -> None:
    user = User(name="Raw", email="raw@example.com")
    await user.save()
    rows = await execute_raw("SELECT * FROM users WHERE id = ?", [user.id])
    assert [row["email"] for row in rows] == ["raw@example.com"]

    # A value that looks like CQL stays a value.
    hostile = "x'; DROP TABLE users; --"
    await User(name=hostile, email="h@example.com").save()
    rows = await execute_raw("SELECT * FROM users WHERE name = ?", [hostile])
    assert [row["email"] for row in rows] == ["h@example.com"]
    assert await User.find().count() == 2


async def test_execute_raw_refuses_wrong_parameter_count(tables: Driver) -> None:
    with pytest.raises(InvalidQueryError):
        await execute_raw("SELECT * FROM users WHERE id = ?", [uuid4(), uuid4()])


async def test_keyspace_management(tables: Driver) -> None:
    name = f"coodie_ks_{uuid.uuid4().hex[:8]}"
    await create_keyspace(name, replication_factor=1)
    rows = await execute_raw(
        "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?",
        [name],
    )
    assert len(rows) == 1
    await drop_keyspace(name)
    rows = await execute_raw(
        "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?",
        [name],
    )
    assert rows == []


async def test_querysets_are_immutable_and_chainable(tables: Driver) -> None:
    for number in range(5):
        await Post(author="ann", number=number, title=f"t{number}").save()

    base = Post.find(author="ann")
    newest_two = base.limit(2)
    assert isinstance(newest_two, QuerySet)
    assert [post.number for post in await newest_two.all()] == [4, 3]
    assert len(await base.all()) == 5, "limit() did not change the original"

    oldest_first = base.order_by("number")
    assert [post.number for post in await oldest_first.all()] == [0, 1, 2, 3, 4]
    assert [post.number for post in await base.filter(number__gte=3).all()] == [4, 3]
    assert [post.number for post in await base.filter(number__in=[1, 3]).all()] == [
        3,
        1,
    ]

    streamed = [post.number async for post in base.fetch_size(2)]
    assert streamed == [4, 3, 2, 1, 0]

    only_titles = await base.only("title").limit(1).all()
    assert only_titles[0].title == "t4"
    assert only_titles[0].views == 0

    assert await base.values_list("number", flat=True) == [4, 3, 2, 1, 0]


async def test_queryset_update_and_delete(tables: Driver) -> None:
    for number in range(3):
        await Post(author="bob", number=number, title="draft").save()

    await Post.find(author="bob", number=1).update(title="final")
    assert (await Post.get(author="bob", number=1)).title == "final"

    await Post.find(author="bob", number=0).delete()
    assert [post.number for post in await Post.find(author="bob").all()] == [2, 1]

    await Post.find(author="bob").delete()
    assert await Post.find(author="bob").count() == 0


async def test_filter_that_needs_allow_filtering_says_so(tables: Driver) -> None:
    await Post(author="carl", number=1, title="x").save()
    with pytest.raises(InvalidQueryError, match="allow_filtering"):
        await Post.find(title="x").all()
    posts = await Post.find(title="x").allow_filtering().all()
    assert [post.author for post in posts] == ["carl"]


async def test_bad_input_is_refused_before_sending(tables: Driver) -> None:
    with pytest.raises(InvalidQueryError, match=r"User has no field 'nmae'.*name"):
        User.find(nmae="x")
    with pytest.raises(InvalidQueryError, match=r"unknown lookup 'near'"):
        User.find(name__near="x")
    with pytest.raises(InvalidQueryError, match=r"User.id is compared with"):
        await User.get(id="not-a-uuid")
    with pytest.raises(InvalidQueryError, match=r"whole primary key"):
        await Post.get(author="x")
    with pytest.raises(InvalidQueryError, match=r"Post.author .* cannot be empty"):
        await Post(author="", number=1, title="t").save()
    assert await Post.find().count() == 0


async def test_named_drivers_route_models(tables: Driver) -> None:
    class Audit(Document):
        id: Annotated[UUID, PrimaryKey()] = Field(default_factory=uuid4)
        note: str

        class Settings:
            name = "audit"
            driver = "audit"

    with pytest.raises(ConfigurationError, match="driver named 'audit'"):
        await Audit(note="x").save()

    await init_coodie(session=tables.session, keyspace=tables.keyspace, name="audit")
    await Audit.sync_table()
    entry = Audit(note="routed")
    await entry.save()
    assert (await Audit.get(id=entry.id)).note == "routed"
