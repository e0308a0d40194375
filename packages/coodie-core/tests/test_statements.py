"""Writes and lookups of one document: text, bound values and request flags."""

import datetime as dt
import enum
import ipaddress
import uuid
from typing import Annotated, Any, ClassVar

import pytest
from pydantic import Field

from coodie.document import DocumentBase
from coodie.exceptions import InvalidQueryError, ReadOnlyModelError
from coodie.fields import (
    ClusteringKey,
    Counter,
    Discriminator,
    Frozen,
    PrimaryKey,
    TimeUUID,
)
from coodie.statements import (
    Statement,
    all_columns,
    consistency_level,
    delete_document_statement,
    get_statement,
    insert_statement,
    update_document_statement,
)

UTC = dt.timezone.utc
KEY = uuid.UUID("12345678-1234-5678-1234-567812345678")


class Status(str, enum.Enum):
    ACTIVE = "active"
    BANNED = "banned"


class User(DocumentBase):
    id: Annotated[uuid.UUID, PrimaryKey()]
    name: str = ""
    status: Status = Status.ACTIVE
    joined: dt.datetime | None = None
    address: ipaddress.IPv4Address | None = None
    age: int = 0
    tags: list[str] = Field(default_factory=list)
    roles: set[str] = Field(default_factory=set)
    prefs: dict[str, str] = Field(default_factory=dict)
    shape: Annotated[list[int], Frozen()] = Field(default_factory=list)

    class Settings:
        name = "users"


class Message(DocumentBase):
    room: Annotated[str, PrimaryKey()]
    at: Annotated[uuid.UUID, ClusteringKey(order="DESC"), TimeUUID()]
    text: str = ""

    class Settings:
        name = "messages"
        keyspace = "chat"


class PageViews(DocumentBase):
    __coodie_counters__: ClassVar[bool] = True
    page: Annotated[str, PrimaryKey()]
    views: Annotated[int, Counter()] = 0

    class Settings:
        name = "page_views"


class UserView(DocumentBase):
    __coodie_read_only__: ClassVar[bool] = True
    name: Annotated[str, PrimaryKey()]
    id: Annotated[uuid.UUID, ClusteringKey()]

    class Settings:
        name = "users_by_name"


def _user(**values: Any) -> User:
    return User(id=KEY, **values)


# -- insert ----------------------------------------------------------------------------


