# Generated from integration-tests/aio/test_documented_api.py by scripts/generate_sync.py: do not edit.
# Change the async module and run the script again.
"""The sync-vs-async page, section by section, against the real node.

Written once for ``coodie.sync``; ``scripts/generate_sync.py`` derives the
``coodie.sync`` twin. The async tests run on asyncio and on trio.
"""

from __future__ import annotations

import uuid
from typing import Annotated
from uuid import UUID, uuid4

import pytest
from pydantic import Field

from coodie.exceptions import (
    ConfigurationError,
    DocumentNotFound,
    InvalidQueryError,
    MultipleDocumentsFound,
)
from coodie.fields import ClusteringKey, Indexed, PrimaryKey
from coodie.sync import (
    BatchQuery,
    Document,
    Driver,
    QuerySet,
    create_keyspace,
    drop_keyspace,
    execute_raw,
    init_coodie,
)

pytestmark = [pytest.mark.cluster]


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
def tables(coodie_driver: Driver) -> Driver:
    User.sync_table()
    Post.sync_table()
    User.truncate()
    Post.truncate()
    return coodie_driver


def test_crud_round_trip(tables: Driver) -> None:
    user = User(name="Alice", email="alice@example.com")
    user.save()

    loaded = User.get(id=user.id)
    assert loaded == user

    user.update(name="Bob")
    assert user.name == "Bob"
    assert (User.get(id=user.id)).name == "Bob"

    user.delete()
    with pytest.raises(DocumentNotFound, match="no User with id="):
        User.get(id=user.id)


def test_find_count_and_create(tables: Driver) -> None:
    User(name="Alice", email="a@example.com").save()
    User(name="Alice", email="a2@example.com").save()
    User(name="Zoe", email="z@example.com").save()

    alices = User.find(name="Alice").all()
    assert sorted(user.email for user in alices) == ["a2@example.com", "a@example.com"]
    assert User.find().count() == 3

    carol = User.find().create(name="Carol", email="carol@example.com")
    assert (User.get(id=carol.id)).email == "carol@example.com"
    assert User.find().count() == 4


def test_find_one_and_missing(tables: Driver) -> None:
    assert User.find_one(name="Nobody") is None
    User(name="Eve", email="e1@example.com").save()
    assert (User.find_one(name="Eve")).email == "e1@example.com"  # type: ignore[union-attr]
    User(name="Eve", email="e2@example.com").save()
    with pytest.raises(MultipleDocumentsFound):
        User.find_one(name="Eve")


def test_batch_sends_all_or_nothing(tables: Driver) -> None:
    first = User(name="B1", email="b1@example.com")
    second = User(name="B2", email="b2@example.com")
    with BatchQuery() as batch:
        first.save(batch=batch)
        second.save(batch=batch)
        assert User.find().count() == 0, "nothing is sent before the block ends"
    assert User.find().count() == 2

    third = User(name="B3", email="b3@example.com")
    with pytest.raises(RuntimeError):
        with BatchQuery() as batch:
            third.save(batch=batch)
            raise RuntimeError("the block fails")
    assert User.find().count() == 2, "a failed block sends nothing"


def test_batch_mixes_models(tables: Driver) -> None:
    with BatchQuery() as batch:
        User(name="M", email="m@example.com").save(batch=batch)
        Post(author="m", number=1, title="hello").save(batch=batch)
    assert User.find().count() == 1
    assert (Post.get(author="m", number=1)).title == "hello"


def test_execute_raw_binds_parameters(tables: Driver) -> None:
    user = User(name="Raw", email="raw@example.com")
    user.save()
    rows = execute_raw("SELECT * FROM users WHERE id = ?", [user.id])
    assert [row["email"] for row in rows] == ["raw@example.com"]

    # A value that looks like CQL stays a value.
    hostile = "x'; DROP TABLE users; --"
    User(name=hostile, email="h@example.com").save()
    rows = execute_raw("SELECT * FROM users WHERE name = ?", [hostile])
    assert [row["email"] for row in rows] == ["h@example.com"]
    assert User.find().count() == 2


def test_execute_raw_refuses_wrong_parameter_count(tables: Driver) -> None:
    with pytest.raises(InvalidQueryError):
        execute_raw("SELECT * FROM users WHERE id = ?", [uuid4(), uuid4()])


def test_keyspace_management(tables: Driver) -> None:
    name = f"coodie_ks_{uuid.uuid4().hex[:8]}"
    create_keyspace(name, replication_factor=1)
    rows = execute_raw(
        "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?",
        [name],
    )
    assert len(rows) == 1
    drop_keyspace(name)
    rows = execute_raw(
        "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?",
        [name],
    )
    assert rows == []


def test_querysets_are_immutable_and_chainable(tables: Driver) -> None:
    for number in range(5):
        Post(author="ann", number=number, title=f"t{number}").save()

    base = Post.find(author="ann")
    newest_two = base.limit(2)
    assert isinstance(newest_two, QuerySet)
    assert [post.number for post in newest_two.all()] == [4, 3]
    assert len(base.all()) == 5, "limit() did not change the original"

    oldest_first = base.order_by("number")
    assert [post.number for post in oldest_first.all()] == [0, 1, 2, 3, 4]
    assert [post.number for post in base.filter(number__gte=3).all()] == [4, 3]
    assert [post.number for post in base.filter(number__in=[1, 3]).all()] == [
        3,
        1,
    ]

    streamed = [post.number for post in base.fetch_size(2)]
    assert streamed == [4, 3, 2, 1, 0]

    only_titles = base.only("title").limit(1).all()
    assert only_titles[0].title == "t4"
    assert only_titles[0].views == 0

    assert base.values_list("number", flat=True) == [4, 3, 2, 1, 0]


def test_queryset_update_and_delete(tables: Driver) -> None:
    for number in range(3):
        Post(author="bob", number=number, title="draft").save()

    Post.find(author="bob", number=1).update(title="final")
    assert (Post.get(author="bob", number=1)).title == "final"

    Post.find(author="bob", number=0).delete()
    assert [post.number for post in Post.find(author="bob").all()] == [2, 1]

    Post.find(author="bob").delete()
    assert Post.find(author="bob").count() == 0


def test_filter_that_needs_allow_filtering_says_so(tables: Driver) -> None:
    Post(author="carl", number=1, title="x").save()
    with pytest.raises(InvalidQueryError, match="allow_filtering"):
        Post.find(title="x").all()
    posts = Post.find(title="x").allow_filtering().all()
    assert [post.author for post in posts] == ["carl"]


def test_bad_input_is_refused_before_sending(tables: Driver) -> None:
    with pytest.raises(InvalidQueryError, match=r"User has no field 'nmae'.*name"):
        User.find(nmae="x")
    with pytest.raises(InvalidQueryError, match=r"unknown lookup 'near'"):
        User.find(name__near="x")
    with pytest.raises(InvalidQueryError, match=r"User.id is compared with"):
        User.get(id="not-a-uuid")
    with pytest.raises(InvalidQueryError, match=r"whole primary key"):
        Post.get(author="x")
    with pytest.raises(InvalidQueryError, match=r"Post.author .* cannot be empty"):
        Post(author="", number=1, title="t").save()
    assert Post.find().count() == 0


def test_named_drivers_route_models(tables: Driver) -> None:
    class Audit(Document):
        id: Annotated[UUID, PrimaryKey()] = Field(default_factory=uuid4)
        note: str

        class Settings:
            name = "audit"
            driver = "audit"

    with pytest.raises(ConfigurationError, match="no coodie.sync driver named 'audit'"):
        Audit(note="x").save()

    init_coodie(session=tables.session, keyspace=tables.keyspace, name="audit")
    Audit.sync_table()
    entry = Audit(note="routed")
    entry.save()
    assert (Audit.get(id=entry.id)).note == "routed"