def test_insert_binds_every_column_in_its_stored_form() -> None:
    user = _user(
        name="Ann",
        status="banned",
        joined=dt.datetime(2024, 1, 1, 12, 0, 0, 1),
        address="10.0.0.1",
    )

    statement = insert_statement(user, keyspace="shop")

    assert statement.cql == (
        'INSERT INTO "shop"."users" ("id", "name", "status", "joined", "address", '
        '"age", "tags", "roles", "prefs", "shape") '
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    assert list(statement.values) == [
        KEY,
        "Ann",
        "banned",
        dt.datetime(2024, 1, 1, 12, tzinfo=UTC),
        "10.0.0.1",
        0,
        [],
        set(),
        {},
        [],
    ]
    assert statement.idempotent
    assert not statement.conditional


def test_insert_if_not_exists_is_conditional_and_not_idempotent() -> None:
    statement = insert_statement(_user(), keyspace=None, if_not_exists=True)

    assert statement.cql.endswith(" IF NOT EXISTS")
    assert statement.conditional
    assert not statement.idempotent


def test_insert_binds_ttl_then_timestamp_last() -> None:
    statement = insert_statement(
        _user(), keyspace=None, ttl=60, timestamp=1_700_000_000_000_000
    )

    assert statement.cql.endswith(" USING TTL ? AND TIMESTAMP ?")
    assert list(statement.values[-2:]) == [60, 1_700_000_000_000_000]
    assert statement.cql.count("?") == len(statement.values)


@pytest.mark.parametrize("ttl", [-1, True, 1.5, "60"])
def test_a_ttl_that_is_not_whole_seconds_is_refused(ttl: Any) -> None:
    with pytest.raises(InvalidQueryError, match="ttl must be a whole number"):
        insert_statement(_user(), keyspace=None, ttl=ttl)


def test_a_timestamp_that_is_not_an_int_is_refused() -> None:
    with pytest.raises(InvalidQueryError, match="microseconds since the epoch"):
        insert_statement(_user(), keyspace=None, timestamp=1.5)  # type: ignore[arg-type]


def test_values_never_reach_the_statement_text() -> None:
    hostile = "x'); DROP TABLE users; --"

    plain = insert_statement(_user(name="Ann"), keyspace=None)
    attacked = insert_statement(_user(name=hostile), keyspace=None)

    assert attacked.cql == plain.cql
    assert hostile not in attacked.cql
    assert hostile in attacked.values


def test_insert_refuses_an_int_too_big_for_its_column() -> None:
    with pytest.raises(InvalidQueryError) as caught:
        insert_statement(_user(age=2**31), keyspace=None)

    message = str(caught.value)
    assert "User.age" in message
    assert "BigInt()" in message
    assert "VarInt()" in message


def test_insert_refuses_a_random_uuid_in_a_timeuuid_key() -> None:
    message = Message(room="lobby", at=uuid.uuid4())

    with pytest.raises(InvalidQueryError, match=r"Message\.at.*uuid1"):
        insert_statement(message, keyspace=None)


def test_insert_refuses_an_empty_partition_key() -> None:
    message = Message(room="", at=uuid.uuid1())

    with pytest.raises(InvalidQueryError, match=r"Message\.room .* cannot be empty"):
        insert_statement(message, keyspace=None)


def test_insert_refuses_a_missing_key() -> None:
    (message,) = Message.from_rows(("room", "at"), [("lobby", None)])

    with pytest.raises(InvalidQueryError, match=r"Message\.at .* cannot be None"):
        insert_statement(message, keyspace=None)


def test_counters_cannot_be_inserted() -> None:
    with pytest.raises(InvalidQueryError, match="increment"):
        insert_statement(PageViews(page="home"), keyspace=None)


def test_a_read_only_model_cannot_be_written() -> None:
    view = UserView(name="Ann", id=KEY)

    with pytest.raises(ReadOnlyModelError, match="base table"):
        insert_statement(view, keyspace=None)
    with pytest.raises(ReadOnlyModelError):
        update_document_statement(view, {"name": "Bob"}, keyspace=None)
    with pytest.raises(ReadOnlyModelError):
        delete_document_statement(view, keyspace=None)


# -- get -------------------------------------------------------------------------------


def test_get_selects_one_row_by_its_whole_key() -> None:
    at = uuid.uuid1()

    statement = get_statement(Message, None, {"room": "lobby", "at": str(at)})

    assert statement.cql == (
        'SELECT "room", "at", "text" FROM "chat"."messages" '
        'WHERE "room" = ? AND "at" = ?'
    )
    assert list(statement.values) == ["lobby", at]
    assert statement.idempotent


def test_get_needs_the_whole_primary_key() -> None:
    with pytest.raises(InvalidQueryError) as caught:
        get_statement(Message, None, {"room": "lobby", "text": "hi"})

    message = str(caught.value)
    assert "Message.get() takes the whole primary key (room, at)" in message
    assert "missing at" in message
    assert "text not part of the key" in message
    assert "find()" in message


def test_get_refuses_a_key_of_the_wrong_type() -> None:
    with pytest.raises(InvalidQueryError, match=r"User\.id is compared with 'abc'"):
        get_statement(User, None, {"id": "abc"})


@pytest.mark.parametrize("room", [None, ""])
def test_get_refuses_a_none_or_empty_partition_key(room: Any) -> None:
    class Room(DocumentBase):
        name: Annotated[str | None, PrimaryKey()]

    with pytest.raises(InvalidQueryError, match=r"Room\.name is part of the"):
        get_statement(Room, None, {"name": room})


# -- update ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "assignment", "bound", "idempotent"),
    [
        ({"name": "Bob"}, '"name" = ?', "Bob", True),
        ({"tags__append": ["a"]}, '"tags" = "tags" + ?', ["a"], False),
        ({"tags__prepend": ("a",)}, '"tags" = ? + "tags"', ["a"], False),
        ({"tags__remove": ["a"]}, '"tags" = "tags" - ?', ["a"], True),
        ({"roles__add": ["admin"]}, '"roles" = "roles" + ?', {"admin"}, True),
        ({"roles__remove": {"admin"}}, '"roles" = "roles" - ?', {"admin"}, True),
        ({"prefs__put": {"k": "v"}}, '"prefs" = "prefs" + ?', {"k": "v"}, True),
        ({"prefs__remove": "k"}, '"prefs" = "prefs" - ?', {"k"}, True),
        ({"prefs__remove": ["k", "j"]}, '"prefs" = "prefs" - ?', {"k", "j"}, True),
    ],
)
def test_each_update_operator(
    changes: dict[str, Any], assignment: str, bound: Any, idempotent: bool
) -> None:
    statement = update_document_statement(_user(), changes, keyspace="shop")

    assert statement.cql == f'UPDATE "shop"."users" SET {assignment} WHERE "id" = ?'
    assert list(statement.values) == [bound, KEY]
    assert statement.idempotent is idempotent
    assert not statement.conditional


def test_update_converts_values_like_an_insert() -> None:
    statement = update_document_statement(
        _user(),
        {"status": Status.BANNED, "joined": dt.datetime(2024, 1, 1, 0, 0, 0, 999)},
        keyspace=None,
    )

    assert list(statement.values) == [
        "banned",
        dt.datetime(2024, 1, 1, tzinfo=UTC),
        KEY,
    ]


def test_update_binds_using_then_changes_then_key_then_conditions() -> None:
    statement = update_document_statement(
        _user(),
        {"name": "Bob"},
        keyspace=None,
        ttl=30,
        timestamp=5,
        if_conditions={"name": "Ann", "age__gte": 18},
    )

    assert statement.cql == (
        'UPDATE "users" USING TTL ? AND TIMESTAMP ? SET "name" = ? '
        'WHERE "id" = ? IF "name" = ? AND "age" >= ?'
    )
    assert list(statement.values) == [30, 5, "Bob", KEY, "Ann", 18]
    assert statement.conditional
    assert not statement.idempotent


def test_update_if_exists_is_conditional() -> None:
    statement = update_document_statement(
        _user(), {"name": "Bob"}, keyspace=None, if_exists=True
    )

    assert statement.cql.endswith(" IF EXISTS")
    assert statement.conditional
    assert not statement.idempotent


def test_an_if_in_condition_binds_a_list() -> None:
    statement = update_document_statement(
        _user(), {"name": "Bob"}, keyspace=None, if_conditions={"age__in": [1, 2]}
    )

    assert statement.cql.endswith(' IF "age" IN ?')
    assert statement.values[-1] == [1, 2]


def test_an_unknown_if_operator_is_refused() -> None:
    with pytest.raises(InvalidQueryError, match="use eq, ne, lt, lte, gt, gte or in"):
        update_document_statement(
            _user(), {"name": "Bob"}, keyspace=None, if_conditions={"tags__contains": 1}
        )


def test_a_key_field_cannot_be_updated() -> None:
    with pytest.raises(InvalidQueryError) as caught:
        update_document_statement(_user(), {"id": uuid.uuid4()}, keyspace=None)

    assert "User.id is part of the primary key" in str(caught.value)
    assert "delete the row and save a new one" in str(caught.value)


def test_an_update_of_an_unknown_field_lists_the_fields() -> None:
    with pytest.raises(InvalidQueryError, match="User has no field 'nme'; its fields"):
        update_document_statement(_user(), {"nme": "Bob"}, keyspace=None)


def test_an_unknown_update_operator_is_refused() -> None:
    with pytest.raises(InvalidQueryError, match=r"'pop' on User\.tags; use one of"):
        update_document_statement(_user(), {"tags__pop": 1}, keyspace=None)


def test_an_update_needs_a_change() -> None:
    with pytest.raises(InvalidQueryError, match="needs a change"):
        update_document_statement(_user(), {}, keyspace=None)


def test_a_collection_operator_needs_a_collection_field() -> None:
    with pytest.raises(InvalidQueryError, match=r"User\.name is not a collection"):
        update_document_statement(_user(), {"name__append": ["x"]}, keyspace=None)


def test_a_single_element_must_be_wrapped() -> None:
    with pytest.raises(
        InvalidQueryError, match=r"wrap a single element, e\.g\. \['a'\]"
    ):
        update_document_statement(_user(), {"tags__append": "a"}, keyspace=None)


def test_a_collection_operand_of_the_wrong_type_names_the_field() -> None:
    with pytest.raises(InvalidQueryError, match=r"User\.tags is compared with"):
        update_document_statement(_user(), {"tags__append": [object()]}, keyspace=None)


@pytest.mark.parametrize(
    "changes",
    [
        {"roles__add": [["a"]]},
        {"prefs__remove": [[1]]},
        {"prefs__remove": {"k": "v"}},
    ],
)
def test_unhashable_set_elements_are_an_invalid_query(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidQueryError, match=r"User\.(roles|prefs)"):
        update_document_statement(_user(), changes, keyspace=None)


def test_a_frozen_collection_cannot_be_appended_to() -> None:
    with pytest.raises(InvalidQueryError, match=r"User\.shape"):
        update_document_statement(_user(), {"shape__append": [1]}, keyspace=None)


def test_an_if_condition_on_a_key_column_is_refused() -> None:
    with pytest.raises(InvalidQueryError, match=r"User\.id"):
        update_document_statement(
            _user(), {"name": "Bob"}, keyspace=None, if_conditions={"id": KEY}
        )


# -- counters --------------------------------------------------------------------------


def test_a_counter_changes_by_increments_only() -> None:
    views = PageViews(page="home")

    statement = update_document_statement(views, {"views__incr": 3}, keyspace=None)

    assert statement.cql == (
        'UPDATE "page_views" SET "views" = "views" + ? WHERE "page" = ?'
    )
    assert list(statement.values) == [3, "home"]
    assert statement.counter
    assert not statement.idempotent


def test_a_counter_decrement_subtracts() -> None:
    statement = update_document_statement(
        PageViews(page="home"), {"views__decr": 2}, keyspace=None
    )

    assert '"views" = "views" - ?' in statement.cql
    assert not statement.idempotent


def test_a_counter_cannot_be_set() -> None:
    with pytest.raises(InvalidQueryError, match="never by setting it"):
        update_document_statement(PageViews(page="home"), {"views": 3}, keyspace=None)


def test_only_counters_are_incremented() -> None:
    with pytest.raises(InvalidQueryError, match=r"User\.age is not a counter"):
        update_document_statement(_user(), {"age__incr": 1}, keyspace=None)


@pytest.mark.parametrize("delta", ["1", 1.0, True])
def test_a_counter_delta_is_an_int(delta: Any) -> None:
    with pytest.raises(InvalidQueryError, match=r"views__incr takes an int"):
        update_document_statement(
            PageViews(page="home"), {"views__incr": delta}, keyspace=None
        )


# -- delete ----------------------------------------------------------------------------


def test_delete_by_the_primary_key() -> None:
    at = uuid.uuid1()

    statement = delete_document_statement(
        Message(room="lobby", at=at), keyspace=None, timestamp=9
    )

    assert statement.cql == (
        'DELETE FROM "chat"."messages" USING TIMESTAMP ? WHERE "room" = ? AND "at" = ?'
    )
    assert list(statement.values) == [9, "lobby", at]
    assert statement.idempotent


def test_a_conditional_delete_is_not_idempotent() -> None:
    statement = delete_document_statement(
        _user(), keyspace=None, if_conditions={"status": Status.BANNED}
    )

    assert statement.cql == 'DELETE FROM "users" WHERE "id" = ? IF "status" = ?'
    assert list(statement.values) == [KEY, "banned"]
    assert statement.conditional
    assert not statement.idempotent
    assert delete_document_statement(_user(), keyspace=None, if_exists=True).conditional


# -- request options -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "code"),
    [("QUORUM", 4), ("local_quorum", 6), ("LOCAL_ONE", 10), (1, 1), (None, None)],
)
def test_consistency_levels_by_name_or_code(level: Any, code: int | None) -> None:
    assert consistency_level(level) == code


@pytest.mark.parametrize("level", ["MOST", 42, 2.0])
def test_an_unknown_consistency_level_lists_the_known_ones(level: Any) -> None:
    with pytest.raises(InvalidQueryError, match="use one of ANY, ONE"):
        consistency_level(level)


def test_a_statement_repr_leaves_the_values_out() -> None:
    statement = Statement("SELECT 1", ["secret-token"])

    assert "secret-token" not in repr(statement)
    assert "1 values" in repr(statement)


# -- a class hierarchy in one table ----------------------------------------------------


class Pet(DocumentBase):
    id: Annotated[int, PrimaryKey()]
    kind: Annotated[str, Discriminator()] = ""
    name: str = ""

    class Settings:
        name = "pets"
        keyspace = "zoo"


class Dog(Pet):
    bark: str = "woof"


def test_a_document_of_the_root_class_inserts_its_own_columns() -> None:
    statement = insert_statement(Pet(id=1, name="Rex"), keyspace=None)

    assert statement.cql.count("?") == len(statement.values) == 3
    assert '"bark"' not in statement.cql


def test_queries_read_the_columns_of_classes_defined_after_the_first() -> None:
    before = get_statement(Pet, None, {"id": 1}).cql
    assert '"bark"' in before

    class Puppy(Dog):
        toy: str = ""

    # The root and the class in between both read the new class's column.
    assert '"toy"' in get_statement(Pet, None, {"id": 1}).cql
    assert '"toy"' in get_statement(Dog, None, {"id": 1}).cql
    (puppy,) = Pet.from_rows(
        all_columns(Pet.table_schema()),
        [(1, "Puppy", "Bit", "yip", "yarn")],
    )
    assert puppy == Puppy(id=1, name="Bit", bark="yip", toy="yarn")
